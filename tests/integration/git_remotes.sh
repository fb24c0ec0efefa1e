#!/usr/bin/env bash
# The Git source against real remotes on 127.0.0.1: a bare repo on disk, git daemon, sshd with a deploy
# key and known_hosts, and git-http-backend behind nginx with basic auth over TLS. For each: fetch, a
# new commit picked up, a force-push followed, a status note pushed and read back with plain git.
source "$(dirname "$0")/../lib.sh"

A=$AURIGA_BIN
T=$TEST_TMP
SRV=$T/srv
BARE=$SRV/specs.git
WORK=$T/work
export GIT_AUTHOR_NAME=test GIT_AUTHOR_EMAIL=test@example.com GIT_COMMITTER_NAME=test GIT_COMMITTER_EMAIL=test@example.com

mkdir -p "$SRV"
git init -q --bare "$BARE"
git -C "$BARE" config receive.denyNonFastForwards false
git init -q -b main "$WORK"
mkdir -p "$WORK/specs"
echo 'kind: Deployment' >"$WORK/specs/slim.yaml"
git -C "$WORK" add -A && git -C "$WORK" commit -qm "first"
git -C "$WORK" push -q "$BARE" main

n=0
new_commit() {
	n=$((n + 1))
	echo "replicas: $n" >"$WORK/specs/slim.yaml"
	git -C "$WORK" commit -qam "change $n"
	git -C "$WORK" push -q "$BARE" main
}
force_push() {
	git -C "$WORK" reset -q --hard HEAD~1
	n=$((n + 1))
	echo "rewritten: $n" >"$WORK/specs/other.yaml"
	git -C "$WORK" add -A && git -C "$WORK" commit -qm "rewrite $n"
	git -C "$WORK" push -q -f "$BARE" main
}
head() { git -C "$BARE" rev-parse main; }

