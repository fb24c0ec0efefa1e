#!/usr/bin/env bash
# The status page `auriga run` serves, opened in headless Chromium: it is one embedded page under a
# Content-Security-Policy with no inline script, it asks for the API token when reads need one,
# shows the fleet by role and phase, each deployment's revision, step and endpoints, the probe
# failures and the notes written; then a new revision is pushed and the page, never reloaded, shows
# the rollout progressing and its new revision once done. Screenshots are kept under
# BUILD/artifacts/status_page/.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../run-lib.bash"
. "$(dirname "$0")/page-lib.bash"

need_images v1 v2
ART=$(dirname "$AURIGA_BIN")/artifacts/status_page
rm -rf "$ART"
mkdir -p "$ART"
tok=page-token-6d0f2a81c3
echo "$tok" >"$TEST_TMP/token"
web_port=$(free_ports 2)

specs_repo
cat >"$WORK/cluster.yaml" <<EOF
apiVersion: auriga.io/v1
kind: Cluster
metadata: {name: page}
spec:
  roleOrder: [backend, frontend]
EOF
# web: two replicas published on 127.0.0.1, each held 4 s after it is ready, so a rollout lasts
# long enough to be seen. worker: a liveness probe on a path that answers 404, with a threshold
# the test never reaches, so it fails without a restart.
page_web_yaml() {
	cat <<EOF
apiVersion: auriga.io/v1
kind: Deployment
metadata: {name: web}
spec:
  role: frontend
  replicas: 2
  minReadySeconds: 4
  progressDeadlineSeconds: 120
  template:
    image: auriga-demo-node:$1
    ports: [{name: http, containerPort: 9003, hostPort: $web_port}]
  probes:
    readiness: {httpGet: {path: /q/health/ready, port: http}, periodSeconds: 1, timeoutSeconds: 1, failureThreshold: 2}
EOF
}
page_web_yaml v1 >"$WORK/web.yaml"
cat >"$WORK/worker.yaml" <<EOF
apiVersion: auriga.io/v1
kind: Deployment
metadata: {name: worker}
spec:
  role: backend
  replicas: 1
  progressDeadlineSeconds: 120
  template:
    image: auriga-demo-node:v1
    ports: [{name: http, containerPort: 9003}]
  probes:
    readiness: {httpGet: {path: /q/health/ready, port: http}, periodSeconds: 1, timeoutSeconds: 1, failureThreshold: 2}
    liveness: {httpGet: {path: /no-such-path, port: http}, periodSeconds: 1, timeoutSeconds: 1, failureThreshold: 1000}
EOF
c1=$(commit "web and worker at v1")

listen_port
AURIGA_API_TOKEN_FILE=$TEST_TMP/token AURIGA_API_READ_TOKEN=true AURIGA_LISTEN=127.0.0.1:$RUN_PORT \
	AURIGA_STATE_DIR=$TEST_TMP/state AURIGA_INSTANCE=page-$$ AURIGA_POLL_INTERVAL=1s \
	run_start "$TEST_TMP/log" --repo "file://$REMOTE"
run_health "answers 200 once ready"

api() { curl -sf --max-time 5 -H "Authorization: Bearer $tok" "$RUN_URL$1"; }
fleet_is() { [ "$(api /api/v1/status | jq -r '[.commit, .phase] | join(" ")')" = "$1" ]; }
await "the fleet at $c1 becomes Healthy" 180 fleet_is "$c1 Healthy"

# --- the page over HTTP --------------------------------------------------------------------------
headers() { curl -s --max-time 5 -D - -o "$TEST_TMP/body" "$@" | tr -d '\r'; }
h=$(headers "$RUN_URL/")
expect_match "GET / answers 200 without the token (the page holds no data)" '^HTTP/1.1 200' "$h"
expect_match "the page is HTML" $'\n''Content-Type: text/html; charset=utf-8' "$h"
expect_match "under Content-Security-Policy default-src 'self'" $'\n'"Content-Security-Policy: default-src 'self'" "$h"
expect_match "and nosniff" $'\n''X-Content-Type-Options: nosniff' "$h"
cp "$TEST_TMP/body" "$TEST_TMP/index.html"
expect_eq "every script of the page is a file (no inline script)" 0 \
	"$(grep -o '<script[^>]*>[^<]*' "$TEST_TMP/index.html" | grep -cv '^<script src="/ui/[a-z]*\.js"[^>]*>$')"
expect_eq "and no inline handler" 0 "$(grep -ciE ' on[a-z]+=|javascript:' "$TEST_TMP/index.html")"
expect_eq "/ui/ is the same page" "$(md5sum <"$TEST_TMP/index.html")" "$(curl -s --max-time 5 "$RUN_URL/ui/" | md5sum)"
expect_match "/ui/app.js is JavaScript" $'\n''Content-Type: text/javascript; charset=utf-8' "$(headers "$RUN_URL/ui/app.js")"
expect_match "/ui/style.css is CSS" $'\n''Content-Type: text/css; charset=utf-8' "$(headers "$RUN_URL/ui/style.css")"
expect_eq "a file the page does not have: 404" 404 "$(http_code "$RUN_URL/ui/nope.js")"
expect_eq "POST / is refused: 405" 405 "$(http_code -X POST "$RUN_URL/")"
expect_eq "/api/v1/notes without the token: 401" 401 "$(http_code "$RUN_URL/api/v1/notes")"
for q in 0 51 x; do
	expect_eq "/api/v1/notes?limit=$q: 400" 400 \
		"$(http_code -H "Authorization: Bearer $tok" "$RUN_URL/api/v1/notes?limit=$q")"
