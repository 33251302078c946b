#!/bin/sh
# Runs status-go v1.1.0's own segmentation code on tests/vectors/statusgo/segmentation.json:
# copies status-go from the Go module cache (`go mod download` fetches it), adds
# pystatus_vectors_test.go to its protocol/common and runs it there. Slow (status-go's test
# build, and a database migration per lost-segment case). From the repository root:
#   sh tests/interop/segmentation/crosscheck/crosscheck.sh
set -eu
here=$(cd "$(dirname "$0")" && pwd)
vectors=$(cd "$here/../../../vectors/statusgo" && pwd)/segmentation.json
module=github.com/status-im/status-go@v1.1.0
src=$(go mod download -json "$module" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$src" "$work/status-go"
chmod -R u+w "$work/status-go"
cp "$here/pystatus_vectors_test.go" "$work/status-go/protocol/common/"
cd "$work/status-go"
# -mod=mod: the module zip's vendor/ is partial. -checklinkname=0: status-go v1.1.0's
# fjl/memsize links to runtime internals that newer Go refuses.
status=0
PYSTATUS_SEGMENTATION_VECTORS="$vectors" go test -mod=mod -tags pystatus_crosscheck \
  -ldflags=-checklinkname=0 -run 'TestPystatus' -v ./protocol/common >"$work/log" 2>&1 || status=$?
grep -E '^(=== RUN|--- |PASS|FAIL|ok)|pystatus_vectors_test.go|\.go:[0-9]+:' "$work/log" || cat "$work/log"
exit "$status"