wait_port() { wait_for 15 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" ; }

# exercise NAME URL [OPTIONS...]: the same story over one kind of remote.
exercise() {
	local name=$1 url=$2 out c prev
	shift 2
	local st=$T/state-$name
	local -a src=(--repo "$url" --state-dir "$st" --git-timeout 20s "$@")

	out=$("$A" source "${src[@]}" fetch 2>&1)
	expect_match "$name: first fetch gets the head" "^commit $(head) changed 1 forced 0" "$out"
	out=$("$A" source "${src[@]}" fetch 2>&1)
	expect_match "$name: a second fetch sees no change" "^commit $(head) changed 0" "$out"
	out=$("$A" source "${src[@]}" snapshot --path specs 2>&1)
	expect_match "$name: snapshot lists the specs" "specs/slim.yaml" "$out"

	new_commit
	out=$("$A" source "${src[@]}" fetch 2>&1)
	expect_match "$name: a new commit is picked up" "^commit $(head) changed 1 forced 0" "$out"

	prev=$(head)
	force_push
	out=$("$A" source "${src[@]}" fetch 2>&1)
	expect_match "$name: a force-push is followed" "^commit $(head) changed 1 forced 1" "$out"
	out=$("$A" source "${src[@]}" snapshot --path specs 2>&1)
	expect_match "$name: the snapshot is the rewritten tree" "specs/other.yaml" "$out"

	c=$(head)
	out=$("$A" source "${src[@]}" note --push --phase Healthy --summary "via $name" \
		--deployment slim=Healthy,5,5 "$c" 2>&1)
	expect_eq "$name: note written and pushed" "" "$out"
	out=$(git -C "$BARE" notes --ref=auriga show "$c" 2>&1 | sed -n 1p)
	expect_eq "$name: plain git reads the note" "auriga: Healthy 5/5 ready, via $name" "$out"
	out=$("$A" status "${src[@]}" --json 2>&1 | jq -r '.noteCommit + " " + .summary')
	expect_eq "$name: auriga status reads it back" "$c via $name" "$out"
	[ -n "$prev" ] && git -C "$BARE" notes --ref=auriga list >/dev/null
}

# 1. A bare repo on disk, as a path and as file://.
exercise path "$BARE"
exercise file "file://$BARE"

# 2. git daemon.
GPORT=$(free_port)
git daemon --reuseaddr --listen=127.0.0.1 --port="$GPORT" --base-path="$SRV" --export-all \
	--enable=receive-pack --pid-file="$T/git-daemon.pid" "$SRV" >"$T/git-daemon.log" 2>&1 &
GPID=$!
on_exit "kill $GPID"
if wait_port "$GPORT"; then
	exercise daemon "git://127.0.0.1:$GPORT/specs.git"
else
	fail "git daemon did not start"
fi

# 3. sshd with its own host keys and config, a deploy key and known_hosts.
S=$T/ssh
mkdir -p "$S" /run/sshd
ssh-keygen -q -t ed25519 -N '' -C host -f "$S/host_ed25519"
ssh-keygen -q -t ed25519 -N '' -C other -f "$S/other_host"
ssh-keygen -q -t ed25519 -N '' -C deploy -f "$S/deploy"
ssh-keygen -q -t ed25519 -N '' -C stranger -f "$S/stranger"
cp "$S/deploy.pub" "$S/authorized_keys"
SPORT=$(free_port)
cat >"$S/sshd_config" <<CFG
Port $SPORT
ListenAddress 127.0.0.1
HostKey $S/host_ed25519
PidFile $S/sshd.pid
AuthorizedKeysFile $S/authorized_keys
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
StrictModes no
UsePAM no
CFG
/usr/sbin/sshd -D -e -f "$S/sshd_config" >"$S/sshd.log" 2>&1 &
SPID=$!
on_exit "kill $SPID"
echo "[127.0.0.1]:$SPORT $(cut -d' ' -f1,2 "$S/host_ed25519.pub")" >"$S/known_hosts"
cp "$S/known_hosts" "$S/known_hosts_hashed"
ssh-keygen -q -H -f "$S/known_hosts_hashed" >/dev/null 2>&1
echo "[127.0.0.1]:$SPORT $(cut -d' ' -f1,2 "$S/other_host.pub")" >"$S/known_hosts_changed"
echo "example.org $(cut -d' ' -f1,2 "$S/other_host.pub")" >"$S/known_hosts_unknown"
SSH_URL="ssh://$(id -un)@127.0.0.1:$SPORT$BARE"
if wait_port "$SPORT"; then
	# Under AddressSanitizer, libgit2's own SSH transport leaks per connection (see the file).
	export LSAN_OPTIONS=${LSAN_OPTIONS:+$LSAN_OPTIONS:}suppressions=$TOP/tests/integration/git_lsan.supp:print_suppressions=0
	expect_match "ssh: the hashed known_hosts holds no plain host name" '^\|1\|' "$(cat "$S/known_hosts_hashed")"
	exercise ssh "$SSH_URL" --ssh-key "$S/deploy" --known-hosts "$S/known_hosts_hashed"
	exercise ssh-plain "$SSH_URL" --ssh-key "$S/deploy" --known-hosts "$S/known_hosts"
	out=$("$A" source --repo "$SSH_URL" --state-dir "$T/st-changed" --ssh-key "$S/deploy" \
		--known-hosts "$S/known_hosts_changed" fetch 2>&1)
	expect_match "ssh: a changed host key is refused" "host key of '\[127.0.0.1\]:$SPORT' changed" "$out"
	out=$("$A" source --repo "$SSH_URL" --state-dir "$T/st-unknown" --ssh-key "$S/deploy" \
		--known-hosts "$S/known_hosts_unknown" fetch 2>&1)
	expect_match "ssh: an unknown host is refused" "unknown host '\[127.0.0.1\]:$SPORT'" "$out"
	out=$("$A" source --repo "$SSH_URL" --state-dir "$T/st-stranger" --ssh-key "$S/stranger" \
		--known-hosts "$S/known_hosts" fetch 2>&1)
	expect_match "ssh: a key the server does not know is refused" "refused|auth" "$out"
	out=$("$A" source --repo "$SSH_URL" --state-dir "$T/st-nokh" --ssh-key "$S/deploy" fetch 2>&1)
	expect_match "ssh: no known_hosts, no connection" "needs a known_hosts file" "$out"
	unset LSAN_OPTIONS
else
	fail "sshd did not start: $(tail -3 "$S/sshd.log")"
fi

# The daemon's settings for https:// remotes (run --check fetches through them): the token from
# https-token-file, and credentials never shown, whether from the token or in the URL.
https_settings() {
	local url_creds="https://auriga:s3cret@localhost:$HPORT/specs.git" st=$T/st-settings
	out=$("$A" run --check --repo "$HTTPS_URL" --https-token-file "$W/token" --ca-bundle "$W/ca.crt" \
		--state-dir "$st-token" 2>&1)
	expect_match "https-token-file: the fetch authenticates and the snapshot is read" "specs/(slim|other).yaml" "$out"
	expect_no_match "https-token-file: nothing was refused" "refused|credentials" "$out"
	out=$(AURIGA_HTTPS_TOKEN_FILE=$W/token "$A" run --check --repo "$HTTPS_URL" --ca-bundle "$W/ca.crt" \
		--state-dir "$st-tokenenv" 2>&1)
	expect_match "AURIGA_HTTPS_TOKEN_FILE: the same" "specs/(slim|other).yaml" "$out"
	out=$("$A" run --check --repo "$HTTPS_URL" --ca-bundle "$W/ca.crt" --state-dir "$st-none" 2>&1)
	expect_match "no token: the remote's demand for credentials is reported" "asks for credentials and none are configured" "$out"
	out=$("$A" run --check --repo "$HTTPS_URL" --https-token-file "$W/wrong-token" --ca-bundle "$W/ca.crt" \
		--state-dir "$st-wrong" 2>&1)
	expect_match "a wrong token is refused" "authentication as 'x-access-token' refused" "$out"
	expect_no_match "a wrong token is not shown" "tok-0000-wrong" "$out"
	out=$("$A" run --check --repo "$url_creds" --state-dir "$st-url" 2>&1)
	expect_match "credentials in the URL: the error shows the URL masked" "https://\*\*\*@localhost:$HPORT/specs.git" "$out"
	expect_no_match "credentials in the URL: the password is not shown" "s3cret" "$out"
	out=$("$A" run --check --repo "https://auriga:pw-77c1-bad@localhost:$HPORT/specs.git" --ca-bundle "$W/ca.crt" \
		--state-dir "$st-urlbad" 2>&1)
	expect_match "a wrong password in the URL is refused" "the credentials in the URL were refused" "$out"
	expect_no_match "a wrong password in the URL is not shown" "pw-77c1-bad" "$out"
	out=$("$A" run --check --repo "$url_creds" --ca-bundle "$W/ca.crt" --state-dir "$st-urlok" 2>&1)
	expect_match "the right password in the URL: the snapshot is read" "specs/(slim|other).yaml" "$out"
	expect_no_match "the right password in the URL: not shown" "s3cret" "$out"
	out=$("$A" source --repo "https://tok-4f9a-secret@localhost:$HPORT/specs.git" --state-dir "$st-src" fetch 2>&1)
	expect_match "a token as the URL's user: the source's error masks it" "https://\*\*\*@localhost" "$out"
	expect_no_match "a token as the URL's user: not shown" "tok-4f9a" "$out"
}

# 4. git-http-backend behind nginx (fcgiwrap), basic auth over TLS with a test CA.
W=$T/web
mkdir -p "$W/tmp"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$W/ca.key" -out "$W/ca.crt" -subj /CN=auriga-test-ca \
	-days 2 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout "$W/srv.key" -out "$W/srv.csr" -subj /CN=localhost 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$W/ext"
openssl x509 -req -in "$W/srv.csr" -CA "$W/ca.crt" -CAkey "$W/ca.key" -CAcreateserial -out "$W/srv.crt" \
	-days 2 -extfile "$W/ext" 2>/dev/null
printf 'auriga:%s\n' "$(openssl passwd -apr1 s3cret)" >"$W/htpasswd"
printf 'x-access-token:%s\n' "$(openssl passwd -apr1 tok-4f9a-secret)" >>"$W/htpasswd"
echo s3cret >"$W/password"
echo wrong >"$W/wrong"
echo tok-4f9a-secret >"$W/token"
echo tok-0000-wrong >"$W/wrong-token"
HPORT=$(free_port)
fcgiwrap -s "unix:$W/fcgi.sock" >"$W/fcgiwrap.log" 2>&1 &
FPID=$!
on_exit "kill $FPID"
cat >"$W/nginx.conf" <<CFG
daemon off;
user root;
worker_processes 1;
pid $W/nginx.pid;
error_log $W/error.log;
events { worker_connections 64; }
http {
	access_log off;
	client_body_temp_path $W/tmp/body;
	fastcgi_temp_path $W/tmp/fastcgi;
	proxy_temp_path $W/tmp/proxy;
	uwsgi_temp_path $W/tmp/uwsgi;
	scgi_temp_path $W/tmp/scgi;
	server {
		listen 127.0.0.1:$HPORT ssl;
		ssl_certificate $W/srv.crt;
		ssl_certificate_key $W/srv.key;
		client_max_body_size 0;
		auth_basic "specs";
		auth_basic_user_file $W/htpasswd;
		location / {
			include /etc/nginx/fastcgi_params;
			fastcgi_pass unix:$W/fcgi.sock;
			fastcgi_param SCRIPT_FILENAME /usr/lib/git-core/git-http-backend;
			fastcgi_param GIT_PROJECT_ROOT $SRV;
			fastcgi_param GIT_HTTP_EXPORT_ALL "";
			fastcgi_param PATH_INFO \$uri;
			fastcgi_param REMOTE_USER \$remote_user;
		}
	}
}
CFG
nginx -p "$W" -c "$W/nginx.conf" >"$W/nginx.log" 2>&1 &
NPID=$!
on_exit "kill $NPID"
# libgit2 here verifies names with mbedTLS, which matches DNS names only: the certificate names
# localhost (which resolves to 127.0.0.1, where nginx alone listens).
HTTPS_URL="https://localhost:$HPORT/specs.git"
if wait_port "$HPORT"; then
	exercise https "$HTTPS_URL" --https-user auriga --https-token-file "$W/password" --ca-bundle "$W/ca.crt"
	out=$("$A" source --repo "$HTTPS_URL" --state-dir "$T/st-wrongpw" --https-user auriga \
		--https-token-file "$W/wrong" --ca-bundle "$W/ca.crt" fetch 2>&1)
	expect_match "https: a wrong password is refused" "authentication as 'auriga' refused" "$out"
	out=$("$A" source --repo "$HTTPS_URL" --state-dir "$T/st-noca" --https-user auriga \
		--https-token-file "$W/password" fetch 2>&1)
	expect_match "https: a server the CA bundle does not vouch for is refused" "not trusted|certificate" "$out"
	https_settings
else
	fail "nginx did not start: $(tail -3 "$W/error.log" "$W/nginx.log")"
fi

# 5. A failing remote leaves the last good commit readable.
good=$(head)
"$A" source --repo "$BARE" --state-dir "$T/st-keep" fetch >/dev/null 2>&1
mv "$BARE" "$BARE.away"
out=$("$A" source --repo "$BARE" --state-dir "$T/st-keep" fetch 2>&1)
expect_match "unreachable remote: the fetch fails and says why" "cannot connect|not found|failed" "$out"
out=$("$A" source --repo "$BARE" --state-dir "$T/st-keep" snapshot --path specs --count 2>&1)
expect_match "unreachable remote: the last good snapshot still reads" "^2 files" "$out"
mv "$BARE.away" "$BARE"
[ -n "$good" ]

done_testing