done
noted() { [ "$(api '/api/v1/notes?limit=1' | jq -r '.notes[0].commit')" = "$1" ]; }
await "/api/v1/notes names the note on $c1" 60 noted "$c1"
expect_match "whose summary is the note's first line" '^auriga: Healthy 3/3 ready' \
	"$(api '/api/v1/notes?limit=1' | jq -r '.notes[0].summary')"

# --- the page in Chromium ------------------------------------------------------------------------
page_start

page_ok "Chromium opens the page" open "$RUN_URL/"
page_ok "the page asks for the token (reads need it)" wait 20 '!document.getElementById("token-form").hidden'
drv shot "$ART/1-token.png" >/dev/null
page_ok "the token is given" eval \
	"document.getElementById('token').value = '$tok'; document.getElementById('token-form').requestSubmit(); true"
page_ok "the deployments appear, web Healthy" wait 30 "$(cell web phase)?.textContent === 'Healthy'"
page_ok "worker Healthy" wait 10 "$(cell worker phase)?.textContent === 'Healthy'"
page_ok "no Swarm section on plain containers (no nodes in the status)" wait 5 "document.getElementById('swarm').hidden === true"
expect_eq "the token is kept in this tab's sessionStorage" "ok \"$tok\"" "$(drv eval "sessionStorage.getItem('auriga.apiToken')")"
expect_eq "the fleet's phase" 'ok "Healthy"' "$(drv eval "document.getElementById('fleet-phase').textContent")"
expect_eq "the fleet's commit" "ok \"$c1\"" "$(drv eval "document.getElementById('fleet-commit').textContent")"
expect_eq "roles by phase: frontend" 'ok "frontend Healthy 1 2/2"' \
	"$(drv eval "document.querySelector('#roles tr[data-role=frontend]').innerText.replace(/\\s+/g, ' ').trim()")"
expect_eq "roles by phase: backend" 'ok "backend Healthy 1 1/1"' \
	"$(drv eval "document.querySelector('#roles tr[data-role=backend]').innerText.replace(/\\s+/g, ' ').trim()")"
expect_eq "web's ready count" 'ok "2/2"' "$(drv eval "$(cell web ready).textContent")"
expect_eq "web's strategy" 'ok "Rolling"' "$(drv eval "$(cell web strategy).textContent")"
expect_eq "web's endpoints: its published ports" "ok \"127.0.0.1:$web_port 127.0.0.1:$((web_port + 1))\"" \
	"$(drv eval "$(cell web endpoints).textContent.split(' ').sort().join(' ')")"
rev1=$(api /api/v1/deployments/web | jq -r .revision)
expect_eq "web's revision, as the API says" "ok \"$rev1\"" "$(drv eval "$(cell web revision).dataset.revision")"
page_ok "worker's liveness failures are listed" wait 30 \
	"[...document.querySelectorAll('#probes tr[data-deployment=worker] td.failure')].some(t => /liveness.*404/.test(t.textContent))"
page_ok "the note on $c1 is listed" wait 30 "document.querySelector('#notes li')?.dataset.commit === '$c1'"
drv eval "window.auriga_test_mark = 'same page'" >/dev/null
drv shot "$ART/2-healthy.png" >/dev/null

# --- a new revision, watched as it rolls ---------------------------------------------------------
page_web_yaml v2 >"$WORK/web.yaml"
c2=$(commit "web at v2")
page_ok "the page shows web Progressing during the rollout" wait 90 "$(cell web phase)?.textContent === 'Progressing'"
step=$(drv eval "$(cell web step).textContent")
expect_match "with the rollout's step" '^ok "[^"]+' "$step"
diag "step shown: $step"
drv shot "$ART/3-rolling.png" >/dev/null
seen=$TEST_TMP/seen
: >"$seen"
done_rolling() {
	drv eval "[$(cell web phase).textContent, $(cell web updated).textContent, $(cell web ready).textContent, $(cell web revision).dataset.revision].join(' ')" >>"$seen"
	tail -1 "$seen" | grep -q "^ok \"Healthy 2 2/2 " && ! tail -1 "$seen" | grep -q " $rev1\"$"
}
check "then web Healthy at a new revision, 2/2 updated" wait_for 180 done_rolling
diag "states the page showed: $(sort -u "$seen" | sed 's/^ok //' | tr '\n' ';')"
check "the page showed more than one state of the rollout" test "$(sort -u "$seen" | wc -l)" -ge 2
rev2=$(api /api/v1/deployments/web | jq -r .revision)
check "the API has the new revision" test "$rev2" != "$rev1"
expect_eq "the page shows the API's new revision" "ok \"$rev2\"" "$(drv eval "$(cell web revision).dataset.revision")"
expect_eq "the page was never reloaded" 'ok "same page"' "$(drv eval "window.auriga_test_mark")"
page_ok "the fleet's commit is $c2" wait 30 "document.getElementById('fleet-commit').textContent === '$c2'"
page_ok "the note on $c2 is listed first" wait 30 "document.querySelector('#notes li')?.dataset.commit === '$c2'"
drv shot "$ART/4-rolled.png" >/dev/null
problems=$(drv console)
diag "browser console: $problems"
expect_no_match "no policy violation or script error in the browser" 'Content Security Policy|exception:|console:' "$problems"
for f in 1-token 2-healthy 3-rolling 4-rolled; do
	check "screenshot $f.png kept" test -s "$ART/$f.png"
done
drv quit >/dev/null
run_stop "SIGTERM stops it with status 0"

done_testing
