# Shared by the integration and end-to-end tests that drive the auriga binary (sourced after
# tests/lib.sh): the demo images they need, one-shot commands under the test's instance, a specs
# repository to commit to, a daemon (`auriga run`) started and stopped, and readers of its /metrics.

# need_images TAG...: auriga-demo-node:TAG is present for each TAG, or the test fails at once.
need_images() {
	local tag
	for tag in "$@"; do
		if ! docker image inspect "auriga-demo-node:$tag" >/dev/null 2>&1; then
			diag "image auriga-demo-node:$tag is missing (hack/build-images.sh builds it)"
			fail "test images present"
			exit 1
		fi
	done
}

# engine_instance NAME: this test's instance (INST, it-NAME-PID), its state folder (STATE) and its
# specs folder (SPECS), both made.
engine_instance() {
	INST=it-$1-$$
	STATE=$TEST_TMP/state
	SPECS=$TEST_TMP/specs
	mkdir -p "$SPECS" "$STATE"
}

# auriga_cmd CMD ARGS...: runs `auriga CMD` under the test's $INST and $STATE, labelled as this run's.
auriga_cmd() {
	local cmd=$1
	shift
	"$AURIGA_BIN" "$cmd" --instance "$INST" --state-dir "$STATE" --extra-labels "$TEST_LABEL" "$@"
}

# auriga_bg OUT ERR CMD ARGS...: auriga_cmd in the background, its output in OUT and ERR. AURIGA_PID is
# auriga's own pid (not a subshell's), so that kill -9 reaches the controller itself.
auriga_bg() {
	local out=$1 err=$2 cmd=$3
	shift 3
	"$AURIGA_BIN" "$cmd" --instance "$INST" --state-dir "$STATE" --label "$TEST_LABEL" "$@" >"$out" 2>"$err" &
	AURIGA_PID=$!
}

# events_start: from now on, this run's container events as they happen, in $TEST_TMP/events, one a
# line: NANOS|ACTION|NAME|DEPLOYMENT|HOOK|REVISION (the auriga.io/ labels; empty when absent).
# `docker events --since` replays only the daemon's last 256 events, which exec probes and the other
# runs on a busy host overrun within a minute: an event counted that way can be missing.
events_start() {
	docker events --filter "label=$TEST_LABEL" --filter type=container --format \
		'{{.TimeNano}}|{{.Action}}|{{.Actor.Attributes.name}}|{{index .Actor.Attributes "auriga.io/deployment"}}|{{index .Actor.Attributes "auriga.io/hook"}}|{{index .Actor.Attributes "auriga.io/revision"}}' \
		>"$TEST_TMP/events" 2>/dev/null &
	EVENTS_PID=$!
	on_exit "kill $EVENTS_PID 2>/dev/null"
	events_sync
}

# events_sync: until the recording has caught up with now (a marker container made and removed
# here shows in it); the markers are named evsync-*.
events_sync() {
	local m=evsync-$$-$RANDOM
	docker create -q --label "$TEST_LABEL" --name "$m" "${EVENTS_MARK_IMAGE:-auriga-demo-node:v1}" >/dev/null &&
		docker rm "$m" >/dev/null
	wait_for 30 grep -q "|destroy|$m|" "$TEST_TMP/events"
}

# events_since SINCE: the recorded events from SINCE (date +%s.%N) on, markers left out.
events_since() {
	local ns=${1/./}
	events_sync
	awk -F'|' -v ns="$ns" '$1 >= ns && $3 !~ /^evsync-/' "$TEST_TMP/events"
}

# specs_repo: a bare repository at $REMOTE (branch main) and a work tree at $WORK that pushes to it.
specs_repo() {
	REMOTE=$TEST_TMP/remote.git
	WORK=$TEST_TMP/work
	git init -q --bare -b main "$REMOTE"
	git init -q -b main "$WORK"
	git -C "$WORK" remote add origin "$REMOTE"
}

# commit_local MESSAGE: commits the work tree without pushing it; prints the new commit.
commit_local() {
	git -C "$WORK" add -A
	git -C "$WORK" -c user.name=t -c user.email=t@example.com commit -qm "$1"
	git -C "$WORK" rev-parse HEAD
}

# commit MESSAGE: commits the work tree and pushes it to $REMOTE; prints the new commit.
commit() {
	commit_local "$1" >/dev/null
	git -C "$WORK" push -q origin main
	git -C "$WORK" rev-parse HEAD
}

# web_yaml NAME IMAGE: a Deployment of two demo nodes on IMAGE with a progress deadline of 6 s, ready
# once /q/health/ready answers (probed every second, two misses fail it).
web_yaml() {
	cat <<EOF
apiVersion: auriga.io/v1
kind: Deployment
metadata: {name: $1}
spec:
  replicas: 2
  progressDeadlineSeconds: 6
  template:
    image: $2
    ports: [{name: http, containerPort: 9003}]
  probes:
    readiness: {httpGet: {path: /q/health/ready, port: http}, periodSeconds: 1, timeoutSeconds: 1, failureThreshold: 2}
EOF
}

