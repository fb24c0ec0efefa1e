#!/usr/bin/env bash
# `auriga validate` on the broken-spec corpus (each NAME.yaml must fail with exactly the lines of
# NAME.expected on stderr and status 1), on hostile inputs generated here (too big to commit),
# and on the example fleet in specs/ (must pass).
. "$(dirname "$0")/../lib.sh"

corpus=$TOP/tests/spec-corpus
n=0
for y in "$corpus"/*.yaml; do
	name=$(basename "$y" .yaml)
	exp="$corpus/$name.expected"
	if [ ! -f "$exp" ]; then
		fail "$name: no $name.expected beside it"
		continue
	fi
	out=$(cd "$corpus" && "$AURIGA_BIN" validate "$name.yaml" 2>&1 >/dev/null)
	rc=$?
	if [ "$rc" -eq 1 ] && [ "$out" = "$(cat "$exp")" ]; then
		ok "corpus $name"
	else
		fail "corpus $name (status $rc)"
		diag "expected: $(cat "$exp")"
		diag "actual:   $out"
	fi
	n=$((n + 1))
done
check "the corpus holds at least 40 broken files ($n)" test "$n" -ge 40

# expect_fail NAME FILE LINE: validate FILE, expect status 1 and exactly LINE on stderr.
expect_fail() {
	local out rc
	out=$(cd "$TEST_TMP" && timeout 20 "$AURIGA_BIN" validate "$2" 2>&1 >/dev/null)
	rc=$?
	expect_eq "$1: status" 1 "$rc"
	expect_eq "$1: message" "$3" "$out"
}

# A 300 KiB scalar: past the 256 KiB scalar bound.
{
	printf 'apiVersion: auriga.io/v1\nkind: Job\nmetadata: {name: big}\nspec:\n  template:\n    image: "'
	head -c 307200 /dev/zero | tr '\0' 'x'
	printf '"\n'
} >"$TEST_TMP/huge-scalar.yaml"
expect_fail "huge scalar" huge-scalar.yaml \
	"huge-scalar.yaml:6:12: scalar of 307200 bytes is larger than the limit of 262144"

# A 5 MiB file: past the 4 MiB file bound, refused before parsing.
{
	printf 'a: "'
	head -c 5242880 /dev/zero | tr '\0' 'x'
	printf '"\n'
} >"$TEST_TMP/huge-file.yaml"
expect_fail "huge file" huge-file.yaml "huge-file.yaml: file larger than the limit of 4194304 bytes"

# 257 aliases of one small anchor: past the alias count bound, though the expansion is small.
{
	printf 'x: &a 1\nl:\n'
	for i in $(seq 1 257); do printf -- '- *a\n'; done
} >"$TEST_TMP/many-aliases.yaml"
expect_fail "too many aliases" many-aliases.yaml \
	"many-aliases.yaml:259:3: more than the limit of 256 aliases"

# 1001 documents in one file.
for i in $(seq 1 1001); do printf -- '---\na: %d\n' "$i"; done >"$TEST_TMP/many-docs.yaml"
expect_fail "too many documents" many-docs.yaml \
	"many-docs.yaml:2001:1: more than the limit of 1000 documents in one file"

# A 2 MiB document made of many small scalars: past the 1 MiB document bound.
{
	printf 'items:\n'
	for i in $(seq 1 40000); do printf -- '- "0123456789012345678901234567890123456789012345678"\n'; done
} >"$TEST_TMP/big-doc.yaml"
out=$(cd "$TEST_TMP" && timeout 20 "$AURIGA_BIN" validate big-doc.yaml 2>&1 >/dev/null)
expect_match "big document" '^big-doc\.yaml:[0-9]+:3: document larger than the limit of 1048576 bytes$' "$out"

# Many files with errors in one directory: every error, sorted by file then line.
mkdir -p "$TEST_TMP/multi/sub"
cp "$corpus/negative-replicas.yaml" "$TEST_TMP/multi/b.yaml"
cp "$corpus/unknown-kind.yaml" "$TEST_TMP/multi/sub/a.yml"
cp "$corpus/duplicate-key.yaml" "$TEST_TMP/multi/a.yaml"
printf 'not yaml of ours\n' >"$TEST_TMP/multi/notes.txt"
out=$(cd "$TEST_TMP" && "$AURIGA_BIN" validate multi 2>&1 >/dev/null)
expect_eq "directory walk: every error, sorted" "multi/a.yaml:7:3: duplicate key \"replicas\" (first at line 6)
multi/b.yaml:6:13: Deployment/validators: spec.replicas: must be >= 0, got -1
multi/sub/a.yml:2:7: kind: unknown kind \"Pod\" (expected one of Cluster, Deployment, Service, Job, AnalysisTemplate, BackupPolicy, Environment)" "$out"

# The example fleet is valid, in text and in JSON.
out=$("$AURIGA_BIN" validate "$TOP/specs")
rc=$?
expect_eq "specs/ validates" 0 "$rc"
expect_match "specs/ summary" '^valid: 1 Cluster, 7 Deployments \(30 replicas\), 3 Services, 6 Jobs, 1 AnalysisTemplate in 8 files$' "$out"
json=$("$AURIGA_BIN" validate --json "$TOP/specs")
expect_eq "--json says valid" true "$(jq -r .valid <<<"$json")"
# Valid, and warned: five validators on the one endpoint cannot survive the loss of that host.
err=$("$AURIGA_BIN" validate "$TOP/specs" 2>&1 >/dev/null)
expect_match "specs/: the validators on one host are warned of, on stderr" \
	'^warning: .*/specs/nodes/validators\.yaml:9:13: Deployment/validators: spec\.replicas: 5 of the 5 validators run on endpoint "local": losing that host takes more than f = 1 of 3f\+1 down' "$err"
