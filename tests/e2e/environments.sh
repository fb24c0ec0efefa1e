#!/usr/bin/env bash
# Environments and promotion gates: one specs repository holds a base and two Environments
# (environments/staging and environments/production, each patching the base), and two `auriga run`
# instances on one engine follow one each. A commit with a good image reaches staging (its note
# under refs/notes/auriga-staging says Healthy), then waits in production for an approval (its
# note under refs/notes/auriga-production says why), which a wrong token cannot give; `auriga
# approve` with the token does, and production applies it, its note saying who approved. A commit
# whose image never gets ready stops at staging, and production's note says so while its fleet
# stays as it was. An environment the specs do not have and a patch of a field that does not exist
# are refused with their file, line and field, and nothing is made.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../run-lib.bash"

need_images v1 v2 never-ready
ST=it-envst-$$
PR=it-envpr-$$
TOKEN=$TEST_TMP/token
# The instances' shared secret: an approval note carries its MAC.
KEY=$TEST_TMP/signing-key
printf 'signing-key-%s-0123456789\n' "$$" >"$KEY"
BADTOKEN=$TEST_TMP/badtoken
ST_PORT=$(free_port)
PR_PORT=$(free_port)
specs_repo
on_exit "docker_cleanup_label auriga.io/managed-by=$ST; docker_cleanup_label auriga.io/managed-by=$PR"

printf '# name: alice\nenv-%s-secret\n' "$$" >"$TOKEN"
printf 'not-the-token-%s\n' "$$" >"$BADTOKEN"
chmod 0600 "$TOKEN" "$BADTOKEN"

# base IMAGE: the shared base, one Deployment "web" on IMAGE.
base() {
	mkdir -p "$WORK/base"
	cat >"$WORK/base/web.yaml" <<EOF
apiVersion: auriga.io/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 1
  progressDeadlineSeconds: 20
  template:
    image: $1
    env: {MODE: base}
    network: envnet
    ports: [{name: http, containerPort: 9003}]
  probes:
    readiness: {httpGet: {path: /q/health/ready, port: http}, periodSeconds: 1, timeoutSeconds: 1, failureThreshold: 2}
EOF
}

# environment NAME REPLICAS [PROMOTION]: environments/NAME/environment.yaml over the base.
environment() {
	mkdir -p "$WORK/environments/$1"
	cat >"$WORK/environments/$1/environment.yaml" <<EOF
apiVersion: auriga.io/v1
kind: Environment
metadata: {name: $1}
spec:
  resources: [../../base]${3:+
  promotion: $3}
  patches:
    - target: {kind: Deployment, name: web}
      patch:
        spec:
          replicas: $2
          template:
            env: {MODE: $1}
EOF
}

# note ENV COMMIT: ENV's note on COMMIT as the remote has it ("" when none).
note() { git --git-dir="$REMOTE" notes --ref="auriga-$1" show "$2" 2>/dev/null; }
note_says() { note "$1" "$2" | grep -q -- "$3"; }
# running INSTANCE: the images of INSTANCE's running containers, sorted, one a line.
running() {
	docker ps --filter "label=auriga.io/managed-by=$1" --format '{{.Image}} {{.Label "auriga.io/deployment"}}' | sort
}
# env_of INSTANCE: the MODE its web container runs with.
env_of() {
	local id
	id=$(docker ps -q --filter "label=auriga.io/managed-by=$1" --filter "label=auriga.io/deployment=web" | head -n 1)
	[ -n "$id" ] && docker inspect --format '{{range .Config.Env}}{{println .}}{{end}}' "$id" | sed -n 's/^MODE=//p'
}
start() {
	run_start "$TEST_TMP/$1.log" --repo "file://$REMOTE" --state-dir "$TEST_TMP/state-$1" --instance "$1" \
		--environment "$2" --listen "127.0.0.1:$3" --api-token-file "$TOKEN" --signing-key-file "$KEY" --poll-interval 1s
}
RUN_LOG=$TEST_TMP/$PR.log
await_failed() {
	diag "staging: $(note staging "$c1" | head -n 1) / production: $(note production "$c1" | head -n 1)"
	tail -n 8 "$TEST_TMP/$ST.log" | while read -r l; do diag "staging: $l"; done
}

