#!/usr/bin/env bash
# Builds the libFuzzer targets in tests/fuzz/ (fuzz_<target>.c) with clang and ASan+UBSan, and runs
# each in turn for a bounded time on its seed corpus, tests/fuzz/corpus/<target>/ (the spec target
# also takes every spec in specs/ and tests/spec-corpus/). A crash, leak, timeout or sanitizer
# report fails the run and leaves the input in the work directory; the last lines say, per target,
# the runs made, the coverage reached and whether it crashed.
#   FUZZ_SECONDS=60 (default, per target) hack/fuzz.sh [TARGET...]   (default: every target)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${FUZZ_SECONDS:-60}
out=${FUZZ_DIR:-build-fuzz}
jobs=${FUZZ_BUILD_JOBS:-2}
pkgs="libgit2 yaml-0.1 jansson libcurl openssl libmicrohttpd"
san="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
# shellcheck disable=SC2086,SC2046
cflags="-std=c11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer $san -Iapi -Icontroller $(pkg-config --cflags $pkgs)"

if [ $# -gt 0 ]; then
	targets=("$@")
else
	targets=()
	for f in tests/fuzz/fuzz_*.c; do
		t=${f#tests/fuzz/fuzz_}
		targets+=("${t%.c}")
	done
fi
for t in "${targets[@]}"; do
	[ -f "tests/fuzz/fuzz_$t.c" ] || { echo "fuzz: no target '$t' (tests/fuzz/fuzz_$t.c)" >&2; exit 2; }
done

# The product once, as a static library built for fuzzing (only objects older than their source
# are rebuilt); every target links against it and the linker takes only what the target needs.
mkdir -p "$out/gen" "$out/obj"
hack/embed-crds.sh "$out/gen/crds.c" $(ls crds/*.yaml | sort)
srcs=$(ls api/*.c controller/*/*.c | grep -v '^controller/cmd/main\.c$')
echo "fuzz: building the library"
# shellcheck disable=SC2086
printf '%s\n' $srcs "$out/gen/crds.c" | xargs -P "$jobs" -I{} sh -c '
	o="$0/obj/$(echo "{}" | tr / _).o"
	if [ ! -e "$o" ] || [ "{}" -nt "$o" ] || [ -n "$(find api controller -name "*.h" -newer "$o" | head -1)" ]; then
		clang $1 -fsanitize=fuzzer-no-link -c -o "$o" "{}"
	fi' "$out" "$cflags"
rm -f "$out/libauriga-fuzz.a"
ar rcs "$out/libauriga-fuzz.a" "$out"/obj/*.o

status=0
summary=()
for t in "${targets[@]}"; do
	# shellcheck disable=SC2086,SC2046
	clang $cflags -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Werror \
		-fsanitize=fuzzer -o "$out/fuzz_$t" "tests/fuzz/fuzz_$t.c" "$out/libauriga-fuzz.a" \
		$(pkg-config --libs $pkgs) -lpthread -lm
	# Seeds are copied: libFuzzer adds what it finds to its first corpus folder.
	work="$out/corpus/$t"
	mkdir -p "$work"
	[ -d "tests/fuzz/corpus/$t" ] && cp -r "tests/fuzz/corpus/$t/." "$work/"
	if [ "$t" = spec ]; then
		find specs tests/spec-corpus -name '*.yaml' -exec cp {} "$work/" \;
	fi
	log="$out/fuzz_$t.log"
	echo "fuzz: $t for ${secs}s"
	rc=0
	"$out/fuzz_$t" -max_total_time="$secs" -max_len=65536 -timeout=10 -rss_limit_mb=1024 \
		-print_final_stats=1 -artifact_prefix="$out/$t-" "$work" >"$log" 2>&1 || rc=$?
	runs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' || echo 0)
	cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -1 || true)
	if [ "$rc" -ne 0 ]; then
		status=1
		tail -n 40 "$log"
		summary+=("$(printf '%-14s %10s runs  %-22s CRASH (status %d, see %s)' "$t" "$runs" "$cov" "$rc" "$log")")
	else
		summary+=("$(printf '%-14s %10s runs  %-22s no crash' "$t" "$runs" "$cov")")
	fi
done
echo "fuzz: ${secs}s per target"
printf '%s\n' "${summary[@]}"
exit "$status"
