#!/usr/bin/env bash
# auriga as a container on the host it manages: the image is built offline, started with the
# engine's socket (not root: the socket's group), pointed at a specs repo served by `git daemon` on
# 127.0.0.1. It brings the 25-node fleet up and writes the note; a GitHub-style signed webhook then
# makes it apply a new commit at once, with the poll interval at an hour so no poll can explain it;
# /metrics passes `promtool check metrics` and Docker reports the container healthy through
# `auriga healthcheck`.
# run-tests: alone
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/fleet-lib.bash"

IMAGE=${AURIGA_IMAGE:-auriga:latest}
CTRL=auriga-ctrl-$FLEET_INSTANCE

# --- the image ---------------------------------------------------------------------------------
# Docker's layer cache makes this quick when the sources did not change; a full build compiles
# auriga inside the build stage.
start=$(date +%s)
if timeout 900 make -s -C "$TOP" image >"$TEST_TMP/build.log" 2>&1; then
	ok "the image builds offline (base-image.sh, make image) in $(( $(date +%s) - start )) s"
else
	fail "the image builds offline"
	tail -20 "$TEST_TMP/build.log" | while read -r l; do diag "$l"; done
	exit 1
fi
expect_eq "the image runs as a non-root user" "10001:10001" "$(docker image inspect -f '{{.Config.User}}' "$IMAGE")"
expect_match "the image's HEALTHCHECK is auriga healthcheck" "auriga healthcheck" \
	"$(docker image inspect -f '{{join .Config.Healthcheck.Test " "}}' "$IMAGE")"

# --- the specs repo, served on 127.0.0.1 --------------------------------------------------------
make_fleet "$FLEET_SPECS" auriga-demo-node:v1 120
repo=$TEST_TMP/repo
commit=$("$TOP/hack/demo-repo.sh" "$repo" "$FLEET_SPECS")
gport=$(free_port)
git daemon --export-all --enable=receive-pack --reuseaddr --listen=127.0.0.1 --port="$gport" \
	--base-path="$repo" "$repo" >"$TEST_TMP/git-daemon.log" 2>&1 &
gd_pid=$!
on_exit "kill $gd_pid"
check "git daemon serves the specs repo" wait_for 10 git ls-remote --exit-code "git://127.0.0.1:$gport/specs.git" main
url=git://127.0.0.1:$gport/specs.git

