# Shared by the end-to-end tests that open auriga's status page in headless Chromium (sourced after
# tests/lib.sh): page_start starts tests/e2e/page-driver.js; drv sends it a command; page_ok checks
# that it answers ok; cell names a cell of the deployments table.

# page_start: the driver, reading commands from one FIFO and answering on another (opened in the
# order it opens them), stopped when the test ends.
page_start() {
	mkfifo "$TEST_TMP/to-driver" "$TEST_TMP/from-driver"
	timeout --kill-after=5 600 node "$TOP/tests/e2e/page-driver.js" "$TEST_TMP/chromium" <"$TEST_TMP/to-driver" \
		>"$TEST_TMP/from-driver" 2>"$TEST_TMP/driver.err" &
	drv_pid=$!
	exec 7>"$TEST_TMP/to-driver" 8<"$TEST_TMP/from-driver"
	on_exit "exec 7>&- 8<&-; kill $drv_pid"
}
# drv COMMAND...: the driver's answer ("ok JSON" or "err ..."), within 150 s.
drv() {
	local line=
	printf '%s\n' "$*" >&7 || { echo "err the driver is gone"; return; }
	IFS= read -r -t 150 line <&8 || line="err no answer from the driver"
	echo "$line"
}
# page_ok DESC COMMAND...: a check that the driver answers ok; the answer is in $page.
page_ok() {
	local desc=$1
	shift
	page=$(drv "$@")
	if [[ $page == ok* ]]; then ok "$desc"; else fail "$desc"; diag "$page"; tail -5 "$TEST_TMP/driver.err" | while read -r l; do diag "$l"; done; fi
}
cell() { echo "document.querySelector('#deployments tr[data-deployment=\"$1\"] td.$2')"; }
