#!/usr/bin/env bash
# Install an aarch64 gokpl wheel into a Debian arm64 root and run
# tests/wheels/wheel_checks.py there, under qemu user emulation.
#
#   tests/wheels/run_arm64.sh WHEEL [ROOT]      (ROOT default: build/arm64-root)
#   tests/wheels/run_arm64.sh --selfcheck [ROOT]
#   tests/wheels/run_arm64.sh --layer ZIP [ROOT]
#
# --selfcheck needs no wheel: it checks what a wheel run relies on
# (root_selfcheck.py: an aarch64 interpreter, a virtualenv with cffi from
# the package index, the fake endpoint built for arm64 with Go, CGO off,
# answering on 127.0.0.1, a 'spawn' child).
#
# Needs root. Builds the root first if it is not there (arm64_root.sh).
# Mounts a /proc, a private /dev/pts and a /dev/shm (multiprocessing needs
# it) into the root for the run and unmounts them afterwards, whatever
# happens. The host's /dev is not bound in: the root has the device nodes
# debootstrap made, so a stale mount left by a killed run never exposes the
# host's devices to an rm -rf of build/. Each run makes a fresh virtualenv in the
# root, pip installs the wheel there (cffi comes from the package index;
# pip's cache in the root makes reruns quick) and runs the checks with a
# SIGINT bound allowing for emulation (SIGINT_BOUND, default 0.5 s; 0.3 s
# natively; measured about 0.11 s under qemu).
#
# --layer ZIP runs an arm64 AWS Lambda layer (build_support/wheels.py
# lambda-layers) as Lambda would: unpacked into ROOT/opt/layer, then the
# layer check of build_support/wheels.py (QUICK_START: gokpl and cffi must
# load from the layer, the quick start against gokpl.testing.FakeKinesis,
# whose kinesistest program is the layer's) run by the root's python3 with
# -S and PYTHONPATH the layer's python/ directory alone: no virtualenv, no
# pip, no site-packages. cffi's backend in a layer is built for one Python
# version, so the layer must be for the root's (3.11 in bookworm).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
log() { echo "run-arm64: $*" >&2; }
die() { echo "run-arm64: error: $*" >&2; exit 1; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; } # secs START END: seconds between two date +%s.%N

[ $# -ge 1 ] || die "usage: $0 WHEEL [ROOT] | $0 --selfcheck [ROOT] | $0 --layer ZIP [ROOT]"
WHEEL=$1
LAYER=
if [ "$WHEEL" = --layer ]; then
	[ $# -ge 2 ] || die "usage: $0 --layer ZIP [ROOT]"
	LAYER=$2
	shift
fi
ROOT=${2:-$repo/build/arm64-root}
SIGINT_BOUND=${SIGINT_BOUND:-0.5}
[ "$(id -u)" = 0 ] || die "must run as root (chroot needs it)"
if [ "$WHEEL" = --selfcheck ]; then
	mkdir -p "$repo/build"
	(cd "$repo" && CGO_ENABLED=0 GOOS=linux GOARCH=arm64 ${GO:-go} build -trimpath -o build/kinesistest-arm64 ./core/kinesistest/cmd/kinesistest) ||
		die "cannot build the fake endpoint for arm64 (needs Go)"
elif [ -n "$LAYER" ]; then
	[ -f "$LAYER" ] || die "no layer at $LAYER"
	case "$(basename "$LAYER")" in
	*-lambda-layer-python*-arm64.zip) ;;
	*) die "$LAYER is not an arm64 Lambda layer" ;;
	esac
else
	[ -f "$WHEEL" ] || die "no wheel at $WHEEL"
	case "$(basename "$WHEEL")" in
	*aarch64*.whl) ;;
	*) die "$WHEEL is not an aarch64 wheel" ;;
	esac
fi

started=$(date +%s.%N)
"$here/arm64_root.sh" "$ROOT"
root_ready=$(date +%s.%N)

mounted=()
cleanup() {
	local i
	for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
		umount "${mounted[$i]}" 2>/dev/null || umount -l "${mounted[$i]}" || true
	done
	rm -rf "$ROOT/work" "$ROOT/opt/layer"
}
trap cleanup EXIT
mount_in() { # mount_in TARGET ARGS...: mount ARGS at ROOT/TARGET unless already mounted
	local target=$ROOT/$1
	shift
	mkdir -p "$target"
	# One left by a run that was killed is replaced, and unmounted at the end.
	while mountpoint -q "$target"; do umount -l "$target"; done
	mount "$@" "$target"
	mounted+=("$target")
}
mount_in proc -t proc proc
mount_in dev/pts -t devpts -o newinstance,ptmxmode=0666 devpts
mount_in dev/shm -t tmpfs -o mode=1777,size=256m shm
# pip reaches the package index with the host's resolver, proxy settings,
# index and certificate authorities (a machine whose egress re-signs TLS
# has its CA in PIP_CERT, REQUESTS_CA_BUNDLE or SSL_CERT_FILE, or in the
# system bundle).
cp -L /etc/resolv.conf "$ROOT/etc/resolv.conf"
mkdir -p "$ROOT/work"
ca=${PIP_CERT:-${REQUESTS_CA_BUNDLE:-${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}}}
chroot_env=(PATH=/usr/bin:/bin HOME=/root LANG=C.UTF-8)
if [ -f "$ca" ]; then
	cp -L "$ca" "$ROOT/work/ca.pem"
	chroot_env+=(PIP_CERT=/work/ca.pem)