base auriga-demo-node:v1
environment staging 1
environment production 2 "{after: staging, approval: required}"
c1=$(commit "v1")

# --- bad input first: nothing is made --------------------------------------------------------
out=$("$AURIGA_BIN" validate --environment qa "$WORK" 2>&1)
expect_eq "validate of an environment the specs do not have: exit 1" 1 "$?"
expect_match "it names the environment and those there are" \
	'environment "qa" is not in the specs \(their Environments: production, staging\)' "$out"
out=$("$AURIGA_BIN" apply --instance "$ST" --state-dir "$TEST_TMP/state-bad" --environment qa \
	--extra-labels "$TEST_LABEL" --repo "file://$REMOTE" --no-notes 2>&1)
expect_match "apply of an environment the specs do not have is refused" 'environment "qa" is not in the specs' "$out"
out=$("$AURIGA_BIN" validate "$WORK" 2>&1)
expect_match "specs with environments loaded for none: refused at each Environment" \
	"environments/staging/environment.yaml:3:18: Environment/staging: metadata.name: the specs hold environments" "$out"
cp -r "$WORK" "$TEST_TMP/typo"
sed -i 's/          replicas: 1/          replica: 1/' "$TEST_TMP/typo/environments/staging/environment.yaml"
out=$("$AURIGA_BIN" validate --environment staging "$TEST_TMP/typo" 2>&1)
expect_match "a patch of a field that does not exist: its file, line and field" \
	'typo/environments/staging/environment.yaml:10:11: Environment/staging: spec.patches\[0\].patch.spec.replica: unknown field \(did you mean "replicas"\?\)' "$out"
out=$("$AURIGA_BIN" apply --instance "$ST" --state-dir "$TEST_TMP/state-bad" --environment staging \
	--extra-labels "$TEST_LABEL" "$TEST_TMP/typo" 2>&1)
expect_match "apply of it is refused" 'spec.patches\[0\].patch.spec.replica: unknown field' "$out"
out=$("$AURIGA_BIN" apply --instance "$PR" --state-dir "$TEST_TMP/state-bad" --environment production \
	--extra-labels "$TEST_LABEL" "$WORK" 2>&1)
expect_match "apply of a gated environment from a folder is refused: the gate is read by run" \
	"environment 'production' is promoted through a gate" "$out"
expect_eq "nothing was made by either instance" "" "$(running "$ST")$(running "$PR")"

# --- a good commit: staging, then approval, then production --------------------------------
start "$ST" staging "$ST_PORT"
ST_PID=$RUN_PID
start "$PR" production "$PR_PORT"
PR_PID=$RUN_PID
await "staging brings v1 to Healthy (its own notes ref)" 120 note_says staging "$c1" "^auriga: Healthy"
expect_eq "staging runs its own patch: one replica" "auriga-demo-node:v1 web" "$(running "$ST")"
expect_eq "with its own env (MODE=staging)" staging "$(env_of "$ST")"
check "staging's environment is in its note" note_says staging "$c1" "environment: staging"
await "production holds v1: waiting for approval" 60 note_says production "$c1" \
	"^auriga: Waiting.*healthy in staging; waiting for approval (auriga approve $c1)"
expect_eq "production made nothing while it waits" "" "$(running "$PR")"
expect_eq "the default notes ref is not written by either" "" "$(git --git-dir="$REMOTE" notes --ref=auriga list 2>/dev/null)"

code=$(http_code -X POST -H "Authorization: Bearer not-the-token" "http://127.0.0.1:$PR_PORT/api/v1/commits/$c1/approve")
expect_eq "an approval with a wrong token: 401" 401 "$code"
out=$("$AURIGA_BIN" approve --listen "127.0.0.1:$PR_PORT" --api-token-file "$BADTOKEN" "$c1" 2>&1)
expect_eq "auriga approve with a wrong token: exit 1" 1 "$?"
expect_match "it says the controller refused it" "refused by the controller at 127.0.0.1:$PR_PORT \(401\)" "$out"
out=$("$AURIGA_BIN" approve --listen "127.0.0.1:$ST_PORT" --api-token-file "$TOKEN" "$c1" 2>&1)
expect_match "staging asks for no approval: 409 with the reason" \
	"\(409\): environment 'staging' asks for no approval" "$out"
