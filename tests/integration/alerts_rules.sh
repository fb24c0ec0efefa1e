#!/usr/bin/env bash
# The alerting rules: valid for promtool, their unit tests pass, and the unit tests fail when a
# threshold is loosened (so they can fail); the example Prometheus configuration loads them.
. "$(dirname "$0")/../lib.sh"
cd "$TOP"

if ! command -v promtool >/dev/null; then
	fail "promtool is installed (hack/deps.sh installs prometheus)"
	exit 1
fi

out=$(promtool check rules deploy/alerts.yml 2>&1)
check "promtool check rules deploy/alerts.yml" [ $? -eq 0 ]
expect_match "every rule is found" "SUCCESS: [0-9]+ rules found" "$out"

out=$(promtool test rules tests/integration/alerts_rules_test.yml 2>&1)
rc=$?
check "promtool test rules: critical alerts fire above and stay quiet below their thresholds" [ $rc -eq 0 ]
[ $rc -eq 0 ] || diag "$out"

out=$(promtool check config deploy/prometheus.yml 2>&1)
check "promtool check config deploy/prometheus.yml" [ $? -eq 0 ]

# The guide's thresholds are the ones in the rules.
rules=$(cat deploy/alerts.yml)
expect_match "critical error rate is 5 %" "error_ratio_5m > 0\.05" "$rules"
expect_match "warning error rate is 1 %" "error_ratio_5m > 0\.01" "$rules"
expect_match "critical p99 is 1000 ms" "p99_5m > 1\b" "$rules"
expect_match "warning p95 is 500 ms" "p95_5m > 0\.5" "$rules"
expect_match "critical memory is 90 % of the limit" "\) > 0\.9" "$rules"
expect_match "a backup older than the guide's 1 h RPO and 15 minutes puts it at risk" "_seconds\) > 4500" "$rules"

# Loosen each critical threshold in a copy: the unit tests must then fail.
mkdir -p "$TEST_TMP/deploy" "$TEST_TMP/tests/integration"
cp tests/integration/alerts_rules_test.yml "$TEST_TMP/tests/integration/"
for mut in 's/error_ratio_5m > 0\.05/error_ratio_5m > 0.5/' 's/p99_5m > 1$/p99_5m > 10/' \
	's/\) > 0\.9$/) > 0.99/' 's/\[1h\]\) >= 2/[1h]) >= 3/' 's/_seconds\) > 4500$/_seconds) > 45000/'; do
	if ! sed -E "$mut" deploy/alerts.yml >"$TEST_TMP/deploy/alerts.yml"; then
		fail "mutation '$mut' applies"
		continue
	fi
	if cmp -s deploy/alerts.yml "$TEST_TMP/deploy/alerts.yml"; then
		fail "mutation '$mut' changes the rules"
		continue
	fi
	# The mutant must still be valid rules, and the unit tests must fail on an alert's expectation
	# (promtool names the alert), not on a file they cannot read or parse.
	if ! promtool check rules "$TEST_TMP/deploy/alerts.yml" >/dev/null 2>&1; then
		fail "mutation '$mut' leaves valid rules"
		continue
	fi
	out=$(promtool test rules "$TEST_TMP/tests/integration/alerts_rules_test.yml" 2>&1)
	if [ $? -ne 0 ] && grep -q "FAILED" <<<"$out" && grep -q "alertname:" <<<"$out"; then
		ok "unit tests catch the mutation '$mut' (an alert's expectation fails)"
	else
		fail "unit tests catch the mutation '$mut' (an alert's expectation fails)"
		diag "$(head -5 <<<"$out")"
	fi
done

done_testing
