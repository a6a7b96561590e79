#!/usr/bin/env bash
# run.sh BUILD_DIR: compile each tests/c/test_*.c against capi/gokpl.h and
# BUILD_DIR/libgokpl.so, start the fake Kinesis endpoint, run every program,
# and stop the endpoint whatever happens. Exits non-zero if any program fails.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-build}" && pwd)
cc=${CC:-cc}
cflags=${CFLAGS:--O1 -g -Wall -Wextra -Werror -std=c11}

fifo=$(mktemp -u)
mkfifo "$fifo"
# The endpoint runs until its stdin closes; keep a descriptor open to it.
exec 3> >("$build/kinesistest" --addr 127.0.0.1:0 --stream c-stream:2 >"$fifo")
server=$!
trap 'exec 3>&-; wait $server 2>/dev/null || true; rm -f "$fifo"' EXIT
read -r line <"$fifo"
endpoint=$(sed -E 's/.*"endpoint_url":"([^"]+)".*/\1/' <<<"$line")
export GOKPL_TEST_ENDPOINT=$endpoint

status=0
for src in "$here"/test_*.c; do
    name=$(basename "$src" .c)
    "$cc" $cflags -I"$here/../../capi" -o "$build/$name" "$src" -L"$build" -lgokpl -Wl,-rpath,"$build"
    if ! "$build/$name"; then
        status=1
    fi
done
exit $status
