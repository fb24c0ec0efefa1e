#!/usr/bin/env bash
# Mutual TLS for real: a CA and certificates made here with OpenSSL, a second dockerd with
# --tlsverify on 127.0.0.1, and auriga's client connecting with the right client certificate,
# without one, and with one from another CA.
# run-tests: alone
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/fakes/second_dockerd.sh"

D=$TEST_TMP/d
P=$TEST_TMP/pki
mkdir -p "$D" "$P"
on_exit "second_dockerd_cleanup $D"
had_docker0=$(ip link show docker0 >/dev/null 2>&1 && echo yes || echo no)

# ca NAME: a self-signed CA.
ca() {
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=$1" \
		-keyout "$P/$1-key.pem" -out "$P/$1.pem" 2>/dev/null
}
# leaf NAME CA USAGE [SAN]: a key and a certificate signed by CA for serverAuth or clientAuth.
leaf() {
	local ext=$P/$1.ext
	printf 'extendedKeyUsage=%s\n' "$3" >"$ext"
	[ -n "${4:-}" ] && printf 'subjectAltName=%s\n' "$4" >>"$ext"
	openssl req -newkey rsa:2048 -nodes -subj "/CN=$1" -keyout "$P/$1-key.pem" -out "$P/$1.csr" 2>/dev/null
	openssl x509 -req -in "$P/$1.csr" -CA "$P/$2.pem" -CAkey "$P/$2-key.pem" -CAcreateserial \
		-days 2 -extfile "$ext" -out "$P/$1.pem" 2>/dev/null
}
ca ca
ca otherca
leaf server ca serverAuth "IP:127.0.0.1,DNS:localhost"
leaf client ca clientAuth
leaf stranger otherca clientAuth
check "certificates made" test -s "$P/client.pem" -a -s "$P/stranger.pem" -a -s "$P/server.pem"

port=$(free_port)
second_dockerd_start "$D" --tlsverify --tlscacert "$P/ca.pem" --tlscert "$P/server.pem" \
	--tlskey "$P/server-key.pem" -H "tcp://127.0.0.1:$port"
up() { curl -s --max-time 2 --cacert "$P/ca.pem" --cert "$P/client.pem" --key "$P/client-key.pem" \
	"https://127.0.0.1:$port/_ping" | grep -q OK; }
if ! wait_for 60 up; then
	fail "second dockerd answers over TLS on 127.0.0.1:$port"
	tail -n 20 "$D/dockerd.log" | sed 's/^/# /'
	exit 1
fi
ok "second dockerd with --tlsverify answers on 127.0.0.1:$port"

out=$("$AURIGA_BIN" docker --docker-host "tcp://127.0.0.1:$port" --docker-tls-ca "$P/ca.pem" \
	--docker-tls-cert "$P/client.pem" --docker-tls-key "$P/client-key.pem" ping 2>&1)
expect_match "the right client certificate connects and negotiates" "^api 1\.[0-9]+ endpoint tcp://127\.0\.0\.1:$port" "$out"
out=$("$AURIGA_BIN" docker --docker-host "tcp://127.0.0.1:$port" --docker-tls-ca "$P/ca.pem" \
	--docker-tls-cert "$P/client.pem" --docker-tls-key "$P/client-key.pem" ps 2>&1)
expect_eq "a call after negotiation works (no containers on the new daemon)" "" "$out"

# The same, from the environment, as the docker CLI reads it.
mkdir -p "$TEST_TMP/certdir"
cp "$P/ca.pem" "$TEST_TMP/certdir/ca.pem"
cp "$P/client.pem" "$TEST_TMP/certdir/cert.pem"
cp "$P/client-key.pem" "$TEST_TMP/certdir/key.pem"
out=$(DOCKER_HOST="tcp://127.0.0.1:$port" DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH="$TEST_TMP/certdir" \
	"$AURIGA_BIN" docker ping 2>&1)
expect_match "DOCKER_HOST, DOCKER_TLS_VERIFY and DOCKER_CERT_PATH are honoured" "^api 1\.[0-9]+ " "$out"

out=$("$AURIGA_BIN" docker --docker-host "tcp://127.0.0.1:$port" --docker-tls-ca "$P/ca.pem" ping 2>&1)
rc=$?
expect_eq "without a client certificate: refused" "1" "$rc"
expect_match "... with a transport error naming the endpoint" "cannot ping 'tcp://127\.0\.0\.1:$port'.*: .*" "$out"

out=$("$AURIGA_BIN" docker --docker-host "tcp://127.0.0.1:$port" --docker-tls-ca "$P/ca.pem" \
	--docker-tls-cert "$P/stranger.pem" --docker-tls-key "$P/stranger-key.pem" ping 2>&1)
rc=$?
expect_eq "with a certificate from another CA: refused" "1" "$rc"
diag "$out"

out=$("$AURIGA_BIN" docker --docker-host "tcp://127.0.0.1:$port" --docker-tls-ca "$P/otherca.pem" \
	--docker-tls-cert "$P/client.pem" --docker-tls-key "$P/client-key.pem" ping 2>&1)
rc=$?
expect_eq "a daemon whose certificate our CA did not sign: refused" "1" "$rc"

out=$("$AURIGA_BIN" docker --docker-host "tcp://127.0.0.1:$port" ping 2>&1)
rc=$?
expect_eq "plain HTTP to the TLS port: refused" "1" "$rc"

second_dockerd_stop "$D"
has_docker0=$(ip link show docker0 >/dev/null 2>&1 && echo yes || echo no)
expect_eq "the main daemon's docker0 is untouched by the second daemon" "$had_docker0" "$has_docker0"

done_testing