# A pusher to the specs remote writes an approval note itself: without the MAC of the instances'
# signing key it does not count, and production keeps waiting.
git --git-dir="$REMOTE" notes --ref=auriga-approvals-production add -f -m "auriga: Approved for production by mallory

{
  \"environment\": \"production\",
  \"instance\": \"$PR\",
  \"approvedBy\": \"mallory\",
  \"approvedAt\": \"2026-01-01T00:00:00.000Z\",
  \"mac\": \"$(printf '%064d' 0)\"
}" "$c1"
await "production reads the forged approval note and ignores it" 60 grep -q \
	"an approval note is ignored.*commit=$c1.*does not carry the MAC of signing-key-file" "$TEST_TMP/$PR.log"
sleep 3
expect_eq "still nothing in production after the refused approvals and the forged note" "" "$(running "$PR")"
check "production's note still waits for approval" note_says production "$c1" "waiting for approval"
expect_no_match "and names no approver" "approvedBy" "$(note production "$c1")"

out=$("$AURIGA_BIN" approve --listen "127.0.0.1:$PR_PORT" --api-token-file "$TOKEN" "$c1" 2>&1)
expect_match "auriga approve with the token is accepted" "approve: $c1: accepted by the controller" "$out"
RUN_LOG=$TEST_TMP/$PR.log
await "production brings v1 to Healthy" 120 note_says production "$c1" "^auriga: Healthy"
check "production's note says who approved it" note_says production "$c1" "approvedBy: alice"
check "the approval was written over the forged note, with its MAC" note_says approvals-production "$c1" \
	'"approvedBy": "alice"'
check "it carries a MAC" note_says approvals-production "$c1" '"mac": "[0-9a-f]\{64\}"'
check "and when" note_says production "$c1" "approvedAt: 20"
expect_eq "production runs its own patch: two replicas" "auriga-demo-node:v1 web
auriga-demo-node:v1 web" "$(running "$PR")"
expect_eq "with its own env (MODE=production)" production "$(env_of "$PR")"
expect_eq "staging is as it was" "auriga-demo-node:v1 web" "$(running "$ST")"

# --- a bad commit: it stops at staging ------------------------------------------------------
base auriga-demo-node:never-ready
c2=$(commit "never ready")
RUN_LOG=$TEST_TMP/$ST.log
await "staging does not bring the never-ready image to Healthy" 120 note_says staging "$c2" \
	"^auriga: \(RolledBack\|Failed\|Degraded\)"
RUN_LOG=$TEST_TMP/$PR.log
await "production's note says it stopped at staging" 60 note_says production "$c2" \
	"^auriga: Waiting.*stopped at staging: its note on this commit says"
expect_no_match "nobody approved it yet: its note names no approver (the one of the commit applied is not its)" \
	"approvedBy" "$(note production "$c2")"
expect_eq "production still runs v1, untouched" "auriga-demo-node:v1 web
auriga-demo-node:v1 web" "$(running "$PR")"
code=$(curl -s --max-time 5 -X POST -H "Authorization: Bearer env-$$-secret" -w '%{http_code}' -o /dev/null \
	"http://127.0.0.1:$PR_PORT/api/v1/commits/$c2/approve")
expect_eq "an approval of it is taken (202)" 202 "$code"
sleep 3
check "and does not move it past the failed staging" note_says production "$c2" "stopped at staging"
check "the held commit's note records its approval" note_says production "$c2" "approvedBy: alice"
check "the note on the commit applied still says who approved it" note_says production "$c1" "approvedBy: alice"
expect_eq "production still runs v1 after the approval" "auriga-demo-node:v1 web
auriga-demo-node:v1 web" "$(running "$PR")"

# Both stop cleanly (a sanitizer's report at exit would show here).
RUN_PID=$ST_PID
run_stop "staging stops with status 0"
RUN_PID=$PR_PID
run_stop "production stops with status 0"
done_testing