# --- secrets, mounted read-only; readable by the container's user only -------------------------
secrets=$TEST_TMP/secrets
mkdir -p "$secrets"
chmod 0755 "$TEST_TMP" "$secrets"
hook_secret=$(openssl rand -hex 20)
api_token=$(openssl rand -hex 20)
printf '%s' "$hook_secret" >"$secrets/github-webhook-secret"
printf '%s\n' "$api_token" >"$secrets/api-token"
chown 10001:10001 "$secrets"/* && chmod 0400 "$secrets"/*

# --- the controller ----------------------------------------------------------------------------
hport=$(free_port)
base=http://127.0.0.1:$hport
vol=auriga-state-$FLEET_INSTANCE
docker volume create --label "$TEST_LABEL" "$vol" >/dev/null
# Registered before the controller's removal, so it runs after it: whatever the controller made
# goes even if it did not carry the test label.
on_exit "docker_cleanup_label auriga.io/managed-by=$FLEET_INSTANCE"
on_exit "docker rm -fv $CTRL"
sock_gid=$(stat -c %g /var/run/docker.sock)
docker run -d --name "$CTRL" --label "$TEST_LABEL" --network host \
	-v /var/run/docker.sock:/var/run/docker.sock --group-add "$sock_gid" \
	-v "$vol:/var/lib/auriga" -v "$secrets:/etc/auriga:ro" \
	-e AURIGA_LISTEN="127.0.0.1:$hport" -e AURIGA_REPO="$url" -e AURIGA_BRANCH=main \
	-e AURIGA_INSTANCE="$FLEET_INSTANCE" -e AURIGA_EXTRA_LABELS="$TEST_LABEL" \
	-e AURIGA_POLL_INTERVAL=1h \
	-e AURIGA_GITHUB_WEBHOOK_SECRET_FILE=/etc/auriga/github-webhook-secret \
	-e AURIGA_API_TOKEN_FILE=/etc/auriga/api-token \
	--read-only --tmpfs /tmp --cap-drop ALL --security-opt no-new-privileges \
	--health-interval 1s --health-timeout 2s --health-retries 3 \
	"$IMAGE" >"$TEST_TMP/ctrl.id" 2>"$TEST_TMP/ctrl.err"
expect_eq "the controller container starts" 0 "$?"

ctrl_logs() { docker logs "$CTRL" 2>&1 | tail -"${1:-15}" | while read -r l; do diag "$l"; done; }
health() { docker inspect -f '{{.State.Health.Status}}' "$CTRL" 2>/dev/null; }
expect_eq "it runs as 10001 in the socket's group" "10001:10001 $sock_gid" \
	"$(docker inspect -f '{{.Config.User}} {{join .HostConfig.GroupAdd " "}}' "$CTRL")"

# fleet_at COMMIT IMAGE: the 25 containers run IMAGE and carry COMMIT, and nothing else is left.
fleet_at() {
	[ "$(fleet_count)" = 25 ] &&
		[ "$(fleet_ps '{{.State}} {{.Label "auriga.io/commit"}}' | grep -cx "running $1")" = 25 ] &&
		[ "$(fleet_images | grep -cx "$2")" = 25 ]
}
note_of() { git -C "$repo/specs.git" notes --ref=auriga show "$1" 2>/dev/null; }
# note_healthy COMMIT: the note on COMMIT in the remote says the whole fleet is healthy.
note_healthy() { note_of "$1" | grep -q "Healthy 25/25"; }

start=$(date +%s)
if wait_for 180 fleet_at "$commit" auriga-demo-node:v1; then
	ok "the fleet comes up from the container: 25 running at v1 from commit ${commit:0:12}"
	diag "fleet up in $(( $(date +%s) - start )) s"
else
	fail "the fleet comes up from the container"
	diag "$(fleet_count) containers: $(fleet_ps '{{.State}} {{.Label "auriga.io/commit"}}' | sort | uniq -c | tr '\n' ';')"
	ctrl_logs
fi
expect_eq "every container carries the test label" 25 \
	"$(docker ps -q --filter "label=$TEST_LABEL" --filter "label=auriga.io/managed-by=$FLEET_INSTANCE" | wc -l)"
# The revisions validate computes from the specs are the ones on the containers; validate must
# answer for the four node deployments, or the comparison below would check nothing.
vjson=$("$AURIGA_BIN" validate --json "$FLEET_SPECS" 2>"$TEST_TMP/validate.err")
expect_eq "auriga validate --json accepts the fleet's specs (exit 0)" 0 "$?"
want=$(python3 -c 'import json,sys; m=json.load(sys.stdin)["model"]; print(" ".join(d["metadata"]["name"]+"="+d["revision"] for d in m["deployments"]))' \
	<<<"$vjson" 2>/dev/null)
expect_eq "validate --json lists the node deployments with their revisions" "business-1 business-2 slim validators" \
	"$(tr ' ' '\n' <<<"$want" | cut -d= -f1 | grep -vx api | sort | tr '\n' ' ' | sed 's/ $//')"
for pair in $want; do
	name=${pair%%=*} rev=${pair#*=}
	[ "$name" = api ] && continue
	expect_eq "$name revision label is the spec's revision" "$rev" \
		"$(fleet_ps '{{.Label "auriga.io/deployment"}} {{.Label "auriga.io/revision"}}' | awk -v d="$name" '$1 == d {print $2}' | sort -u)"
done
if wait_for 60 note_healthy "$commit"; then
	ok "the note on the commit in the remote says Healthy 25/25 (git notes --ref=auriga show)"
	diag "note: $(note_of "$commit" | head -3 | tr '\n' ' ')"
else
	fail "the note is on the commit in the remote"
	ctrl_logs
fi

# --- Docker's health check and /metrics ---------------------------------------------------------
if wait_for 60 test "$(health)" = healthy; then
	ok "Docker reports the controller healthy (auriga healthcheck in the image)"
else
	fail "Docker reports the controller healthy (status: $(health))"
	docker inspect -f '{{range .State.Health.Log}}{{.ExitCode}} {{.Output}}{{end}}' "$CTRL" | tail -3 |
		while read -r l; do diag "$l"; done
fi
docker exec "$CTRL" /usr/bin/auriga healthcheck >/dev/null 2>&1
expect_eq "auriga healthcheck exits 0 on the live endpoint (address from AURIGA_LISTEN)" 0 "$?"
docker exec "$CTRL" /usr/bin/auriga healthcheck "$base/no-such-path" >/dev/null 2>&1
expect_eq "auriga healthcheck exits 1 on a 404" 1 "$?"
docker exec "$CTRL" /usr/bin/auriga healthcheck --timeout 2 "http://127.0.0.1:$(free_port)/q/health/live" >/dev/null 2>&1
expect_eq "auriga healthcheck exits 1 when nothing listens" 1 "$?"
code=$(curl -s -o "$TEST_TMP/metrics" -w '%{http_code}' "$base/metrics")
expect_eq "/metrics answers 200" 200 "$code"
if [ "$code" = 200 ] && promtool check metrics <"$TEST_TMP/metrics" >"$TEST_TMP/promtool.out" 2>&1; then
	ok "/metrics passes promtool check metrics ($(grep -c '^# TYPE' "$TEST_TMP/metrics") families)"
else
	fail "/metrics passes promtool check metrics"
	cat "$TEST_TMP/promtool.out" "$TEST_TMP/metrics" 2>/dev/null | head -5 | while read -r l; do diag "$l"; done
fi

# --- a new commit, announced by a signed GitHub webhook ------------------------------------------
sed -i 's|image: auriga-demo-node:v1|image: auriga-demo-node:v2|' "$repo/work"/nodes/*.yaml
commit2=$("$TOP/hack/demo-repo.sh" --commit "$repo" "Every node to v2")
expect_match "the bump is pushed" '^[0-9a-f]{40}$' "$commit2"
# Docker keeps only its latest events: follow the creations while the rollout runs.
docker events --filter "label=auriga.io/managed-by=$FLEET_INSTANCE" --filter type=container --filter event=create \
	--format '{{.TimeNano}} {{index .Actor.Attributes "auriga.io/commit"}}' >"$TEST_TMP/events" &
events_pid=$!
on_exit "kill $events_pid"
sleep 1
expect_eq "nothing new is created before the webhook (no poll in an hour)" 0 "$(grep -c " $commit2" "$TEST_TMP/events")"

body=$(printf '{"ref":"refs/heads/main","before":"%s","after":"%s","repository":{"full_name":"example/specs"},"pusher":{"name":"ci"}}' \
	"$commit" "$commit2")
sig=$(printf '%s' "$body" | openssl dgst -sha256 -hmac "$hook_secret" | sed 's/^.*= //')
code=$(curl -s -o "$TEST_TMP/hook.out" -w '%{http_code}' -X POST "$base/api/v1/webhooks/github" \
	-H 'Content-Type: application/json' -H 'X-GitHub-Event: push' \
	-H "X-GitHub-Delivery: $(uuidgen)" -H "X-Hub-Signature-256: sha256=$sig" --data-binary "$body")
t_hook=$(date +%s%N)
trigger=webhook
expect_eq "the signed push webhook is accepted (202)" 202 "$code"
if [ "$code" != 202 ]; then
	diag "webhook answer: $code $(head -c 200 "$TEST_TMP/hook.out")"
	# Drive the rest of the test through the API's sync, so convergence is still checked.
	code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $api_token" "$base/api/v1/sync")
	t_hook=$(date +%s%N)
	trigger="API sync (the webhook was refused)"
	diag "fell back to POST /api/v1/sync: $code"
fi
first_new() { awk -v c="$commit2" '$2 == c {print $1; exit}' "$TEST_TMP/events" | grep .; }
if wait_for 30 first_new >/dev/null; then
	ms=$(( ($(first_new) - t_hook) / 1000000 ))
	diag "from the answer to the $trigger to the first container of the new commit: $ms ms"
	if [ "$ms" -lt 1000 ]; then
		ok "the new commit is being applied within a second of the $trigger ($ms ms)"
	else
		fail "the new commit is being applied within a second of the $trigger ($ms ms)"
		docker logs --timestamps --since "$(date -u -d "@$((t_hook / 1000000000 - 1))" +%Y-%m-%dT%H:%M:%SZ)" "$CTRL" 2>&1 |
			head -12 | while read -r l; do diag "$l"; done
	fi
else
	fail "the new commit is being applied after the trigger"
	ctrl_logs
fi
start=$(date +%s)
if wait_for 180 fleet_at "$commit2" auriga-demo-node:v2; then
	ok "the fleet converges on the new commit: 25 running at v2"
	diag "rollout to v2 in $(( $(date +%s) - start )) s"
else
	fail "the fleet converges on the new commit"
	ctrl_logs
fi
if wait_for 60 note_healthy "$commit2"; then
	ok "the note on the new commit in the remote says Healthy 25/25"
else
	fail "the note on the new commit in the remote says Healthy 25/25"
	diag "note: $(note_of "$commit2" | head -3 | tr '\n' ' ')"
fi
expect_eq "the controller is still healthy" healthy "$(health)"

done_testing
