#!/usr/bin/env bash
# One settings table for every subcommand: a setting that several subcommands take reads the same
# (flag, variable, text) in each --help, and no --help lists a line twice; the spellings the
# subcommands had before work still, each with one deprecation line naming the new name (seen at
# work: the branch, folder and labels apply used, the token and user sent to an HTTP remote, the
# deadline of a fetch that hangs, the Docker endpoint); Docker's own DOCKER_HOST, DOCKER_TLS_VERIFY
# are honoured by run, apply and plan alike, auriga's docker-host winning over DOCKER_HOST; the
# commands that ask the running controller (rollback, promote, abort, pause, resume) read its
# address, token file and instance from the same rows, by flag, variable or settings file; apply's
# notes-push holds for the note on a refused commit too.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../run-lib.bash"

A=$AURIGA_BIN
T=$TEST_TMP
CMDS="run apply rollback plan validate status source docker promote abort pause resume healthcheck"
need_images v1

# 1. --help: the settings of each subcommand, compared across subcommands.
for c in $CMDS; do
	"$A" "$c" --help >"$T/help-$c" 2>&1
	expect_eq "auriga $c --help exits 0" 0 "$?"
done
cat >"$T/compare.py" <<'PY'
import collections, re, sys
folder, cmds = sys.argv[1], sys.argv[2:]
head_re = re.compile(r"^  (?:--(?:\[no-\])?([a-z0-9-]+)(?: \S+)?|\(no flag: secret\))   "
                     r"\$(AURIGA_[A-Z0-9_]+)(?:, else \$(DOCKER_[A-Z_]+))?$")
rows = collections.defaultdict(dict)
for c in cmds:
    lines = open(f"{folder}/help-{c}").read().split("\n")
    starts = [i for i, l in enumerate(lines) if l.startswith("settings (")]
    if len(starts) != 1:
        print(f"{c}: {len(starts)} settings sections")
        continue
    i = starts[0] + 1
    while i + 1 < len(lines) and lines[i].startswith("  "):
        m = head_re.match(lines[i])
        if not m:
            print(f"{c}: not a setting's line: {lines[i]!r}")
            break
        env = m.group(2)
        name = m.group(1) or env[len("AURIGA_"):].lower().replace("_", "-")
        if env != "AURIGA_" + name.upper().replace("-", "_"):
            print(f"{c}: --{name} has the variable {env}")
        rows[name][c] = (lines[i], lines[i + 1])
        i += 2
shared = {n: v for n, v in rows.items() if len(v) > 1}
for n, per in sorted(shared.items()):
    if len(set(per.values())) > 1:
        print(f"--{n} differs: " + " | ".join(f"{c}: {h[0].strip()} / {h[1].strip()[:40]}" for c, h in per.items()))
print(f"shared {len(shared)} settings, {sum(len(v) for v in shared.values())} listings")
PY
out=$(python3 "$T/compare.py" "$T" $CMDS)
expect_match "the help of every subcommand lists its settings from the table" "^shared [0-9]+ settings" \
	"$(tail -n1 <<<"$out")"
expect_eq "a setting several subcommands take has the same flag, variable and text in each --help" \
	"" "$(sed '$d' <<<"$out")"
n=$(sed -En '$s/^shared ([0-9]+) .*/\1/p' <<<"$out")
check "at least the Git, Docker and engine settings are shared ($n)" test "${n:-0}" -ge 25
for c in $CMDS; do
	expect_eq "auriga $c --help lists no line twice" "" "$(grep -v '^$' "$T/help-$c" | sort | uniq -d)"
done
expect_no_match "no --help shows an old spelling" \
	"--(ref|specs-path|label|https-password-file|tlscacert|tlscert|tlskey|tlsverify|host) |-H," \
	"$(cat "$T"/help-*)"
expect_match "apply --help names the branch setting with its variable" \
	$'\n  --branch NAME   \\$AURIGA_BRANCH\n' "$(cat "$T/help-apply")"
expect_match "run and docker --help say DOCKER_HOST is read below AURIGA_DOCKER_HOST" \
	'--docker-host URL   \$AURIGA_DOCKER_HOST, else \$DOCKER_HOST' "$(cat "$T/help-run" "$T/help-docker")"

