#!/usr/bin/env bash
# What used to pass `auriga validate` and fail only when run is refused when the specs load, by
# validate, plan, apply and run alike, at its file, line and field: a Job's template.network (a Job
# runs on the network of the deployment it runs for), a Cluster's router.container (NGINX is
# reloaded by a command only), an analysis scrape selector that does not parse, and envFiles, which
# validate now opens as apply does (beneath the specs folder, no link at any component, a regular
# file of at most 1 MiB, KEY=value lines), every bad entry reported in one run. `auriga run` notes
# the refusal on the commit it refuses and creates nothing.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../run-lib.bash"

engine_instance loadref

# validate_out NAME ARGS...: runs `auriga validate ARGS` (at most 30 s); stderr in $TEST_TMP/NAME.err,
# the status in $vrc.
validate_out() {
	local name=$1
	shift
	timeout 30 "$AURIGA_BIN" validate "$@" >"$TEST_TMP/$name.out" 2>"$TEST_TMP/$name.err"
	vrc=$?
}

# --- a Job's network ------------------------------------------------------------------------------
job_yaml() {
	cat <<EOF
apiVersion: auriga.io/v1
kind: Job
metadata: {name: smoke}
spec:
  template:
    image: auriga-demo-node:v1
    command: [/demo-node, probe, /q/health/ready]
    network: $1
EOF
}
JOBLINE='jobs\.yaml:8:14: Job/smoke: spec\.template\.network: "[^"]*" refused: a Job runs on the network of the deployment it runs for'
n=0
for net in backend host '"container:auriga"'; do
	n=$((n + 1))
	job_yaml "$net" >"$SPECS/jobs.yaml"
	validate_out "job-$n" "$SPECS"
	expect_eq "validate: a Job on network $net is refused (status 1)" 1 "$vrc"
	expect_match "validate: the Job's network $net is named at its file, line and field" \
		"^$SPECS/$JOBLINE" "$(cat "$TEST_TMP/job-$n.err")"
	expect_eq "validate: one error for network $net, not the policy's too" 1 "$(wc -l <"$TEST_TMP/job-$n.err")"
done
out=$(auriga_cmd plan "$SPECS" 2>&1)
expect_eq "plan: the Job's network is refused (status 1)" 1 "$?"
expect_match "plan: at its file, line and field" "$JOBLINE" "$out"
out=$(auriga_cmd apply --timeout-total 30 "$SPECS" 2>&1)
expect_eq "apply: the Job's network is refused (status 1)" 1 "$?"
expect_match "apply: at its file, line and field" "$JOBLINE" "$out"
sed -i '/network:/d' "$SPECS/jobs.yaml"
validate_out job-none "$SPECS"
expect_eq "validate: the same Job without a network is valid" 0 "$vrc"

# --- a Cluster's router.container --------------------------------------------------------------
printf 'apiVersion: auriga.io/v1\nkind: Cluster\nmetadata: {name: c}\nspec:\n  router: {container: edge-nginx}\n' \
	>"$SPECS/cluster.yaml"
printf 'router:\n  container: [edge-nginx]\n' >"$TEST_TMP/policy-container.yaml"
validate_out container "$SPECS"
expect_eq "validate: a router container the policy does not list is refused (status 1)" 1 "$vrc"
expect_eq "validate: it is named at its file, line and field, with the policy setting" \
	"$SPECS/cluster.yaml:5:23: Cluster/c: spec.router.container: \"edge-nginx\" refused by the operator's policy (not listed in router.container in the built-in policy)" \
	"$(cat "$TEST_TMP/container.err")"
validate_out container-listed --policy-file "$TEST_TMP/policy-container.yaml" "$SPECS"
expect_eq "validate: one the policy lists is valid" 0 "$vrc"
rm "$SPECS/cluster.yaml"

# --- an analysis scrape selector that does not parse -------------------------------------------
mkdir -p "$TEST_TMP/scrape"
cp "$TOP/tests/spec-corpus/analysis-scrape-selector.yaml" "$TEST_TMP/scrape/at.yaml"
out=$(auriga_cmd plan "$TEST_TMP/scrape" 2>&1)
expect_eq "plan: a scrape selector that does not parse is refused (status 1)" 1 "$?"
expect_match "plan: at its file, line and field" \
	"at\.yaml:11:19: AnalysisTemplate/errors: spec\.metrics\[0\]\.provider\.scrape\.metric: .*a quoted label value expected" \
	"$out"

# --- envFiles: opened by validate as apply opens them ------------------------------------------
ENV=$TEST_TMP/env
mkdir -p "$ENV/conf/dir.env" "$ENV/sub"
ln -s /etc "$ENV/lnk"
ln -s /etc/passwd "$ENV/conf/last.env"
mkfifo "$ENV/conf/fifo.env"
printf 'A=1\nnot a pair\n' >"$ENV/conf/bad.env"
head -c 1100000 /dev/zero | tr '\0' 'x' | sed 's/^/BIG=/' >"$ENV/conf/big.env"
printf 'GOOD=1\n' >"$ENV/conf/good.env"
cat >"$ENV/web.yaml" <<EOF
apiVersion: auriga.io/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    image: auriga-demo-node:v1
    envFiles:
      - missing.env
      - lnk/passwd
      - conf/last.env
      - conf/dir.env
      - conf/fifo.env
      - conf/bad.env
      - conf/big.env
      - ../outside.env
      - conf/good.env
