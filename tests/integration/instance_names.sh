#!/usr/bin/env bash
# Names on one engine carry the instance (name-prefix): two instances applying the same specs, with
# the same deployment and network names, both converge side by side, their containers and networks
# named apart (`<instance>-<deployment>-<ordinal>`, `<instance>-<network>`), and the second's apply
# does nothing to the first's containers (Docker's events, container ids and start times). A fleet
# made with no prefix (the names auriga gave before) is adopted by its labels when the prefix
# comes: nothing restarts, and only the containers of the next revision get the new names, on the
# network the fleet already had. A bad prefix is refused, naming the setting and where it came from.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../run-lib.bash"

need_images v1
engine_instance names
A=$INST-a
B=$INST-b
C=$INST-c
DEP=nmweb$$
NET=nmnet$$

# run INSTANCE CMD ARGS...: `auriga CMD` as INSTANCE, with its own state folder, labelled as this run's.
run() {
	local inst=$1 cmd=$2
	shift 2
	mkdir -p "$STATE/$inst"
	"$AURIGA_BIN" "$cmd" --instance "$inst" --state-dir "$STATE/$inst" --extra-labels "$TEST_LABEL" "$@"
}
# apply INSTANCE ARGS...: a converging apply of the specs folder; its status in $arc.
apply() {
	local inst=$1
	shift
	run "$inst" apply --timeout-total 60 "$@" "$SPECS" >"$TEST_TMP/apply.out" 2>"$TEST_TMP/apply.err"
	arc=$?
	[ "$arc" = 0 ] || tail -5 "$TEST_TMP/apply.err" | while read -r l; do diag "$l"; done
}
# fleet INSTANCE [FORMAT]: the instance's containers, one line each (default: id, name, start), sorted.
FLEET_FORMAT='{{.Id}} {{.Name}} {{.State.StartedAt}} {{.State.Running}}'
fleet() {
	local ids
	ids=$(docker ps -aq --filter "label=auriga.io/managed-by=$1" --filter "label=$TEST_LABEL")
	[ -n "$ids" ] || return 0
	docker inspect -f "${2:-$FLEET_FORMAT}" $ids | sed 's|/||' | sort
}
names() { fleet "$1" '{{.Name}}' | tr -d / | sort | paste -sd' ' -; }
# net_members NETWORK: the names of the containers on a network, sorted.
net_members() {
	docker network inspect -f '{{range .Containers}}{{.Name}} {{end}}' "$1" 2>/dev/null | tr ' ' '\n' |
		sed '/^$/d' | sort | paste -sd' ' -
}
net_owner() { docker network inspect -f '{{index .Labels "auriga.io/managed-by"}}' "$1" 2>/dev/null; }

write_specs() { # ENV_VALUE
	cat >"$SPECS/web.yaml" <<EOF
apiVersion: auriga.io/v1
kind: Deployment
metadata: {name: $DEP}
spec:
  replicas: 2
  progressDeadlineSeconds: 90
  template:
    image: auriga-demo-node:v1
    env: {RELEASE: "$1"}
    network: $NET
    ports: [{name: http, containerPort: 9003}]
  probes:
    readiness: {httpGet: {path: /q/health/ready, port: http}, periodSeconds: 1, timeoutSeconds: 1, failureThreshold: 2}
EOF
}
write_specs one

# 1. Two instances, the same specs: both converge, named apart.
apply "$A"
expect_eq "instance A converges" 0 "$arc"
a_before=$(fleet "$A")
t0=$(date +%s.%N)
apply "$B"
expect_eq "instance B converges beside A, with the same deployment and network names" 0 "$arc"
t1=$(date +%s.%N)
expect_eq "A's containers carry its name" "$A-$DEP-0 $A-$DEP-1" "$(names "$A")"
expect_eq "B's containers carry its name" "$B-$DEP-0 $B-$DEP-1" "$(names "$B")"
expect_eq "both fleets run" "true true true true" \
	"$(for i in "$A" "$B"; do fleet "$i" '{{.State.Running}}'; done | paste -sd' ' -)"
