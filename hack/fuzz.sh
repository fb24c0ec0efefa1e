#!/usr/bin/env bash
# Builds the libFuzzer target for the spec pipeline (tests/fuzz/fuzz_spec.c) with clang and
# ASan+UBSan, and runs it for a bounded time on a seed corpus made of specs/ and
# tests/spec-corpus/. A crash, leak or sanitizer report fails the run and leaves the input in
# the work directory.
#   FUZZ_SECONDS=60 (default) FUZZ_JOBS=1 hack/fuzz.sh
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${FUZZ_SECONDS:-60}
out=${FUZZ_DIR:-build-fuzz}
mkdir -p "$out/corpus" "$out/gen"
hack/embed-crds.sh "$out/gen/crds.c" $(ls crds/*.yaml | sort)
pkgs="yaml-0.1 jansson openssl"
# shellcheck disable=SC2046
clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=undefined -Iapi $(pkg-config --cflags $pkgs) \
	-o "$out/fuzz_spec" tests/fuzz/fuzz_spec.c api/*.c "$out/gen/crds.c" \
	$(pkg-config --libs $pkgs) -lpthread -lm
# Seeds: every valid and broken spec we have (copied: libFuzzer adds to its first corpus dir).
find specs tests/spec-corpus -name '*.yaml' -exec cp {} "$out/corpus/" \;
echo "fuzz: running for ${secs}s"
"$out/fuzz_spec" -max_total_time="$secs" -max_len=65536 -timeout=10 -rss_limit_mb=1024 \
	-print_final_stats=1 -artifact_prefix="$out/" "$out/corpus" 2>&1 | tail -n 25
