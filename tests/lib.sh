# Shared shell test helpers: TAP output, checks, and clean-up of everything a test made.
# Source it from a test script; it sets `set -u`, gives ok/fail/skip/check/expect_eq, and on exit
# removes every container, network and volume carrying this run's label, then prints the plan.
# A script ends with `done_testing`: one that exits with status 0 before it (an early `exit 0`, a
# branch that stops checking) gets a failed check saying so, so a shortened run never passes.

set -u
TEST_NAME=$(basename "$0" .sh)
TEST_RUN_ID=${TEST_RUN_ID:-$TEST_NAME-$$}
TEST_LABEL="auriga.test.run=$TEST_RUN_ID"
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
AURIGA_BIN=${AURIGA_BIN:-$TOP/build/auriga}
TEST_TMP=$(mktemp -d "${TMPDIR:-/tmp}/auriga-$TEST_NAME.XXXXXX")
_tap_n=0
_tap_failed=0
_cleanups=()

ok() { _tap_n=$((_tap_n + 1)); echo "ok $_tap_n - $*"; }
fail() { _tap_n=$((_tap_n + 1)); _tap_failed=$((_tap_failed + 1)); echo "not ok $_tap_n - $*"; }
diag() { echo "# $*"; }
# skip DESC REASON: a check not run here, with the reason (the harness fails a skip without one).
skip() { _tap_n=$((_tap_n + 1)); echo "ok $_tap_n - $1 # SKIP ${2:-}"; }
_tap_done=0
done_testing() { _tap_done=1; }

# check DESC CMD...: passes when CMD exits 0.
check() {
	local desc=$1
	shift
	if "$@"; then ok "$desc"; else fail "$desc"; fi
}

# expect_eq DESC EXPECTED ACTUAL
expect_eq() {
	if [ "$2" = "$3" ]; then
		ok "$1"
	else
		fail "$1"
		diag "expected: $2"
		diag "actual:   $3"
	fi
}

# expect_match DESC REGEX ACTUAL
expect_match() {
	if [[ $3 =~ $2 ]]; then
		ok "$1"
	else
		fail "$1"
		diag "expected to match: $2"
		diag "actual: $3"
	fi
}

# expect_no_match DESC REGEX ACTUAL
expect_no_match() {
	! [[ $3 =~ $2 ]] && { ok "$1"; return; }
	fail "$1"
	diag "must not match: $2"
	diag "actual: $3"
}

# on_exit CMD: runs CMD (a string for eval) when the test ends, last registered first.
on_exit() { _cleanups+=("$1"); }

# wait_for SECONDS CMD...: retries CMD every 0.2 s until it succeeds or time runs out.
wait_for() {
	local deadline=$(( $(date +%s) + $1 ))
	shift
	while ! "$@" 2>/dev/null; do
		[ "$(date +%s)" -ge "$deadline" ] && return 1
		sleep 0.2
	done
}

docker_cleanup_label() {
	local ids
	ids=$(docker ps -aq --filter "label=$1" 2>/dev/null)
	[ -n "$ids" ] && docker rm -fv $ids >/dev/null 2>&1
	ids=$(docker network ls -q --filter "label=$1" 2>/dev/null)
	[ -n "$ids" ] && docker network rm $ids >/dev/null 2>&1
	ids=$(docker volume ls -q --filter "label=$1" 2>/dev/null)
	[ -n "$ids" ] && docker volume rm -f $ids >/dev/null 2>&1
	return 0
}

# A free TCP port on 127.0.0.1, handed to no other test running beside this one
# (tests/helpers/free-ports.py).
free_port() { "$TOP/tests/helpers/free-ports.py" 1; }

# free_ports N: the first of N consecutive TCP ports free on 127.0.0.1 (for hostPort ranges that
# auriga counts up from), the same way; fails after 200 tries.
free_ports() { "$TOP/tests/helpers/free-ports.py" "$1"; }

_tap_finish() {
	local i
	if [ "$_tap_done" -eq 0 ] && [ "${1:-0}" -eq 0 ]; then
		fail "$TEST_NAME ended before done_testing (an early exit)"
	fi
	for ((i = ${#_cleanups[@]} - 1; i >= 0; i--)); do
		eval "${_cleanups[$i]}" >/dev/null 2>&1 || true
	done
	if command -v docker >/dev/null 2>&1; then
		docker_cleanup_label "$TEST_LABEL"
	fi
	# AURIGA_TEST_KEEP=1: a failed test's folder (its controllers' logs, its repositories) is kept.
	if [ "$_tap_failed" -ne 0 ] && [ -n "${AURIGA_TEST_KEEP:-}" ]; then
		diag "kept: $TEST_TMP"
	else
		rm -rf "$TEST_TMP"
	fi
	echo "1..$_tap_n"
	[ "$_tap_failed" -eq 0 ]
}
# A script that dies early keeps its non-zero status, so the runner counts it as a failure.
trap '_rc=$?; _tap_finish "$_rc"; _r=$?; [ "$_rc" -ne 0 ] && exit "$_rc"; exit "$_r"' EXIT
trap 'exit 130' INT TERM
