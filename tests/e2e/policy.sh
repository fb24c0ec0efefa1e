#!/usr/bin/env bash
# The operator's policy against a committer: a specs repository whose commits each try one
# escalation (a privileged container, a host mount, the Docker socket, the host's network,
# `container:`, a capability, an image outside the allowed prefixes, the router's reload command and
# config path, a network auriga does not own). `auriga run` under a policy that allows none of them
# refuses each: the note on that commit names the field and the policy setting, and no container is
# created. Then the same commits pass with a policy file that allows them (`auriga validate`), and
# four of them run through `auriga apply` to a running container that has what it asked for: the
# refusals came from the policy.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../run-lib.bash"

INST=e2e-policy-$$
STATE=$TEST_TMP/state
LOG=$TEST_TMP/run.log
DENY=$TEST_TMP/deny-policy.yaml
ALLOW=$TEST_TMP/allow-policy.yaml
HOSTDIR=$TEST_TMP/hostdir
FOREIGN=auriga-e2e-foreign-$$
AP=$(free_port)
mkdir -p "$STATE" "$HOSTDIR"
echo "from the host" >"$HOSTDIR/marker"

for img in auriga-demo-node:v1 auriga:latest; do
	docker image inspect "$img" >/dev/null 2>&1 || { fail "image $img present (hack/build-images.sh, make image)"; exit 1; }
done
# A network someone else made: auriga may join it only when the policy lists it.
docker network create --label "$TEST_LABEL" --label owner=someone-else "$FOREIGN" >/dev/null

# The policy that allows nothing but the demo images (every other setting is the built-in deny).
cat >"$DENY" <<EOF
images: {prefixes: ["auriga-demo-node:"]}
EOF
# The policy that allows every escalation the commits below ask for.
cat >"$ALLOW" <<EOF
privileged: true
hostPaths: [$TEST_TMP, /var/run/docker.sock]
hostNetwork: true
containerNetwork: true
networks: [$FOREIGN]
capabilities: [NET_ADMIN]
images: {prefixes: ["auriga-demo-node:", "auriga:"]}
router:
  configPath: [/etc/nginx/conf.d/auriga.conf, $TEST_TMP/cron-auriga]
  reloadCommand: [[nginx, -s, reload], [sh, -c, "id > $TEST_TMP/pwned"]]
EOF

# The specs repository: $REMOTE, and $WORK that pushes to it.
specs_repo

# write_case ROUTER_LINES TEMPLATE_LINES [IMAGE]: the Cluster (with ROUTER_LINES under spec.router)
# and one Deployment "esc" whose template takes TEMPLATE_LINES.
write_case() {
	{
		printf 'apiVersion: auriga.io/v1\nkind: Cluster\nmetadata: {name: policy-e2e}\nspec:\n'
		if [ -n "$1" ]; then printf '  router:\n%s\n' "$1"; else printf '  roleOrder: [app]\n'; fi
	} >"$WORK/cluster.yaml"
	cat >"$WORK/esc.yaml" <<EOF
apiVersion: auriga.io/v1
kind: Deployment
metadata: {name: esc}
spec:
  role: app
  replicas: 1
  progressDeadlineSeconds: 60
  template:
    image: ${3:-auriga-demo-node:v1}
$2
EOF
}

# problems COMMIT: what the note on COMMIT says went wrong: the problems of a refused commit, its
# source error and every deployment's last error, as plain text ("" while there is no note).
problems() {
	git --git-dir="$REMOTE" notes --ref=auriga show "$1" 2>/dev/null | python3 -c '
import sys, yaml
text = sys.stdin.read()
if not text:
    sys.exit(0)
doc = yaml.safe_load(text.split("\n", 1)[1]) or {}
for p in doc.get("problems") or []:
    print(p)
print((doc.get("source") or {}).get("lastError") or "")
for d in (doc.get("deployments") or {}).values():
    print((d or {}).get("lastError") or "")
'
}
names() { problems "$1" | grep -qF -- "$2"; }
instance_containers() { docker ps -aq --filter "label=auriga.io/managed-by=$INST" | wc -l; }

# The cases, one a line: name|router lines|template lines|image|the field and the policy setting the
# note must name. Last: foreign-network loads (the network's owner is known only on the engine), and
# the engine refuses it.
NAMES=() ROUTERS=() TMPLS=() IMAGES=() FIELDS=() SETTINGS=()
while IFS='|' read -r name router tmpl image field setting; do
	NAMES+=("$name") ROUTERS+=("$router") TMPLS+=("$tmpl") IMAGES+=("$image") FIELDS+=("$field")
	SETTINGS+=("$setting")
done <<EOF
privileged||    privileged: true||spec.template.privileged|(privileged: false in $DENY)
host-mount||    volumes: [{name: host, mountPath: /host, hostPath: $HOSTDIR, readOnly: true}]||spec.template.volumes[0].hostPath|(not under hostPaths in $DENY)
docker-socket||    volumes: [{name: sock, mountPath: /var/run/docker.sock, hostPath: /var/run/docker.sock}]||spec.template.volumes[0].hostPath|Docker socket, and hostPaths in $DENY does not name it exactly
host-network||    network: host||spec.template.network|(hostNetwork: false in $DENY)
container-network||    network: "container:auriga"||spec.template.network|(containerNetwork: false in $DENY)
capability||    capabilities: {add: [NET_ADMIN]}||spec.template.capabilities.add[0]|(not in capabilities in $DENY)
image|||auriga:latest|spec.template.image|(no prefix in images in $DENY matches it)
reload-command|    reloadCommand: [sh, -c, "id > $TEST_TMP/pwned"]|||spec.router.reloadCommand|(not listed in router.reloadCommand in $DENY)
config-path|    configPath: $TEST_TMP/cron-auriga|||spec.router.configPath|(not listed in router.configPath in $DENY)
foreign-network||    network: $FOREIGN||network '$FOREIGN' is not auriga's|(not listed in networks in $DENY)
EOF

