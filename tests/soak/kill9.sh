#!/usr/bin/env bash
# kill -9 at random moments of a rollout: after each kill, a fresh `auriga apply` converges with
# exactly one container per ordinal at the desired revision, nothing left over, and the Recreate
# deployment's per-ordinal volumes kept. KILL9_RUNS rounds (default 12), images alternating.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../e2e/fleet-lib.bash"

runs=${KILL9_RUNS:-12}
mkdir -p "$FLEET_SPECS"
rolling='    type: RollingUpdate
    rollingUpdate: {maxUnavailable: 1, maxSurge: 1}'
volume='    volumes:
      - {name: data, mountPath: /data, perReplica: true}'
write_specs() { # IMAGE
	{
		demo_deployment nodes business 4 "$1" 120 "$rolling"
		echo ---
		demo_deployment chain validator 4 "$1" 120 '    type: Recreate' "$volume"
	} >"$FLEET_SPECS/fleet.yaml"
}

# converged IMAGE: one running container per ordinal of each deployment, on IMAGE, nothing else.
converged() {
	local image=$1 dep n want got
	for dep in nodes:4 chain:4; do
		n=${dep##*:}
		want=$(seq 0 $((n - 1)) | tr '\n' ' ')
		got=$(fleet_ps "{{.Label \"auriga.io/deployment\"}} {{.Label \"auriga.io/ordinal\"}} {{.State}}" |
			awk -v d="${dep%%:*}" '$1 == d && $3 == "running" {print $2}' | sort -n | tr '\n' ' ')
		[ "$got" = "$want" ] || { diag "${dep%%:*}: ordinals running '$got', want '$want'"; return 1; }
		[ "$(fleet_running_count "${dep%%:*}" "$image")" = "$n" ] || { diag "${dep%%:*}: not all on $image"; return 1; }
	done
	[ "$(fleet_count)" = 8 ] || { diag "$(fleet_count) containers, want 8:"; diag "$(fleet_ps)"; return 1; }
	# Volume names end in a hash of the instance, deployment, volume and ordinal: compare without it.
	[ "$(docker volume ls -q --filter "label=auriga.io/managed-by=$FLEET_INSTANCE" | sed 's/\.[0-9a-f]\{10\}$//' |
		sort | tr '\n' ' ')" = "chain.data.0 chain.data.1 chain.data.2 chain.data.3 " ] ||
		{ diag "volumes wrong"; return 1; }
}

write_specs auriga-demo-node:v1
auriga_engine apply --timeout-total 180 "$FLEET_SPECS" >/dev/null 2>&1
expect_eq "the fleet comes up" 0 $?

for i in $(seq 1 "$runs"); do
	image=auriga-demo-node:v$(( i % 2 == 1 ? 2 : 1 ))
	write_specs "$image"
	auriga_engine apply --timeout-total 180 "$FLEET_SPECS" >/dev/null 2>&1 &
	pid=$!
	delay=$(python3 -c 'import random; print(round(random.uniform(0.2, 6.0), 2))')
	sleep "$delay"
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	before=$(fleet_count)
	auriga_engine apply --timeout-total 180 "$FLEET_SPECS" >"$TEST_TMP/after.$i" 2>&1
	rc=$?
	expect_eq "run $i: killed after ${delay}s ($before containers then), apply converges on $image" 0 "$rc"
	check "run $i: one container per ordinal on $image, no duplicate or orphan" converged "$image"
done

done_testing
