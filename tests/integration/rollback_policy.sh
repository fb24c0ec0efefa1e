#!/usr/bin/env bash
# A rollback's template comes from the state file, written under the policy of its day: it is held
# against the operator's policy in force when the rollback happens. v1 (privileged) is applied while
# the policy file allows privileged containers; v2 (not privileged) fails its progress deadline and
# would return to v1, but the policy file no longer allows privileged containers: no privileged
# container is created, the deployment fails, and its lastError (apply's output and the note on the
# commit) names the field and the policy setting. `auriga plan` shows the same refusal, and the
# rollback to v1 under a policy that allows it.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../run-lib.bash"

engine_instance rbpolicy
REPO=$TEST_TMP/repo
PORT=$(free_port)
POLICY=$TEST_TMP/policy.yaml

run() { auriga_cmd "$@"; }
containers() { docker ps -aq --filter "label=auriga.io/managed-by=$INST" --filter "label=auriga.io/deployment=gaprbp"; }
privileged_count() {
	local n=0 id
	for id in $(containers); do
		[ "$(docker inspect -f '{{.HostConfig.Privileged}}' "$id")" = true ] && n=$((n + 1))
	done
	echo "$n"
}

cat >"$SPECS/rb.yaml" <<EOF
apiVersion: auriga.io/v1
kind: Deployment
metadata: {name: gaprbp}
spec:
  progressDeadlineSeconds: 10
  strategy: {type: Recreate}
  template:
    image: auriga-demo-node:v1
    privileged: true
    ports: [{name: http, containerPort: 9003, hostPort: $PORT}]
  probes:
    readiness: {httpGet: {path: /q/health/ready, port: http}, periodSeconds: 1, timeoutSeconds: 1}
EOF
c1=$("$TOP/hack/demo-repo.sh" "$REPO" "$SPECS")

echo "privileged: true" >"$POLICY"
run apply --policy-file "$POLICY" --timeout-total 60 --repo "$REPO/specs.git" --ref main >/dev/null \
	2>"$TEST_TMP/a1.err"
expect_eq "v1 (privileged) applies while the policy file allows it" 0 "$?"
expect_eq "v1 runs privileged" 1 "$(privileged_count)"

# v2: not privileged, and never ready (its readiness path does not exist), so it fails its deadline.
sed -i -e 's/auriga-demo-node:v1/auriga-demo-node:v2/' -e '/privileged: true/d' \
	-e 's#/q/health/ready#/no/such/path#' "$REPO/work/rb.yaml"
c2=$("$TOP/hack/demo-repo.sh" --commit "$REPO" "gaprbp to v2, never ready")

echo "privileged: false" >"$POLICY"
out=$(run apply --policy-file "$POLICY" --timeout-total 90 --repo "$REPO/specs.git" --ref main 2>"$TEST_TMP/a2.err")
rc=$?
[ -n "${KEEP_DIAG:-}" ] && { diag "$out"; tail -20 "$TEST_TMP/a2.err" | while read -r l; do diag "$l"; done; }
expect_eq "apply of v2 exits 1 (failed, not returned to v1)" 1 "$rc"
expect_eq "no privileged container was created for the rollback" 0 "$(privileged_count)"
expect_eq "no container runs v1's image" "" \
	"$(for id in $(containers); do docker inspect -f '{{.Config.Image}}' "$id"; done | grep -x 'auriga-demo-node:v1')"
expect_match "the log says the rollback was refused by the policy" "rollback refused by the operator's policy" \
	"$(cat "$TEST_TMP/a2.err")"
note=$(note_in "$REPO/work" "$c2")
[ -n "${KEEP_DIAG:-}" ] && echo "$note" | while read -r l; do diag "$l"; done
expect_match "the note on v2's commit says the deployment failed" "Failed" "$note"
expect_match "the note names the field and the policy setting that refuse the rollback" \
	"cannot roll back: revision [0-9a-f]{12}: spec.template.privileged: refused by the operator's policy \(privileged: false in $POLICY\)" \
	"$(echo "$note" | tr '\n' ' ')"
status=$("$AURIGA_BIN" status --repo "$REPO/specs.git" --ref main --state-dir "$STATE" 2>&1)
expect_match "auriga status reads the refusal from the note" "privileged: false" "$status"
expect_eq "the v1 commit's note is untouched" "0" "$(note_in "$REPO/work" "$c1" | grep -c 'cannot roll back')"

# auriga plan holds the rollback template to the policy as apply did: the same line, no action, status 1.
out=$(run plan --policy-file "$POLICY" --repo "$REPO/specs.git" --ref main 2>&1)
expect_eq "plan exits 1: apply would fail the refused rollback" 1 "$?"
expect_match "plan names the field and the policy setting, as apply's note does" \
	"! cannot roll back: revision [0-9a-f]{12}: spec\.template\.privileged: refused by the operator's policy \(privileged: false in $POLICY\)" \
	"$out"
json=$(run plan --json --policy-file "$POLICY" --repo "$REPO/specs.git" --ref main 2>/dev/null)
expect_eq "plan --json: one refused, no action, the refusal on the deployment" "1 0 0 cannot roll back" \
	"$(jq -r --arg d gaprbp '. as $r | .phases[].deployments[] | select(.name == $d) | "\($r.refused) \($r.changes) \(.actions | length) \(.refused[0:16])"' <<<"$json")"
# Under a policy that allows privileged containers the same plan rolls back to v1: the refusal is the policy's.
echo "privileged: true" >"$TEST_TMP/allow.yaml"
out=$(run plan --policy-file "$TEST_TMP/allow.yaml" --repo "$REPO/specs.git" --ref main 2>&1)
expect_eq "plan under a policy that allows it: the rollback would change something, status 2" 2 "$?"
expect_match "plan under a policy that allows it: held at v1, an action for it" "gaprbp \(held\).*(-/\+ replace)" \
	"$(echo "$out" | tr '\n' ' ')"

done_testing