# node_yaml NAME [TEMPLATE_LINE [IMAGE]]: a Deployment of one demo node (IMAGE, auriga-demo-node:v1
# when not given) with a progress deadline of 60 s, TEMPLATE_LINE added to its template (as "key:
# value", without indent), ready once /q/health/ready answers (probed every second, two misses fail it).
node_yaml() {
	cat <<EOF
apiVersion: auriga.io/v1
kind: Deployment
metadata: {name: $1}
spec:
  replicas: 1
  progressDeadlineSeconds: 60
  template:
    image: ${3:-auriga-demo-node:v1}
    ports: [{name: http, containerPort: 9003}]${2:+
    $2}
  probes:
    readiness: {httpGet: {path: /q/health/ready, port: http}, periodSeconds: 1, timeoutSeconds: 1, failureThreshold: 2}
EOF
}

# cluster_yaml NAME: a Cluster named NAME that sets nothing.
cluster_yaml() {
	printf 'apiVersion: auriga.io/v1\nkind: Cluster\nmetadata: {name: %s}\nspec: {}\n' "$1"
}

# listen_port: a free port for the daemon's HTTP surface (RUN_PORT) and its URL (RUN_URL).
listen_port() {
	RUN_PORT=$(free_port)
	RUN_URL=http://127.0.0.1:$RUN_PORT
}

# run_start LOG ARGS...: starts `auriga run ARGS` in the background, labelled as this run's, its
# output in LOG; sets RUN_PID and RUN_LOG. The daemon is stopped when the test ends.
run_start() {
	RUN_LOG=$1
	shift
	"$AURIGA_BIN" run --extra-labels "$TEST_LABEL" "$@" >"$RUN_LOG" 2>&1 &
	RUN_PID=$!
	on_exit "kill -TERM $RUN_PID 2>/dev/null; wait $RUN_PID 2>/dev/null"
}

# http_code ARGS...: the HTTP status curl gets for ARGS within 5 s (000 when none).
http_code() { curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$@"; }
run_is_ready() { [ "$(http_code "$RUN_URL/q/health/ready")" = 200 ]; }

# run_health DESC: checks that the daemon at $RUN_URL becomes ready within 30 s, then that each of
# its health paths answers 200 ("PATH DESC").
run_health() {
	local path
	check "the daemon becomes ready" wait_for 30 run_is_ready
	for path in /q/health/live /q/health/ready /q/health/startup /healthz /readyz; do
		expect_eq "$path $1" 200 "$(http_code "$RUN_URL$path")"
	done
}

# run_stop DESC: sends SIGTERM to the daemon and checks its exit status is 0 (a sanitizer report
# or a crash at shutdown must not pass unseen).
run_stop() {
	kill -TERM "$RUN_PID"
	wait "$RUN_PID"
	expect_eq "$1" 0 "$?"
}

# await DESC SECONDS CMD...: checks that CMD comes true within SECONDS; the daemon's log tail when not,
# then await_failed when the test defines it (to say more, or to stop).
await() {
	local desc=$1 secs=$2
	shift 2
	if wait_for "$secs" "$@"; then
		ok "$desc"
	else
		fail "$desc"
		tail -n 15 "$RUN_LOG" | while read -r l; do diag "$l"; done
		if declare -F await_failed >/dev/null; then await_failed; fi
	fi
}

# metrics_scrape: GETs $RUN_URL/metrics into $TEST_TMP/metrics.
metrics_scrape() { curl -sf --max-time 5 "$RUN_URL/metrics" >"$TEST_TMP/metrics"; }
# metric SERIES: the value of one exact series (name and labels as rendered) now, or 0 when absent.
metric() {
	metrics_scrape >/dev/null 2>&1
	awk -v s="$1" 'index($0, s " ") == 1 { v = $NF } END { print (v == "" ? 0 : v) }' "$TEST_TMP/metrics"
}
metric_is() { [ "$(metric "$1")" = "$2" ]; }
# metric_above SERIES N: the series is above N now.
metric_above() { awk -v v="$(metric "$1")" -v n="$2" 'BEGIN { exit !(v > n) }'; }
# metric_reaches SERIES N: the series is at least N now.
metric_reaches() { awk -v v="$(metric "$1")" -v n="$2" 'BEGIN { exit !(v >= n) }'; }

# note_in WORKTREE COMMIT: the auriga note on COMMIT, fetched from WORKTREE's origin first.
note_in() {
	git -C "$1" fetch -q origin '+refs/notes/*:refs/notes/*' 2>/dev/null
	git -C "$1" log -1 --format=%N --notes=auriga "$2"
}
