#!/usr/bin/env bash
# Hostile specs from someone who can push: 1 MB of `command: [{},{},...]` (at most 1,000
# diagnostics, then one line counting the rest, within a memory and time bound), a folder and a
# commit over the loader's limits (refused with a clear error; `auriga run` stays up on it, and
# after a restart too), envFiles through a link out of the specs (`lnk/passwd` with lnk -> /etc,
# refused with file, line and field, in folder and in repo mode), and env values that a plan and
# apply's log name as changed, never show.
. "$(dirname "$0")/../lib.sh"

INST=it-hostile-$$
STATE=$TEST_TMP/state
mkdir -p "$STATE"

# Under AddressSanitizer (make SANITIZE=1) freed memory is held in quarantine and every byte has
# shadow: the memory bounds are scaled by this factor there.
mem_factor=1
grep -q __asan_init "$AURIGA_BIN" && mem_factor=3

# measure NAME CMD...: runs CMD with GNU time; stderr in $TEST_TMP/NAME.err, the status in $mrc,
# the peak RSS (KiB) in $rss and the wall time (s) in $secs.
measure() {
	local name=$1
	shift
	/usr/bin/time -f '%M %e' -o "$TEST_TMP/$name.time" "$@" >"$TEST_TMP/$name.out" 2>"$TEST_TMP/$name.err"
	mrc=$?
	read -r rss secs < <(tail -n 1 "$TEST_TMP/$name.time")
	diag "$name: status $mrc, max RSS $rss KiB, $secs s"
}
# cmd_list NAME N: a Deployment whose command is N empty mappings (each one a diagnostic).
cmd_list() {
	printf 'apiVersion: auriga.io/v1\nkind: Deployment\nmetadata: {name: %s}\nspec:\n  replicas: 1\n' "$1"
	printf '  template:\n    image: x\n    command: ['
	python3 -c "import sys; sys.stdout.write(','.join(['{}'] * $2))"
	printf ']\n'
}

# --- 1 MB of command: [{},{},...]: 320,000 errors, 1,000 shown --------------------------------
mkdir -p "$TEST_TMP/big"
for i in 1 2 3 4; do
	cmd_list "web$i" 80000
	[ "$i" -lt 4 ] && echo '---'
done >"$TEST_TMP/big/commands.yaml"
measure commands "$AURIGA_BIN" validate "$TEST_TMP/big/commands.yaml"
expect_eq "1 MB of command: [{},...]: status 1" 1 "$mrc"
expect_eq "1 MB of command: [{},...]: 1,000 errors and one line for the rest" 1001 \
	"$(wc -l <"$TEST_TMP/commands.err")"
expect_eq "the closing line counts the rest" "... and 319,000 more errors" "$(tail -n 1 "$TEST_TMP/commands.err")"
expect_match "each shown error names file, line, column and field" \
	'commands\.yaml:8:15: Deployment/web1: spec\.template\.command\[0\]: must be a string, got a mapping' \
	"$(head -n 1 "$TEST_TMP/commands.err")"
# Before the cap: 126 MB and 1.3 s on this input; now about 35 MB and 0.3 s.
check "1 MB of command: [{},...]: under $((80 * mem_factor)) MB of memory ($rss KiB)" \
	test "$rss" -lt $((81920 * mem_factor))
check "1 MB of command: [{},...]: under 30 s ($secs s)" awk -v s="$secs" 'BEGIN { exit !(s < 30) }'
out=$("$AURIGA_BIN" validate --json "$TEST_TMP/big/commands.yaml" 2>/dev/null)
expect_eq "--json: 1,000 errors and moreErrors 319000" "1000 319000" \
	"$(jq -r '"\(.errors | length) \(.moreErrors)"' <<<"$out")"

# --- a folder past the loader's limits over all files ------------------------------------------
mkdir -p "$TEST_TMP/many"
for i in $(seq -w 1 20); do
	sed "s/name: web\([0-9]\)/name: w$i-\1/" "$TEST_TMP/big/commands.yaml" >"$TEST_TMP/many/f$i.yaml"
