# Shared by the engine's end-to-end tests (sourced after tests/lib.sh): a copy of the example fleet
# from specs/ with short probe periods, and helpers to run auriga against it under a test instance.

FLEET_INSTANCE=e2e-$TEST_NAME-$$
FLEET_STATE=$TEST_TMP/state
FLEET_SPECS=$TEST_TMP/specs

# make_fleet DIR [IMAGE] [DEADLINE_S]: the 25 nodes of specs/ (slim, two business groups,
# validators) and their Cluster and Jobs, with probes every second instead of every 5-30 s so a
# rollout takes seconds, the image set to IMAGE (default v1) and the progress deadline to
# DEADLINE_S (default 60).
make_fleet() {
	local dir=$1 image=${2:-auriga-demo-node:v1} deadline=${3:-60} f
	mkdir -p "$dir/nodes"
	cp "$TOP/specs/cluster.yaml" "$TOP/specs/jobs.yaml" "$dir/"
	for f in "$TOP"/specs/nodes/*.yaml; do
		sed -e "s|image: auriga-demo-node:.*|image: $image|" \
			-e 's/periodSeconds: [0-9]*/periodSeconds: 1/' \
			-e 's/timeoutSeconds: [0-9]*/timeoutSeconds: 1/' \
			-e "s/^  replicas: \([0-9]*\)/  replicas: \1\n  progressDeadlineSeconds: $deadline/" \
			"$f" >"$dir/nodes/$(basename "$f")"
	done
}

# set_image DIR DEPLOYMENT_FILE IMAGE: changes the image of the deployments in one file.
set_image() {
	sed -i -e "s|image: auriga-demo-node:.*|image: $3|" "$1/nodes/$2"
}

# auriga_engine CMD ARGS...: runs auriga with this test's instance, state and label.
auriga_engine() {
	local cmd=$1
	shift
	"$AURIGA_BIN" "$cmd" --instance "$FLEET_INSTANCE" --state-dir "$FLEET_STATE" \
		--label "$TEST_LABEL" "$@"
}

# fleet_ps [FORMAT]: this instance's containers, one a line.
FLEET_PS_FORMAT='{{.Names}} {{.State}} {{.Label "auriga.io/deployment"}} {{.Label "auriga.io/ordinal"}} {{.Label "auriga.io/revision"}}'
fleet_ps() {
	local format=$FLEET_PS_FORMAT
	[ $# -gt 0 ] && format=$1
	docker ps -a --filter "label=auriga.io/managed-by=$FLEET_INSTANCE" --format "$format"
}

fleet_count() { fleet_ps '{{.ID}}' | wc -l; }

# fleet_running_count DEPLOYMENT IMAGE: running containers of a deployment on an image.
fleet_running_count() {
	docker ps --filter "label=auriga.io/managed-by=$FLEET_INSTANCE" \
		--filter "label=auriga.io/deployment=$1" --format '{{.Image}}' | grep -cx "$2"
}