expect_eq "--json: the warning, at its field" "spec.replicas 9" \
	"$(jq -r '.warnings[] | "\(.path) \(.line)"' <<<"$json")"
expect_eq "--json: validators one per endpoint where the endpoints allow (one endpoint: all five)" "5 true" \
	"$(jq -r '.model.deployments[] | select(.metadata.name=="validators") | "\(.placement.maxPerEndpoint) \(.placement.maxDefaulted)"' <<<"$json")"
expect_eq "--json: validators default to Recreate with the BFT budget" "Recreate 1" \
	"$(jq -r '.model.deployments[] | select(.metadata.name=="validators") | "\(.strategy.type) \(.disruptionBudget.maxUnavailable)"' <<<"$json")"
expect_eq "--json: phases follow roleOrder (api's, database's and ledger's roles are not listed: after, by name)" \
	"api:3 business-1:1 business-2:1 ledger:5 postgres:4 slim:0 validators:2" \
	"$(jq -r '[.model.deployments[] | "\(.metadata.name):\(.phase)"] | sort | join(" ")' <<<"$json")"
json=$(cd "$corpus" && "$AURIGA_BIN" validate --json negative-replicas.yaml 2>/dev/null)
expect_eq "--json on errors" "false 1 spec.replicas 6" \
	"$(jq -r '"\(.valid) \(.errors | length) \(.errors[0].path) \(.errors[0].line)"' <<<"$json")"

# --crds: the CRDs on disk give the same verdicts as the embedded ones.
out=$("$AURIGA_BIN" validate --crds "$TOP/crds" "$TOP/specs" 2>&1)
expect_eq "--crds DIR" 0 "$?"
mkdir -p "$TEST_TMP/crds"
cp "$TOP/crds/"*.yaml "$TEST_TMP/crds/"
sed -i 's/replicas: {type: integer, minimum: 0, maximum: 1000/replicas: {type: integer, minimum: 0, maximum: 4/' "$TEST_TMP/crds/deployment.yaml"
out=$("$AURIGA_BIN" validate --crds "$TEST_TMP/crds" "$TOP/specs/nodes/slim.yaml" 2>&1)
expect_match "--crds: the schema on disk is the one enforced" 'Deployment/slim: spec.replicas: must be <= 4, got 5$' "$out"
rm "$TEST_TMP/crds/job.yaml"
"$AURIGA_BIN" validate --crds "$TEST_TMP/crds" "$TOP/specs" >/dev/null 2>&1
expect_eq "--crds without every kind is a usage error" 2 "$?"