done
measure many "$AURIGA_BIN" validate "$TEST_TMP/many"
expect_eq "20 MB of specs: status 1" 1 "$mrc"
check "the node bound over all files is named" \
	grep -q 'f07.yaml:[0-9]*:[0-9]*: more nodes than the [0-9]* left of the limit for all the files together' \
	"$TEST_TMP/many.err"
check "the byte bound over all files is named" \
	grep -qx '.*/f20.yaml: the spec files together pass the limit of 16777216 bytes' "$TEST_TMP/many.err"
check "20 MB of specs: under $((200 * mem_factor)) MB of memory ($rss KiB)" test "$rss" -lt $((204800 * mem_factor))

# --- a commit past the loader's limits: `auriga run` stays up, and after a restart ------------
REPO=$TEST_TMP/repo
git init -q -b main "$REPO"
gitc() { git -C "$REPO" -c user.name=t -c user.email=t@example.com "$@"; }
printf 'apiVersion: auriga.io/v1\nkind: Cluster\nmetadata: {name: c}\nspec: {}\n' >"$REPO/cluster.yaml"
for i in $(seq -w 1 20); do cp "$TEST_TMP/many/f$i.yaml" "$REPO/"; done
gitc add -A
gitc commit -qm "20 MB of specs"
big=$(git -C "$REPO" rev-parse HEAD)

PORT=$(free_port)
RSTATE=$TEST_TMP/run-state
start_run() {
	"$AURIGA_BIN" run --repo "$REPO" --state-dir "$RSTATE" --instance "$INST-r" --extra-labels "$TEST_LABEL" \
		--poll-interval 1s --listen "127.0.0.1:$PORT" >>"$TEST_TMP/run.log" 2>&1 &
	pid=$!
	on_exit "kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null"
}
refused() { [ "$(grep -c 'the specs at this commit do not load' "$TEST_TMP/run.log")" -ge "$1" ]; }
live() { curl -sf --max-time 5 "http://127.0.0.1:$PORT/healthz" >/dev/null; }
start_run
if wait_for 60 refused 1; then ok "run: the commit past the limits is refused"; else fail "run: the commit past the limits is refused"; fi
check "run: the error says which limit" grep -q "problems in the specs\|pass the limit" "$TEST_TMP/run.log"
check "run: still up and answering after the refusal" wait_for 20 live
sleep 3
expect_eq "run: the refused commit is not read again at each poll (1 s)" 1 \
	"$(grep -c 'the specs at this commit do not load' "$TEST_TMP/run.log")"
kill -TERM "$pid"
wait "$pid"
expect_eq "run: SIGTERM stops it with status 0" 0 "$?"
start_run
if wait_for 60 refused 2; then ok "run after a restart: the commit is refused again"; else fail "run after a restart: the commit is refused again"; fi
sleep 2
check "run after a restart: still up and answering" wait_for 20 live
check "run after a restart: the process lives" kill -0 "$pid"
kill -TERM "$pid"
wait "$pid"
check "no container was made for the refused commit" \
	test -z "$(docker ps -aq --filter "label=auriga.io/managed-by=$INST-r")"
diag "refused commit $big"

# --- envFiles through a link out of the specs ---------------------------------------------------
SPECS=$TEST_TMP/specs
mkdir -p "$SPECS"
ln -s /etc "$SPECS/lnk"
cat >"$SPECS/web.yaml" <<EOF
apiVersion: auriga.io/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 1
  template:
    image: auriga-demo-node:v1
    envFiles: [lnk/passwd]