fi
for var in PIP_INDEX_URL PIP_EXTRA_INDEX_URL PIP_DEFAULT_TIMEOUT http_proxy https_proxy no_proxy HTTP_PROXY HTTPS_PROXY NO_PROXY; do
	if [ -n "${!var:-}" ]; then chroot_env+=("$var=${!var}"); fi
done
if [ "$WHEEL" = --selfcheck ]; then
	cp "$here/root_selfcheck.py" "$repo/build/kinesistest-arm64" "$ROOT/work/"
	log "self-check of $ROOT (no wheel)"
	set +e
	chroot "$ROOT" /usr/bin/env -i "${chroot_env[@]}" \
		/usr/bin/python3 /work/root_selfcheck.py /work/kinesistest-arm64
	status=$?
	set -e
	log "self-check took $(awk -v a="$root_ready" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s"
	exit $status
fi
if [ -n "$LAYER" ]; then
	name=$(basename "$LAYER")
	layer_python=${name##*-lambda-layer-python}
	layer_python=${layer_python%-arm64.zip}
	root_python=$(chroot "$ROOT" /usr/bin/python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
	[ "$layer_python" = "$root_python" ] ||
		die "$name is for CPython $layer_python; the root has $root_python (LAYER_PYTHON=$root_python make lambda-layers)"
	log "unpacking $name into $ROOT/opt/layer"
	# Unpacked with the file modes kept (the engine's kinesistest program
	# must stay executable); the quick start is build_support/wheels.py's own.
	${PYTHON:-python3} - "$LAYER" "$ROOT/opt/layer" "$ROOT/work/layer_quickstart.py" "$repo/build_support" <<-'EOF'
		import importlib
		import pathlib
		import shutil
		import sys
		import zipfile

		layer_zip, dest, script, support = sys.argv[1:]
		dest = pathlib.Path(dest)
		shutil.rmtree(dest, ignore_errors=True)
		with zipfile.ZipFile(layer_zip) as archive:
		    archive.extractall(dest)
		    for info in archive.infolist():
		        mode = info.external_attr >> 16
		        if mode and not info.is_dir():
		            (dest / info.filename).chmod(mode & 0o777)
		sys.path.insert(0, support)
		pathlib.Path(script).write_text(importlib.import_module("wheels").QUICK_START)
	EOF
	unpacked=$(date +%s.%N)
	log "running the quick start from the layer alone (python3 -S, PYTHONPATH=/opt/layer/python; aarch64, under qemu)"
	set +e
	chroot "$ROOT" /usr/bin/env -i PATH=/usr/bin:/bin HOME=/tmp LANG=C.UTF-8 PYTHONPATH=/opt/layer/python /bin/bash -euc '
		cd /tmp
		python3 -S -c "import platform, sys, gokpl, cffi, _cffi_backend
print(platform.machine(), sys.version.split()[0], sys.flags.no_site)
print(gokpl.__file__)
print(cffi.__file__)
print(_cffi_backend.__file__)
import gokpl.testing
print(gokpl.testing.FakeKinesis().binary)"
		python3 -S /work/layer_quickstart.py /opt/layer/python
	'
	status=$?
	set -e
	ended=$(date +%s.%N)
	log "timings: root $(secs "$started" "$root_ready") s, unpack $(secs "$root_ready" "$unpacked") s, quick start $(secs "$unpacked" "$ended") s, total $(secs "$started" "$ended") s"
	if [ $status -eq 0 ]; then log "PASS: $name on aarch64 (CPython $root_python)"; else log "FAIL: $name on aarch64 (exit $status)"; fi
	exit $status
fi
cp "$WHEEL" "$ROOT/work/"
cp "$here/wheel_checks.py" "$ROOT/work/"
name=$(basename "$WHEEL")

log "installing $name into a fresh virtualenv in $ROOT (aarch64, under qemu)"
chroot "$ROOT" /usr/bin/env -i "${chroot_env[@]}" /bin/bash -euc "
	rm -rf /opt/gokpl-venv
	python3 -m venv /opt/gokpl-venv
	/opt/gokpl-venv/bin/python -m pip install --quiet --disable-pip-version-check /work/$name
	/opt/gokpl-venv/bin/python -m pip list --disable-pip-version-check 2>/dev/null | grep -iE '^(gokpl|cffi) '
"
installed=$(date +%s.%N)

log "running wheel_checks.py (SIGINT bound ${SIGINT_BOUND} s)"
set +e
chroot "$ROOT" /usr/bin/env -i "${chroot_env[@]}" GOKPL_CHECK_TIMEOUT=600 \
	/opt/gokpl-venv/bin/python /work/wheel_checks.py --sigint-bound "$SIGINT_BOUND"
status=$?
set -e
ended=$(date +%s.%N)
log "timings: root $(secs "$started" "$root_ready") s, venv + install $(secs "$root_ready" "$installed") s, checks $(secs "$installed" "$ended") s, total $(secs "$started" "$ended") s"
if [ $status -eq 0 ]; then log "PASS: $name on aarch64"; else log "FAIL: $name on aarch64 (exit $status)"; fi
exit $status
