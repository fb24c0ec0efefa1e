#!/usr/bin/env bash
# Runs the long tests (repeated kill -9 loops, soak runs) kept out of `make test`: tests/soak/*.sh.
set -uo pipefail
cd "$(dirname "$0")/.."
B=${AURIGA_BUILD:-build}
exec hack/run-tests.sh soak "$B" $(ls tests/soak/*.sh 2>/dev/null)