EOF
run() {
	local cmd=$1
	shift
	"$AURIGA_BIN" "$cmd" --instance "$INST" --state-dir "$STATE" --label "$TEST_LABEL" "$@"
}
out=$(run plan "$SPECS" 2>&1)
expect_eq "folder: plan with envFiles through lnk -> /etc fails (status 1)" 1 "$?"
expect_match "folder: the error names file, line, column and field, and the link" \
	"web\\.yaml:8:16: Deployment/web: spec\\.template\\.envFiles\\[0\\]: env file 'lnk/passwd': 'lnk' is a symbolic link" \
	"$out"
check "folder: nothing of /etc/passwd is shown" bash -c "! grep -q 'root:' <<<'$out'"

# In repo mode env files are named from the repository root: the specs in specs/, the link beside.
ER=$TEST_TMP/env-repo
git init -q -b main "$ER"
mkdir -p "$ER/specs"
cp "$SPECS/web.yaml" "$ER/specs/"
ln -s /etc "$ER/lnk"
git -C "$ER" add -A
git -C "$ER" -c user.name=t -c user.email=t@example.com commit -qm "envFiles through a link"
out=$(run plan --repo "$ER" --specs-path specs 2>&1)
expect_eq "repo: plan with envFiles through a committed link fails (status 1)" 1 "$?"
expect_match "repo: the error names file, line, column and field" \
	"specs/web\\.yaml:8:16: Deployment/web: spec\\.template\\.envFiles\\[0\\]: env file 'lnk/passwd' is not in commit" "$out"
check "repo: nothing of /etc/passwd is shown" bash -c "! grep -q 'root:' <<<'$out'"

# --- env values in plans and logs: named as changed, never shown ------------------------------
rm "$SPECS/lnk"
mkdir -p "$SPECS/conf"
printf 'DB_PASSWORD=first-v4lue-xyzzy\n' >"$SPECS/conf/db.env"
sed -i 's|envFiles: \[lnk/passwd\]|envFiles: [conf/db.env]\n    env: {API_TOKEN: t0ken-one-plugh}|' "$SPECS/web.yaml"
run apply --timeout-total 120 "$SPECS" >"$TEST_TMP/apply1.out" 2>"$TEST_TMP/apply1.err"
expect_eq "apply with the first values" 0 "$?"
printf 'DB_PASSWORD=second-v4lue-xyzzy\n' >"$SPECS/conf/db.env"
sed -i 's|API_TOKEN: t0ken-one-plugh|API_TOKEN: t0ken-two-plugh|' "$SPECS/web.yaml"
text=$(run plan "$SPECS" 2>&1)
expect_eq "plan: a change (status 2)" 2 "$?"
check "plan: DB_PASSWORD named as changed" grep -qx '      env: DB_PASSWORD changed' <<<"$text"
check "plan: API_TOKEN named as changed" grep -qx '      env: API_TOKEN changed' <<<"$text"
check "plan: no value shown, old or new" bash -c "! grep -qE 'xyzzy|plugh' <<<'$text'"
json=$(run plan --json "$SPECS" 2>/dev/null)
expect_eq "plan --json: the diff names the variables" '["env: API_TOKEN changed","env: DB_PASSWORD changed"]' \
	"$(jq -c '[.phases[].deployments[].diff[]] | sort' <<<"$json")"
check "plan --json: no value shown, old or new" bash -c "! grep -qE 'xyzzy|plugh' <<<'$json'"
run apply --timeout-total 120 "$SPECS" >"$TEST_TMP/apply2.out" 2>"$TEST_TMP/apply2.err"
expect_eq "apply with the second values" 0 "$?"
check "apply's output and log show no value" bash -c "! cat '$TEST_TMP'/apply*.out '$TEST_TMP'/apply*.err | grep -qE 'xyzzy|plugh'"
check "the container has the new value (the change was carried out)" bash -c \
	"docker inspect -f '{{range .Config.Env}}{{println .}}{{end}}' \$(docker ps -q --filter label=auriga.io/managed-by=$INST) | grep -qx DB_PASSWORD=second-v4lue-xyzzy"

done_testing
