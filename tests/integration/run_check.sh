#!/usr/bin/env bash
# `auriga run --check`: settings and specs are checked and the daemon does not start.
. "$(dirname "$0")/../lib.sh"

out=$("$AURIGA_BIN" run --check "$TOP/specs" 2>&1)
expect_eq "the example fleet checks out (exit 0)" 0 "$?"
expect_match "it says configuration OK" "^configuration OK: 7 deployments in 6 phases" "$out"

mkdir -p "$TEST_TMP/bad"
printf 'apiVersion: auriga.io/v1\nkind: Deployment\nmetadata: {name: x}\nspec: {replicas: -1, template: {image: a}}\n' \
	>"$TEST_TMP/bad/x.yaml"
out=$("$AURIGA_BIN" run --check "$TEST_TMP/bad" 2>&1)
expect_eq "a bad spec fails the check (exit 1)" 1 "$?"
expect_match "the error names file, line, column and field" \
	"x.yaml:4:18: Deployment/x: spec.replicas: must be >= 0, got -1" "$out"

out=$(AURIGA_POLL_INTERVAL=-5s "$AURIGA_BIN" run --check "$TOP/specs" 2>&1)
expect_eq "a bad setting fails before the specs are read (exit 2)" 2 "$?"
expect_match "the error names the variable" "AURIGA_POLL_INTERVAL" "$out"

git init -q -b main "$TEST_TMP/repo"
cp -r "$TOP/specs/." "$TEST_TMP/repo/"
git -C "$TEST_TMP/repo" add -A
git -C "$TEST_TMP/repo" -c user.name=t -c user.email=t@example.com commit -qm specs
out=$("$AURIGA_BIN" run --check --repo "$TEST_TMP/repo" --state-dir "$TEST_TMP/state" 2>&1)
expect_eq "the branch head of a repo checks out (exit 0)" 0 "$?"
expect_match "it says configuration OK" "configuration OK" "$out"

done_testing