# deprecated OUTPUT OLD NEW CMD: OUTPUT holds the deprecation line exactly once.
deprecated() {
	expect_eq "$4 $2: one deprecation line naming $3" "auriga $4: $2 is deprecated, use $3" \
		"$(grep -F -- " $2 is deprecated" <<<"$1")"
}

# 2. apply's old spellings of branch, repo-path and extra-labels, each given twice, at work.
engine_instance names
specs_repo
mkdir -p "$WORK/sub"
node_yaml "nmain$$" >"$WORK/sub/a.yaml"
commit "main" >/dev/null
git -C "$WORK" checkout -q -b other
node_yaml "nroot$$" >"$WORK/root.yaml"
node_yaml "nsub$$" >"$WORK/sub/a.yaml"
git -C "$WORK" add -A
git -C "$WORK" -c user.name=t -c user.email=t@example.com commit -qm other
git -C "$WORK" push -q origin other
out=$("$A" apply --instance "$INST" --state-dir "$STATE" --repo "$REMOTE" --ref other --ref other \
	--specs-path sub --specs-path=sub --label "$TEST_LABEL" --label team=alias$$ --no-notes \
	--timeout-total 300 2>&1)
expect_eq "apply with the old spellings converges" 0 "$?"
deprecated "$out" --ref --branch apply
deprecated "$out" --specs-path --repo-path apply
deprecated "$out" --label --extra-labels apply
names=$(docker ps -a --filter "label=$TEST_LABEL" --format '{{.Names}}' | sort | tr '\n' ' ')
expect_eq "the one container is the deployment in sub/ on branch other" "$INST-nsub$$-0 " "$names"
expect_eq "both labels given as --label are on it" "alias$$" \
	"$(docker inspect -f '{{index .Config.Labels "team"}}' "$INST-nsub$$-0" 2>/dev/null)"

# 3. The Git source's old spellings against an HTTP remote that records what it is sent: the token
# file and user reach it; the old --timeout (seconds) is git-timeout's, bounds and all.
cat >"$T/remote.py" <<'PY'
import base64, socket, sys, threading
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(16)
print(srv.getsockname()[1], flush=True)
def serve(c):
    data = b""
    while b"\r\n\r\n" not in data:
        d = c.recv(4096)
        if not d:
            return
        data += d
    for line in data.split(b"\r\n"):
        if line.lower().startswith(b"authorization: basic "):
            with open(sys.argv[1], "a") as f:
                f.write(base64.b64decode(line.split()[-1]).decode() + "\n")
    c.sendall(b'HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm="specs"\r\n'
              b"Content-Length: 0\r\nConnection: close\r\n\r\n")
    c.close()
while True:
    conn, _ = srv.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
PY
python3 "$T/remote.py" "$T/seen" >"$T/remote.port" 2>"$T/remote.err" &
rpid=$!
on_exit "kill $rpid"
wait_for 15 test -s "$T/remote.port"
port=$(cat "$T/remote.port")
printf 'tok-%s\n' "$$" >"$T/token"
chmod 600 "$T/token"
out=$("$A" source --repo "http://127.0.0.1:$port/specs.git" --https-user deploy --https-password-file "$T/token" \
	--https-password-file "$T/token" --timeout 30 fetch 2>&1)
expect_match "the remote refuses the token" "authentication as 'deploy' refused" "$out"
deprecated "$out" --https-password-file --https-token-file source
expect_eq "the token of the old --https-password-file is sent, as the password of https-user" \
	"deploy:tok-$$" "$(sort -u "$T/seen" 2>/dev/null)"
out=$("$A" source --repo "http://127.0.0.1:$port/specs.git" --timeout 5 --timeout 0 fetch 2>&1)
expect_match "the old --timeout is git-timeout, held to its bounds" \
	"auriga source: --git-timeout: git-timeout: '0' is out of range \\[1s, 1h\\]" "$out"
deprecated "$out" --timeout --git-timeout source