# --- the daemon under the policy that allows none of it -------------------------------------------
"$AURIGA_BIN" run --repo "file://$REMOTE" --state-dir "$STATE" --instance "$INST" \
	--extra-labels "$TEST_LABEL" --listen "127.0.0.1:$AP" --poll-interval 1s --policy-file "$DENY" \
	>"$LOG" 2>&1 &
run_pid=$!
on_exit "kill -TERM $run_pid 2>/dev/null; wait $run_pid 2>/dev/null"

COMMITS=()
for i in "${!NAMES[@]}"; do
	write_case "${ROUTERS[$i]}" "${TMPLS[$i]}" "${IMAGES[$i]}"
	c=$(commit "escalation: ${NAMES[$i]}")
	COMMITS+=("$c")
	if wait_for 60 names "$c" "${SETTINGS[$i]}"; then
		ok "${NAMES[$i]}: refused, the note on ${c:0:12} names the policy setting"
	else
		fail "${NAMES[$i]}: refused, the note on ${c:0:12} names the policy setting"
		diag "note: $(problems "$c" | head -5)"
		tail -n 5 "$LOG" | while read -r l; do diag "$l"; done
	fi
	check "${NAMES[$i]}: the note names the field ${FIELDS[$i]}" names "$c" "${FIELDS[$i]}"
	expect_eq "${NAMES[$i]}: no container created" 0 "$(instance_containers)"
done
first=$(git --git-dir="$REMOTE" notes --ref=auriga show "${COMMITS[0]}" 2>/dev/null | head -1)
expect_match "a refused commit's note says so on its first line" '^auriga: Refused 0/0 ready' "$first"
check "the reload command never ran" test ! -e "$TEST_TMP/pwned"
check "the router's file was never written" test ! -e "$TEST_TMP/cron-auriga"
kill -TERM "$run_pid" 2>/dev/null
wait "$run_pid" 2>/dev/null
expect_eq "after every escalation: still no container of this instance" 0 "$(instance_containers)"
expect_eq "no network made by this instance" "" \
	"$(docker network ls -q --filter "label=auriga.io/managed-by=$INST")"

# --- the same commits under a policy that allows them ---------------------------------------------
CHECKOUT=$TEST_TMP/checkout
for i in "${!NAMES[@]}"; do
	rm -rf "$CHECKOUT"
	mkdir -p "$CHECKOUT"
	git --git-dir="$REMOTE" archive "${COMMITS[$i]}" | tar -x -C "$CHECKOUT"
	out=$("$AURIGA_BIN" validate --policy-file "$ALLOW" "$CHECKOUT" 2>&1)
	rc=$?
	expect_eq "${NAMES[$i]}: the same commit validates under the allowing policy" 0 "$rc"
	[ "$rc" = 0 ] || diag "$out"
	out=$("$AURIGA_BIN" validate --policy-file "$DENY" "$CHECKOUT" 2>&1)
	if [ "${NAMES[$i]}" = foreign-network ]; then
		expect_match "${NAMES[$i]}: validate cannot see whose the network is (the engine refuses it)" '^valid: ' "$out"
	else
		check "${NAMES[$i]}: validate refuses it under the denying policy too" grep -qF -- "${FIELDS[$i]}" <<<"$out"
	fi
done

# apply_case NAME: applies that commit's specs under the allowing policy; prints esc's container.
apply_case() {
	local i
	for i in "${!NAMES[@]}"; do [ "${NAMES[$i]}" = "$1" ] && break; done
	rm -rf "$CHECKOUT"
	mkdir -p "$CHECKOUT"
	git --git-dir="$REMOTE" archive "${COMMITS[$i]}" | tar -x -C "$CHECKOUT"
	"$AURIGA_BIN" apply --instance "$INST" --state-dir "$STATE" --label "$TEST_LABEL" --policy-file "$ALLOW" \
		--timeout-total 120 "$CHECKOUT" >"$TEST_TMP/apply-$1.out" 2>&1 || {
		tail -n 5 "$TEST_TMP/apply-$1.out" | while read -r l; do diag "$l"; done
		return 1
	}
	docker ps -q --filter "label=auriga.io/managed-by=$INST" --filter "label=auriga.io/deployment=esc" | head -1
}

cid=$(apply_case privileged)
expect_eq "privileged, allowed: the container runs privileged" "true running" \
	"$(docker inspect -f '{{.HostConfig.Privileged}} {{.State.Status}}' "$cid" 2>/dev/null)"
cid=$(apply_case capability)
expect_eq "capability, allowed: the container runs with NET_ADMIN added" "[NET_ADMIN] running" \
	"$(docker inspect -f '{{.HostConfig.CapAdd}} {{.State.Status}}' "$cid" 2>/dev/null)"
cid=$(apply_case host-mount)
expect_eq "host mount, allowed: the host folder is mounted read-only" "$HOSTDIR:/host:false running" \
	"$(docker inspect -f '{{range .Mounts}}{{.Source}}:{{.Destination}}:{{.RW}}{{end}} {{.State.Status}}' "$cid" 2>/dev/null)"
cid=$(apply_case foreign-network)
expect_match "foreign network, allowed: the container joins it" "$FOREIGN" \
	"$(docker inspect -f '{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}{{.State.Status}}' "$cid" 2>/dev/null)"
expect_eq "the foreign network is left as it was" "someone-else/" \
	"$(docker network inspect -f '{{.Labels.owner}}/{{index .Labels "auriga.io/managed-by"}}' "$FOREIGN")"

done_testing
