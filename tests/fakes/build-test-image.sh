#!/usr/bin/env bash
# Builds the small test image auriga-test-sleeper:1 (FROM scratch, one static binary) unless it exists.
# Tests that need a container and not the demo node use it; nothing is pulled.
set -euo pipefail
image=${1:-auriga-test-sleeper:1}
docker image inspect "$image" >/dev/null 2>&1 && exit 0
here=$(cd "$(dirname "$0")" && pwd)
ctx=$(mktemp -d "${TMPDIR:-/tmp}/auriga-sleeper.XXXXXX")
trap 'rm -rf "$ctx"' EXIT
${CC:-cc} -static -O2 -o "$ctx/t" "$here/sleeper.c"
cat >"$ctx/Dockerfile" <<'DF'
FROM scratch
COPY t /t
LABEL auriga.test.image=sleeper
ENTRYPOINT ["/t"]
DF
docker build -q -t "$image" "$ctx" >/dev/null