# 4. auriga docker's docker-CLI spellings: the endpoint, and each TLS file or switch where it is refused.
missing=unix://$T/missing.sock
out=$(DOCKER_HOST=$missing "$A" docker -H unix:///var/run/docker.sock -H unix:///var/run/docker.sock ping 2>&1)
expect_match "docker -H reaches the endpoint it names, not DOCKER_HOST's" "api 1\.[0-9]+ endpoint unix:///var/run/docker.sock" "$out"
deprecated "$out" -H --docker-host docker
out=$(DOCKER_HOST=$missing "$A" docker --host unix:///var/run/docker.sock ping 2>&1)
expect_match "docker --host too" "api 1\.[0-9]+ endpoint unix:///var/run/docker.sock" "$out"
deprecated "$out" --host --docker-host docker
out=$("$A" docker --tlsverify --tlsverify ping 2>&1)
expect_match "docker --tlsverify turns TLS on (refused on a unix socket)" \
	"^.*--docker-tls-verify: docker-tls-verify: docker TLS settings need a tcp:// host" "$out"
deprecated "$out" --tlsverify --docker-tls-verify docker
out=$("$A" docker --tlscacert "$T/ca.pem" ping 2>&1)
expect_match "docker --tlscacert sets docker-tls-ca" "--docker-tls-ca: docker-tls-ca: docker TLS settings need a tcp:// host" "$out"
deprecated "$out" --tlscacert --docker-tls-ca docker
out=$("$A" docker -H tcp://127.0.0.1:1 --tlscert "$T/c.pem" ping 2>&1)
expect_match "docker --tlscert sets docker-tls-cert" "--docker-tls-cert: docker-tls-cert: docker-tls-cert and docker-tls-key go together" "$out"
deprecated "$out" --tlscert --docker-tls-cert docker
out=$("$A" docker -H tcp://127.0.0.1:1 --tlskey "$T/k.pem" ping 2>&1)
expect_match "docker --tlskey sets docker-tls-key" "--docker-tls-key: docker-tls-key: docker-tls-cert and docker-tls-key go together" "$out"
deprecated "$out" --tlskey --docker-tls-key docker

# 5. DOCKER_HOST at a socket that is not there: run, apply and plan fail alike, naming it.
node_yaml "ndh$$" >"$SPECS/a.yaml"
want="cannot list containers[^[:cntrl:]]*$missing"
out=$(DOCKER_HOST=$missing auriga_cmd plan "$SPECS" 2>&1)
expect_eq "plan under a DOCKER_HOST that is not there exits 1" 1 "$?"
expect_match "naming the socket" "$want" "$out"
out=$(DOCKER_HOST=$missing auriga_cmd apply --timeout-total 5 "$SPECS" 2>&1)
expect_eq "apply exits 1" 1 "$?"
expect_match "naming the socket" "$want" "$out"
rport=$(free_port)
DOCKER_HOST=$missing "$A" run --instance "$INST" --state-dir "$STATE" --listen "127.0.0.1:$rport" \
	--poll-interval 1s "$SPECS" >"$T/run.log" 2>&1 &
dpid=$!
on_exit "kill -TERM $dpid 2>/dev/null; wait $dpid 2>/dev/null"
check "run logs the failed list, naming the socket" wait_for 60 grep -qE "$want" "$T/run.log"
kill -TERM "$dpid"
wait "$dpid"
# auriga's own docker-host, from the flag, the environment or the settings file, wins over DOCKER_HOST.
DOCKER_HOST=$missing auriga_cmd plan --docker-host unix:///var/run/docker.sock "$SPECS" >/dev/null 2>&1
expect_eq "--docker-host wins over DOCKER_HOST (plan sees a container to create: 2)" 2 "$?"
DOCKER_HOST=$missing AURIGA_DOCKER_HOST=unix:///var/run/docker.sock auriga_cmd plan "$SPECS" >/dev/null 2>&1
expect_eq "AURIGA_DOCKER_HOST wins over DOCKER_HOST" 2 "$?"
printf 'docker-host: unix:///var/run/docker.sock\n' >"$T/auriga.yml"
DOCKER_HOST=$missing auriga_cmd plan --config "$T/auriga.yml" "$SPECS" >/dev/null 2>&1
expect_eq "the settings file's docker-host wins over DOCKER_HOST" 2 "$?"
# DOCKER_TLS_VERIFY is read by every subcommand that reaches Docker, named when it is refused.
tls_refused() { # DESC ARGS...
	local out
	out=$(DOCKER_TLS_VERIFY=1 "$A" "${@:2}" 2>&1)
	expect_match "$1 honours DOCKER_TLS_VERIFY (refused on the unix socket, naming it)" \
		"DOCKER_TLS_VERIFY: docker-tls-verify: docker TLS settings need a tcp:// host" "$out"
}
# Under the test's instance and label: were the variable not read, nothing would be left behind.
mine=(--instance "$INST" --state-dir "$STATE" --extra-labels "$TEST_LABEL")
tls_refused "run" run --check "${mine[@]}" "$SPECS"
tls_refused "apply" apply --timeout-total 60 "${mine[@]}" "$SPECS"
tls_refused "plan" plan "${mine[@]}" "$SPECS"
tls_refused "docker" docker ping

# 6. The controller's clients: listen, api-token-file and instance from the flag, the variable or
# the settings file, where nothing answers (a free port); apply, which asks no controller, takes none.
cport=$(free_port)
caddr=127.0.0.1:$cport
printf 'listen: %s\n' "$caddr" >"$T/client.yml"
for c in promote abort pause resume; do
	out=$("$A" "$c" --config "$T/client.yml" web 2>&1)
	expect_eq "$c: no controller at the settings file's listen exits 1" 1 "$?"
	expect_eq "$c reads listen from the settings file" "auriga $c: no controller answers at $caddr (auriga run --listen)" "$out"
done
out=$(AURIGA_LISTEN=$caddr "$A" pause web 2>&1)
expect_match "pause reads AURIGA_LISTEN" "no controller answers at $caddr " "$out"
out=$(AURIGA_INSTANCE=other$$ "$A" resume --listen "$caddr" web 2>&1)
expect_match "resume reads AURIGA_INSTANCE and names it" "no controller of instance other$$ answers at $caddr " "$out"
printf 'listen: %s\napi-token-file: %s\n' "$caddr" "$T/no-token" >"$T/client-token.yml"
out=$("$A" abort --config "$T/client-token.yml" web 2>&1)
expect_eq "abort: a token file that is not there is a usage error (2)" 2 "$?"
expect_match "abort reads api-token-file from the settings file, naming it" "$T/no-token" "$out"
out=$("$A" rollback --config "$T/client.yml" --instance "$INST" --state-dir "$T/rb-state" --reason why web \
	"$T/no-specs" 2>&1)
expect_match "rollback asks the controller at the settings file's listen first, then goes one-shot" \
	"auriga rollback: no controller of instance '$INST' answers at $caddr: rolling back here, one-shot" "$out"
# Under the test's instance and label, so that were either taken nothing would be left behind.
out=$("$A" apply --listen "$caddr" --timeout-total 60 "${mine[@]}" "$SPECS" 2>&1)
expect_eq "apply --listen is a usage error (2)" 2 "$?"
expect_eq "naming the setting and the command" "auriga apply: --listen is not a setting of 'auriga apply'" "$out"
out=$("$A" apply --reason why --timeout-total 60 "${mine[@]}" "$SPECS" 2>&1)
expect_eq "apply --reason (rollback's) is a usage error" "auriga apply: unknown option '--reason'" "$out"
out=$("$A" pause --full web 2>&1)
expect_eq "pause --full (promote's) is a usage error" "auriga pause: unknown option '--full'" "$out"

# 7. A commit apply refuses is noted on the mirror; pushed only as notes-push says.
printf 'apiVersion: auriga.io/v1\nkind: Deployment\nmetadata: {name: bad}\nspec: {replicas: -1}\n' >"$WORK/bad.yaml"
git -C "$WORK" add -A
git -C "$WORK" -c user.name=t -c user.email=t@example.com commit -qm bad
git -C "$WORK" push -q origin other
bad=$(git -C "$WORK" rev-parse HEAD)
remote_note() { git --git-dir="$REMOTE" notes --ref=auriga show "$bad" 2>/dev/null | sed -n 1p; }
refuse() { "$A" apply --instance "$INST" --state-dir "$T/$1" --extra-labels "$TEST_LABEL" --repo "$REMOTE" \
	--branch other --timeout-total 60 "${@:2}" >/dev/null 2>&1; }
refuse np-state --no-notes-push
expect_eq "apply --no-notes-push: the refused commit fails (1)" 1 "$?"
expect_eq "and its note is not pushed" "" "$(remote_note)"
refuse push-state
expect_match "without it the Refused note is pushed" "^auriga: Refused" "$(remote_note)"

done_testing
