#!/usr/bin/env bash
# The 25-node fleet from specs/ comes up from nothing with `auriga apply --repo` (a local specs
# repo made by hack/demo-repo.sh), in phase order, each container labelled with its deployment,
# ordinal, revision and commit; the note on the commit says Healthy 25/25; plan then says there is
# nothing to do. Phase order is checked against readiness: every node answers ready only
# DEMO_START_DELAY_MS after it started, so no container of a later group may be created before
# every node of the group before it could have become ready.
# run-tests: alone
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/fleet-lib.bash"

make_fleet "$FLEET_SPECS"
# Readiness comes a fixed time after start: a node cannot be ready earlier, whatever auriga probes.
DELAY_MS=3000
sed -i "s/^      NODE_TYPE: \(.*\)$/      NODE_TYPE: \1\n      DEMO_START_DELAY_MS: \"$DELAY_MS\"/" "$FLEET_SPECS"/nodes/*.yaml
expect_eq "every node deployment's nodes turn ready $DELAY_MS ms after they start" 4 \
	"$(cat "$FLEET_SPECS"/nodes/*.yaml | grep -c "DEMO_START_DELAY_MS: \"$DELAY_MS\"")"

out=$(auriga_engine plan "$FLEET_SPECS" 2>&1)
rc=$?
expect_eq "plan on an empty host exits 2 (changes)" 2 "$rc"
expect_match "plan creates 25 containers" "Plan: 25 to create, 0 to replace" "$out"

repo=$TEST_TMP/repo
commit=$("$TOP/hack/demo-repo.sh" "$repo" "$FLEET_SPECS")
expect_match "the demo repo has a commit" '^[0-9a-f]{40}$' "$commit"
start=$(date +%s%N)
out=$(auriga_engine apply --timeout-total 240 --repo "$repo/specs.git" --ref main 2>"$TEST_TMP/apply.err")
rc=$?
took=$(( ($(date +%s%N) - start) / 1000000 ))
expect_eq "apply converges (exit 0)" 0 "$rc"
[ "$rc" = 0 ] || { diag "$out" | tail -20; tail -20 "$TEST_TMP/apply.err" | while read -r l; do diag "$l"; done; }
diag "25 nodes up in $took ms"

expect_eq "25 containers of this instance" 25 "$(fleet_count)"
expect_eq "all running" 25 "$(fleet_ps '{{.State}}' | grep -cx running)"
for dep in slim:5 business-1:8 business-2:7 validators:5; do
	name=${dep%%:*} n=${dep##*:}
	expect_eq "$name has $n containers" "$n" \
		"$(fleet_ps '{{.Label "auriga.io/deployment"}}' | grep -cx "$name")"
	expect_eq "$name ordinals are 0..$((n - 1))" "$(seq 0 $((n - 1)) | tr '\n' ' ')" \
		"$(fleet_ps "{{.Label \"auriga.io/deployment\"}} {{.Label \"auriga.io/ordinal\"}}" |
			awk -v d="$name" '$1 == d {print $2}' | sort -n | tr '\n' ' ')"
	revs=$(fleet_ps "{{.Label \"auriga.io/deployment\"}} {{.Label \"auriga.io/revision\"}}" |
		awk -v d="$name" '$1 == d {print $2}' | sort -u)
	expect_match "$name runs one 64-digit revision" '^[0-9a-f]{64}$' "$revs"
done
# The revision validate computes from the specs is the one the engine labelled; validate must answer
# for the four node deployments, or the comparison would silently check nothing.
want=$("$AURIGA_BIN" validate --json "$FLEET_SPECS" |
	python3 -c 'import json,sys; m=json.load(sys.stdin)["model"]; print(" ".join(d["metadata"]["name"]+"="+d["revision"] for d in m["deployments"]))' 2>/dev/null)
expect_eq "validate --json lists the node deployments with their revisions" "business-1 business-2 slim validators" \
	"$(tr ' ' '\n' <<<"$want" | cut -d= -f1 | grep -vx api | sort | tr '\n' ' ' | sed 's/ $//')"
for pair in $want; do
	name=${pair%%=*} rev=${pair#*=}
	[ "$name" = api ] && continue
	got=$(fleet_ps "{{.Label \"auriga.io/deployment\"}} {{.Label \"auriga.io/revision\"}}" |
		awk -v d="$name" '$1 == d {print $2}' | sort -u)
	expect_eq "$name revision label is the spec's revision" "$rev" "$got"
done
expect_eq "every container carries the commit it came from" "$commit" \
	"$(fleet_ps '{{.Label "auriga.io/commit"}}' | sort -u)"
git -C "$repo/work" fetch -q origin 'refs/notes/*:refs/notes/*'
note=$(git -C "$repo/work" log -1 --format=%N --notes=auriga "$commit")
expect_match "the note on the commit says Healthy 25/25" "^auriga: Healthy 25/25 ready" "$note"
expect_match "the note lists the validators as healthy" "validators:" "$note"
expect_eq "auriga status reads the same note" 0 \
	"$("$AURIGA_BIN" status --repo "$repo/specs.git" --ref main >/dev/null 2>&1; echo $?)"
expect_eq "every container carries the managed-by label and the test label" 25 \
	"$(docker ps -q --filter "label=$TEST_LABEL" --filter "label=auriga.io/managed-by=$FLEET_INSTANCE" | wc -l)"
expect_eq "validators keep a named volume per ordinal" 5 \
	"$(docker volume ls -q --filter "label=auriga.io/managed-by=$FLEET_INSTANCE" | grep -c '^validators\.chain\.[0-4]\.[0-9a-f]\{10\}$')"
expect_eq "ports are published on 127.0.0.1 only" "" \
	"$(docker ps --filter "label=auriga.io/managed-by=$FLEET_INSTANCE" --format '{{.Ports}}' | grep -v '^127\.0\.0\.1:[0-9]*->9003/tcp$')"

# Phase order, by readiness: a group's first container is created only after every node of the
# group before it is ready (slim, then business-1, then business-2, which depends on it, then the
# validators). A node is ready no earlier than its start (Docker's StartedAt) plus
# DEMO_START_DELAY_MS, so a creation (Docker's Created) before that means auriga did not wait for
# readiness. The node's clock starts a little before Docker records StartedAt: 200 ms are allowed
# for that, far less than the delay a missing wait would show.
rows=$(docker ps --filter "label=auriga.io/managed-by=$FLEET_INSTANCE" -q |
	xargs docker inspect -f '{{index .Config.Labels "auriga.io/deployment"}} {{.Created}} {{.State.StartedAt}}')
order=$(python3 - "$rows" "$DELAY_MS" <<'PY'
import sys
from datetime import datetime, timezone
def ns(t):
    # RFC 3339 with up to nine fraction digits, in UTC as Docker writes it.
    whole, _, frac = t.rstrip("Z").partition(".")
    s = datetime.strptime(whole, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc).timestamp()
    return int(s) * 10**9 + int((frac + "000000000")[:9])
delay = int(sys.argv[2]) * 10**6
created, ready = {}, {}
for line in sys.argv[1].splitlines():
    d, c, s = line.split()
    created.setdefault(d, []).append(ns(c))
    ready.setdefault(d, []).append(ns(s) + delay)
groups = ["slim", "business-1", "business-2", "validators"]
print(" ".join("%s>%s:%d" % (a, b, (min(created[b]) - max(ready[a])) // 10**6)
               for a, b in zip(groups, groups[1:]) if a in ready and b in created))
PY
)
diag "first creation in a group minus the last readiness in the group before it (ms): $order"
for pair in slim:business-1 business-1:business-2 business-2:validators; do
	a=${pair%%:*} b=${pair#*:}
	gap=$(tr ' ' '\n' <<<"$order" | awk -F: -v k="$a>$b" '$1 == k {print $2}')
	check "no $b container was created before every $a node was ready (${gap:-no data} ms after)" \
		test "${gap:--9999}" -ge -200
done

out=$(auriga_engine plan "$FLEET_SPECS" 2>&1)
rc=$?
expect_eq "plan after apply exits 0" 0 "$rc"
expect_match "plan says no changes" "No changes" "$out"
ids_before=$(docker ps -a --no-trunc --filter "label=auriga.io/managed-by=$FLEET_INSTANCE" -q | sort)
out=$(auriga_engine apply --timeout-total 60 "$FLEET_SPECS" 2>/dev/null)
expect_eq "a second apply converges (exit 0)" 0 "$?"
expect_eq "a second apply touches no container (the same 25 container ids, all running)" \
	"$ids_before" "$(docker ps --no-trunc --filter "label=auriga.io/managed-by=$FLEET_INSTANCE" --filter "status=running" -q | sort)"
expect_eq "and there are 25 of them" 25 "$(wc -l <<<"$ids_before")"

done_testing