---
apiVersion: auriga.io/v1
kind: Job
metadata: {name: seed}
spec:
  template:
    image: auriga-demo-node:v1
    envFiles: [sub/nope.env]
EOF
validate_out env "$ENV"
err=$(cat "$TEST_TMP/env.err")
expect_eq "validate: bad env files make the specs invalid (status 1)" 1 "$vrc"
expect_eq "validate: one error per bad entry, all in one run" 9 "$(wc -l <"$TEST_TMP/env.err")"
# has DESC REGEX: one line of validate's stderr matches REGEX (grep -E).
has() { check "$1" grep -qE "$2" "$TEST_TMP/env.err"; }
W="$ENV/web\\.yaml"
F="Deployment/web: spec\\.template\\.envFiles"
has "a missing file" "^$W:8:9: $F\\[0\\]: .*missing\\.env.*No such file"
has "a link as a middle component" \
	"^$W:9:9: $F\\[1\\]: env file 'lnk/passwd': 'lnk' is a symbolic link or not a folder"
has "a link as the last component" "^$W:10:9: $F\\[2\\]: .*last\\.env"
has "a folder" "^$W:11:9: $F\\[3\\]: .*dir\\.env"
has "a FIFO, refused without blocking" "^$W:12:9: $F\\[4\\]: .*fifo\\.env"
has "a malformed line" "^$W:13:9: $F\\[5\\]: conf/bad\\.env:2: expected KEY=value, found 'not a pair'$"
has "a file over 1 MiB" "^$W:14:9: $F\\[6\\]: .*big\\.env"
has "a path out of the repository" "^$W:15:9: $F\\[7\\]: '\\.\\./outside\\.env' must be relative to the specs repository"
has "a Job's env file too" "^$W:24:16: Job/seed: spec\\.template\\.envFiles\\[0\\]: .*nope\\.env"
expect_no_match "the good file is not an error" 'envFiles\[8\]' "$err"
expect_no_match "nothing of /etc/passwd is shown" 'root:' "$err"
json=$(timeout 30 "$AURIGA_BIN" validate --json "$ENV" 2>/dev/null)
expect_eq "validate --json: invalid, with the nine entries as fields" \
	"false 9 spec.template.envFiles[0] spec.template.envFiles[7]" \
	"$(jq -r '"\(.valid) \(.errors | length) \(.errors[0].path) \(.errors[7].path)"' <<<"$json")"
out=$(auriga_cmd plan "$ENV" 2>&1)
expect_eq "plan: the same env files refused (status 1)" 1 "$?"
expect_eq "plan: the same nine errors" "$err" "$(grep -v '^auriga plan:' <<<"$out")"

# Several PATHs: each spec's env files are read beneath the PATH it came from.
mkdir -p "$TEST_TMP/a/conf" "$TEST_TMP/b/conf"
printf 'A=1\n' >"$TEST_TMP/a/conf/a.env"
printf 'B=1\n' >"$TEST_TMP/b/conf/b.env"
sed -e '/envFiles:/,$d' "$ENV/web.yaml" >"$TEST_TMP/a/web.yaml"
echo '    envFiles: [conf/a.env]' >>"$TEST_TMP/a/web.yaml"
sed -e 's/name: web/name: api/' -e 's#conf/a.env#conf/b.env#' "$TEST_TMP/a/web.yaml" >"$TEST_TMP/b/api.yaml"
validate_out two "$TEST_TMP/a" "$TEST_TMP/b/api.yaml"
expect_eq "two PATHs: each spec's env files found beneath its own" 0 "$vrc"
sed -i 's#conf/b.env#conf/a.env#' "$TEST_TMP/b/api.yaml"
validate_out two-bad "$TEST_TMP/a" "$TEST_TMP/b/api.yaml"
expect_match "two PATHs: never beneath another PATH's folder" \
	"^$TEST_TMP/b/api\\.yaml:7:16: Deployment/api: spec\\.template\\.envFiles\\[0\\]: .*a\\.env" \
	"$(cat "$TEST_TMP/two-bad.err")"

# --- auriga run: the refusal is noted on the commit, and nothing is created -------------------
specs_repo
job_yaml backend >"$WORK/jobs.yaml"
node_yaml web$$ >"$WORK/web.yaml"
c1=$(commit "a Job on a network of its own")
listen_port
run_start "$TEST_TMP/run.log" --repo "$REMOTE" --state-dir "$TEST_TMP/run-state" --instance "$INST" \
	--poll-interval 1s --listen "127.0.0.1:$RUN_PORT"
noted() { [ -n "$(note_in "$WORK" "$c1")" ]; }
await "run: the refused commit gets a note" 90 noted
note=$(note_in "$WORK" "$c1")
# problems: the note's list of what refused the commit, read as YAML, one a line.
problems=$(python3 -c 'import sys, yaml
doc = yaml.safe_load(sys.stdin.read().split("\n", 1)[1]) or {}
print("\n".join(doc.get("problems") or []))' <<<"$note")
expect_match "run: the note says the commit was refused" "^auriga: Refused .*nothing of this commit was applied" "$note"
expect_match "run: the note names the Job's network at its file, line and field" "$JOBLINE" "$problems"
live() { [ "$(http_code "$RUN_URL/q/health/live")" = 200 ]; }
check "run: still up" live
expect_eq "run: no container was created for the refused commit" "" \
	"$(docker ps -aq --filter "label=auriga.io/managed-by=$INST")"
run_stop "run: SIGTERM stops it with status 0"

done_testing
