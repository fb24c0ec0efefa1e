#!/usr/bin/env bash
# `auriga rollback DEPLOYMENT --repo`: after v1 then v2 were applied from a specs repo, a rollback
# by hand returns the deployment to v1 and writes it into the note on the applied commit (phase
# RolledBack, the reason), which `auriga status` reads back. Env files come from the commit.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../run-lib.bash"

engine_instance rollback
REPO=$TEST_TMP/repo
PORT=$(free_port)
mkdir -p "$SPECS/conf"

run() { auriga_cmd "$@"; }
image_of() {
	docker ps --filter "label=auriga.io/managed-by=$INST" --filter "label=auriga.io/deployment=gaprb" \
		--format '{{.Image}}'
}

cat >"$SPECS/rb.yaml" <<EOF
apiVersion: auriga.io/v1
kind: Deployment
metadata: {name: gaprb}
spec:
  progressDeadlineSeconds: 120
  template:
    image: auriga-demo-node:v1
    envFiles: [conf/rb.env]
    ports: [{name: http, containerPort: 9003, hostPort: $PORT}]
  probes:
    readiness: {httpGet: {path: /q/health/ready, port: http}, periodSeconds: 1, timeoutSeconds: 1}
EOF
echo "DEMO_NODE_ID=from-the-commit" >"$SPECS/conf/rb.env"
c1=$("$TOP/hack/demo-repo.sh" "$REPO" "$SPECS")

run apply --timeout-total 60 --repo "$REPO/specs.git" --ref main >/dev/null 2>"$TEST_TMP/a1.err"
expect_eq "v1 applies from the repo" 0 "$?"
expect_eq "v1 runs" "auriga-demo-node:v1" "$(image_of)"
expect_match "the env file was read from the commit" "DEMO_NODE_ID=from-the-commit" \
	"$(docker inspect -f '{{range .Config.Env}}{{println .}}{{end}}' "$(docker ps -q --filter "label=auriga.io/managed-by=$INST")")"

sed -i 's/auriga-demo-node:v1/auriga-demo-node:v2/' "$REPO/work/rb.yaml"
c2=$("$TOP/hack/demo-repo.sh" --commit "$REPO" "gaprb to v2")
run apply --timeout-total 60 --repo "$REPO/specs.git" --ref main >/dev/null 2>"$TEST_TMP/a2.err"
expect_eq "v2 applies" 0 "$?"
expect_eq "v2 runs" "auriga-demo-node:v2" "$(image_of)"
expect_match "the note on the v2 commit says healthy" "^auriga: Healthy 1/1" "$(note_in "$REPO/work" "$c2")"
expect_eq "a complete rollout leaves no progress record in the state file (a restart starts no stale deadline)" 0 \
	"$(grep -c '"progress"' "$STATE/engine-$INST.json")"

out=$(run rollback --timeout-total 60 --repo "$REPO/specs.git" --ref main gaprb 2>"$TEST_TMP/rb.err")
rc=$?
expect_eq "auriga rollback exits 0" 0 "$rc"
[ "$rc" = 0 ] || { diag "$out"; tail -5 "$TEST_TMP/rb.err" | while read -r l; do diag "$l"; done; }
expect_eq "v1 runs again" "auriga-demo-node:v1" "$(image_of)"
note=$(note_in "$REPO/work" "$c2")
[ -n "${KEEP_DIAG:-}" ] && echo "$note" | while read -r l; do diag "$l"; done
expect_match "the note on the applied commit says the deployment was rolled back" \
	"gaprb:.*phase: RolledBack|phase: RolledBack" "$(echo "$note" | tr '\n' ' ')"
expect_match "the note gives the reason" "rolled back by hand" "$note"
expect_match "the note names the revision it returned to (v1's)" \
	"$(docker inspect -f '{{index .Config.Labels "auriga.io/revision"}}' "$(docker ps -q --filter "label=auriga.io/managed-by=$INST")" | cut -c1-12)" "$note"
status=$("$AURIGA_BIN" status --repo "$REPO/specs.git" --ref main --state-dir "$STATE" 2>&1)
expect_match "auriga status reads the rollback from the note" "RolledBack" "$status"
expect_eq "the v1 commit's note is untouched by the rollback" "" \
	"$(note_in "$REPO/work" "$c1" | grep -c 'rolled back by hand' | grep -v '^0$')"

done_testing
