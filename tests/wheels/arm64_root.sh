#!/usr/bin/env bash
# Create (or reuse) a Debian bookworm arm64 root for running an aarch64
# gokpl wheel under qemu user emulation on an x86-64 Linux machine.
#
#   tests/wheels/arm64_root.sh [ROOT]        (default: build/arm64-root)
#
# Needs root. Installs debootstrap and qemu-user-static with apt-get when
# they are missing, makes sure binfmt_misc has a qemu-aarch64 entry, then
# runs debootstrap --foreign for arm64 and its second stage inside the root
# (through qemu), with python3, python3-venv and python3-pip. A finished
# root is marked with ROOT/.gokpl-arm64-root and reused as is; delete the
# directory to build it again.
#
# Environment: DEBIAN_MIRROR (default: the first Debian URI in
# /etc/apt/sources.list*, else http://deb.debian.org/debian), DEBIAN_SUITE
# (default bookworm).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
ROOT=${1:-$repo/build/arm64-root}
SUITE=${DEBIAN_SUITE:-bookworm}
PACKAGES=python3,python3-venv,python3-pip,ca-certificates
MARK=$ROOT/.gokpl-arm64-root

log() { echo "arm64-root: $*" >&2; }
die() { echo "arm64-root: error: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (debootstrap and chroot need it)"
[ "$(uname -m)" = x86_64 ] || [ "$(uname -m)" = aarch64 ] || die "unsupported host $(uname -m)"

# ensure_tools: debootstrap and qemu-aarch64-static, from apt if missing.
ensure_tools() {
	local missing=()
	command -v debootstrap >/dev/null || missing+=(debootstrap)
	if [ "$(uname -m)" != aarch64 ]; then
		command -v qemu-aarch64-static >/dev/null || missing+=(qemu-user-static)
		command -v update-binfmts >/dev/null || missing+=(binfmt-support)
	fi
	if [ ${#missing[@]} -gt 0 ]; then
		log "installing ${missing[*]} with apt-get"
		apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
	fi
}

# ensure_binfmt: the kernel runs aarch64 ELF files through qemu. The entry
# qemu-user-static registers has the F flag (the interpreter is opened when
# registered), so the root does not need a copy of qemu.
ensure_binfmt() {
	[ "$(uname -m)" = aarch64 ] && return 0
	local dir=/proc/sys/fs/binfmt_misc
	if [ ! -e $dir/register ]; then
		log "mounting binfmt_misc"
		mount -t binfmt_misc binfmt_misc $dir || die "cannot mount binfmt_misc (a container without the privilege?)"
	fi
	if [ ! -e $dir/qemu-aarch64 ]; then
		log "registering qemu-aarch64 with binfmt_misc"
		update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 || true
	fi
	if [ ! -e $dir/qemu-aarch64 ]; then
		# Register by hand (the magic and mask of qemu's own qemu-binfmt-conf.sh).
		local qemu
		qemu=$(command -v qemu-aarch64-static)
		printf '%s' ":qemu-aarch64:M::\\x7fELF\\x02\\x01\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x02\\x00\\xb7\\x00:\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\x00\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xfe\\xff\\xff\\xff:$qemu:F" >$dir/register
	fi
	grep -q '^enabled' $dir/qemu-aarch64 || echo 1 >$dir/qemu-aarch64
	grep -q '^enabled' $dir/status || echo 1 >$dir/status
	grep -q '^flags:.*F' $dir/qemu-aarch64 || die "the qemu-aarch64 binfmt entry lacks the F flag; the chroot would not find qemu"
}

mirror() {
	if [ -n "${DEBIAN_MIRROR:-}" ]; then echo "$DEBIAN_MIRROR"; return; fi
	local uri
	uri=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
		grep -oE 'https?://[^ ]*/debian/?( |$)' | grep -v security | head -n1 | tr -d ' ' || true)
	echo "${uri:-http://deb.debian.org/debian}"
}

ensure_tools
ensure_binfmt

if [ -e "$MARK" ]; then
	log "reusing $ROOT ($(cat "$MARK"))"
	exit 0
fi

start=$(date +%s)
MIRROR=$(mirror)
log "creating $ROOT: debootstrap --arch=arm64 --foreign $SUITE from $MIRROR"
# A partial root (no mark): unmount what a killed run may have left in it
# before removing it.
if [ -d "$ROOT" ]; then
	findmnt -rno TARGET | grep -F "$(realpath "$ROOT")/" | sort -r | while read -r m; do umount -l "$m" || true; done
fi
rm -rf --one-file-system "$ROOT"
mkdir -p "$ROOT"
debootstrap --arch=arm64 --foreign --variant=minbase --include="$PACKAGES" "$SUITE" "$ROOT" "$MIRROR" >"$ROOT.log" 2>&1 ||
	{ tail -n 30 "$ROOT.log" >&2; die "debootstrap (first stage) failed; log in $ROOT.log"; }
first=$(date +%s)
log "first stage done in $((first - start)) s; second stage under qemu"
# The second stage runs arm64 binaries inside the root; it mounts /proc
# itself when it needs it and unmounts on exit, but unmount here too.
cleanup() {
	for m in proc sys dev/pts dev; do
		mountpoint -q "$ROOT/$m" 2>/dev/null && umount -l "$ROOT/$m" || true
	done
}
trap cleanup EXIT
chroot "$ROOT" /debootstrap/debootstrap --second-stage >>"$ROOT.log" 2>&1 ||
	{ tail -n 30 "$ROOT.log" >&2; die "debootstrap (second stage) failed; log in $ROOT.log"; }
cleanup
echo "deb $MIRROR $SUITE main" >"$ROOT/etc/apt/sources.list"
machine=$(chroot "$ROOT" /usr/bin/python3 -c 'import platform; print(platform.machine(), platform.python_version())')
end=$(date +%s)
echo "$SUITE arm64, python $machine, created $(date -u +%FT%TZ) in $((end - start)) s" >"$MARK"
log "done in $((end - start)) s (first stage $((first - start)) s, second stage $((end - first)) s): $machine"
