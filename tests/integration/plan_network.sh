#!/usr/bin/env bash
# Whose a network is only the engine can tell: `auriga plan` asks it, and a template naming a network
# another made (one the operator's policy does not list) is refused at its file, line and field in
# the words `auriga apply` fails it with, with no action listed and exit status 1; the same network
# listed in the policy is planned (exit 2), and so is a network of the instance's own. Against real
# dockerd; no container is started by the plan.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../run-lib.bash"

need_images v1
engine_instance plannet
FOREIGN=$INST-theirs
# A network someone else made: it carries this run's label (for the clean-up), not auriga's.
docker network create --label "$TEST_LABEL" "$FOREIGN" >/dev/null || { fail "make the foreign network"; exit 1; }
node_yaml web "network: $FOREIGN" >"$SPECS/web.yaml"
printf 'networks: [%s]\n' "$FOREIGN" >"$TEST_TMP/policy.yaml"

words="network '$FOREIGN' is not auriga's: refused by the operator's policy \\(not listed in networks in the built-in policy\\)"

out=$(auriga_cmd plan "$SPECS" 2>&1)
expect_eq "plan exits 1 on the foreign network" 1 "$?"
expect_match "plan refuses it at the file, line and field" \
	"$SPECS/web\\.yaml:10:14: Deployment/web: spec\\.template\\.network: $words" "$out"
expect_match "and says apply fails it" "Refused: 1 deployment the operator's policy refuses on the engine; apply fails it" "$out"
expect_no_match "no create is planned for it" "create" "$out"
json=$(auriga_cmd plan --json "$SPECS" 2>/dev/null)
expect_eq "plan --json counts it refused, with no change" "1 0 []" \
	"$(jq -r '[.refused, .changes, (.phases[].deployments[] | select(.name == "web") | .actions)] | "\(.[0]) \(.[1]) \(.[2] | tojson)"' <<<"$json")"
expect_match "its refused field holds the same line" "web\\.yaml:10:14: Deployment/web: spec\\.template\\.network: $words" \
	"$(jq -r '.phases[].deployments[] | select(.name == "web") | .refused' <<<"$json")"

# apply, on the engine, fails it in the same words (and creates nothing).
auriga_cmd apply --timeout-total 30 "$SPECS" >"$TEST_TMP/apply.out" 2>"$TEST_TMP/apply.err"
check "apply fails the deployment" test "$?" -ne 0
check "apply's words are the plan's" grep -Eq "$words" "$TEST_TMP/apply.err" "$TEST_TMP/apply.out"
expect_eq "no container was made" "" "$(docker ps -aq --filter "label=auriga.io/managed-by=$INST")"

# Listed in the operator's policy, the network is planned: one create, exit 2.
out=$(AURIGA_POLICY_FILE=$TEST_TMP/policy.yaml auriga_cmd plan "$SPECS" 2>&1)
expect_eq "with the policy listing it, plan exits 2 (a change)" 2 "$?"
expect_no_match "and refuses nothing" "Refused|is not auriga's" "$out"

# A network of the instance's own (its managed-by label) is no refusal either.
OWN=$INST-own
docker network create --label "$TEST_LABEL" --label "auriga.io/managed-by=$INST" "$INST-$OWN" >/dev/null
node_yaml web "network: $OWN" >"$SPECS/web.yaml"
out=$(auriga_cmd plan "$SPECS" 2>&1)
expect_eq "a network of the instance's own is planned (exit 2)" 2 "$?"
expect_no_match "with no refusal" "Refused|is not auriga's" "$out"

done_testing