# The operator's policy file: the corpus' refusals come from it (the built-in policy above).
printf 'privileged: true\nhostPaths: [/var/log]\n' >"$TEST_TMP/allow.yaml"
out=$(cd "$corpus" && "$AURIGA_BIN" validate --policy-file "$TEST_TMP/allow.yaml" privileged-refused.yaml 2>&1)
expect_eq "--policy-file allowing it: privileged validates" 0 "$?"
out=$(cd "$corpus" && "$AURIGA_BIN" validate --policy-file "$TEST_TMP/allow.yaml" host-bind-refused.yaml 2>&1)
expect_eq "--policy-file allowing it: the host path validates" 0 "$?"
out=$(cd "$corpus" && AURIGA_POLICY_FILE="$TEST_TMP/allow.yaml" "$AURIGA_BIN" validate privileged-refused.yaml 2>&1)
expect_eq "\$AURIGA_POLICY_FILE is read the same" 0 "$?"
printf 'privileged: false\n' >"$TEST_TMP/deny.yaml"
out=$(cd "$corpus" && "$AURIGA_BIN" validate --policy-file "$TEST_TMP/deny.yaml" privileged-refused.yaml 2>&1 >/dev/null)
expect_eq "a refusal names the policy file" \
	"privileged-refused.yaml:9:17: Deployment/web: spec.template.privileged: refused by the operator's policy (privileged: false in $TEST_TMP/deny.yaml)" "$out"
printf 'privileged: yes\nhostPath: [/srv]\n' >"$TEST_TMP/bad-policy.yaml"
out=$("$AURIGA_BIN" validate --policy-file "$TEST_TMP/bad-policy.yaml" "$TOP/specs" 2>&1)
expect_eq "a policy file with errors: status 2" 2 "$?"
expect_eq "a policy file with errors: every one, with its position" "auriga validate: policy file '$TEST_TMP/bad-policy.yaml': 2 problems
$TEST_TMP/bad-policy.yaml:1:13: privileged: expected true or false, got a string
$TEST_TMP/bad-policy.yaml:2:1: hostPath: unknown key (known: privileged, hostPaths, hostNetwork, containerNetwork, networks, capabilities, images, maxReplicas, maxMemory, maxCpus, router, endpoints)" "$out"
"$AURIGA_BIN" validate --policy-file "$TEST_TMP/no-such-policy.yaml" "$TOP/specs" >/dev/null 2>&1
expect_eq "a policy file named but missing is an error, not the built-in policy" 2 "$?"

# Cases over several endpoints, under the operator's policy beside them that names those endpoints.
for y in "$corpus"/endpoints/*.yaml; do
	name=$(basename "$y" .yaml)
	[ "$name" = policy ] && continue
	out=$(cd "$corpus/endpoints" && "$AURIGA_BIN" validate --policy-file policy.yaml "$name.yaml" 2>&1 >/dev/null)
	rc=$?
	expect_eq "corpus endpoints/$name: status" 1 "$rc"
	expect_eq "corpus endpoints/$name: message" "$(cat "$corpus/endpoints/$name.expected")" "$out"
done

# Usage.
"$AURIGA_BIN" validate --bogus >/dev/null 2>&1
expect_eq "unknown option: status 2" 2 "$?"
check "--help describes the exit status" bash -c "'$AURIGA_BIN' validate --help | grep -q 'exit status'"

done_testing