expect_eq "B's apply left A's containers as they were (ids and start times)" "$a_before" "$(fleet "$A")"
# The containers' lifecycle events: Docker's own health checks of the image (exec_*) run anyway.
expect_eq "and Docker saw nothing happen to A's containers meanwhile" "" \
	"$(docker events --since "$t0" --until "$t1" --filter type=container --filter "label=auriga.io/managed-by=$A" \
		$(printf -- '--filter event=%s ' create start restart stop kill die destroy rename update pause) \
		--format '{{.Action}} {{.Actor.Attributes.name}}')"
expect_eq "each instance has its own network" "$A/$B" "$(net_owner "$A-$NET")/$(net_owner "$B-$NET")"
expect_eq "A's network holds A's containers alone (no alias of B's answers there)" "$A-$DEP-0 $A-$DEP-1" \
	"$(net_members "$A-$NET")"
expect_eq "B's network holds B's containers alone" "$B-$DEP-0 $B-$DEP-1" "$(net_members "$B-$NET")"
check "no network has the spec's name alone" test -z "$(docker network ls -q --filter "name=^$NET\$")"
aliases=$(docker inspect -f "{{range \$k, \$v := .NetworkSettings.Networks}}{{\$k}}:{{join \$v.Aliases \",\"}}{{end}}" \
	"$B-$DEP-1" 2>/dev/null)
expect_match "on its network a replica answers to the deployment and <deployment>-<ordinal>" \
	"^$B-$NET:.*$DEP,$DEP-1" "$aliases"
expect_eq "its hostname is <deployment>-<ordinal>, as before" "$DEP-1" \
	"$(docker inspect -f '{{.Config.Hostname}}' "$B-$DEP-1" 2>/dev/null)"

# 2. A bad prefix is refused before anything is made, naming the setting and its source.
out=$(run "$INST-bad" apply --name-prefix 'bad/prefix' --timeout-total 30 "$SPECS" 2>&1)
rc=$?
check "a prefix with a '/' is refused (exit $rc)" test "$rc" -ne 0
expect_match "the error names the flag and the setting" \
	"--name-prefix: name-prefix: must be empty or 1 to 63 of \[a-zA-Z0-9_.-\]" "$out"
out=$(AURIGA_NAME_PREFIX=-x run "$INST-bad" apply --timeout-total 30 "$SPECS" 2>&1)
expect_match "from the environment too" "AURIGA_NAME_PREFIX: name-prefix: must be empty" "$out"
printf 'name-prefix: "%s"\n' "$(printf 'p%.0s' {1..64})" >"$TEST_TMP/settings.yml"
out=$(run "$INST-bad" apply --config "$TEST_TMP/settings.yml" --timeout-total 30 "$SPECS" 2>&1)
expect_match "and from the settings file, with its line (64 characters)" \
	"settings.yml:1:[0-9]+: name-prefix: must be empty" "$out"
expect_eq "nothing was made for the refused instance" "" "$(names "$INST-bad")"

# 3. Adoption: a fleet made with no prefix, then the default prefix.
apply "$C" --name-prefix=
expect_eq "with an empty prefix C converges" 0 "$arc"
expect_eq "its containers have the unprefixed names" "$DEP-0 $DEP-1" "$(names "$C")"
expect_eq "and its network the spec's name" "$C" "$(net_owner "$NET")"
c_before=$(fleet "$C")
run "$C" plan "$SPECS" >"$TEST_TMP/plan.out" 2>&1
expect_eq "under the default prefix the plan finds nothing to change" 0 "$?"
apply "$C"
expect_eq "under the default prefix C converges" 0 "$arc"
expect_eq "nothing restarted or was replaced (ids, names and start times)" "$c_before" "$(fleet "$C")"
check "no network of the new name was made for it" test -z "$(docker network ls -q --filter "name=^$C-$NET\$")"

write_specs two
apply "$C"
expect_eq "the next revision converges" 0 "$arc"
new=$(names "$C")
expect_match "its containers get the new names" "^$C-$DEP-0(-[0-9a-f]{6})? $C-$DEP-1(-[0-9a-f]{6})?\$" "$new"
expect_eq "on the network the fleet had, which stays the instance's" "$C $new" "$(net_owner "$NET") $(net_members "$NET")"
check "and none of the new name was made for them" test -z "$(docker network ls -q --filter "name=^$C-$NET\$")"
expect_eq "A's and B's fleets are still as they were" "$a_before" "$(fleet "$A")"

done_testing
