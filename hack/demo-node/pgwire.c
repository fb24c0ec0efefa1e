/* A PostgreSQL client of the frontend/backend protocol 3.0, its simple-query subset: connect, log in, run a statement. */

/*
 * Why not libpq: Debian's libpq-dev ships libpq.a, but it links only with
 * libpgcommon and libpgport (postgresql-server-dev) and the GSSAPI and LDAP
 * development libraries, and a shared libpq would pull those libraries into
 * every FROM-scratch image. The subset the node needs is small: the startup
 * message, the logins PostgreSQL offers over TCP (SCRAM-SHA-256, which the
 * auriga-postgres image's pg_hba.conf asks for, md5, and trust), and simple
 * queries. Every message is read whole into a bounded buffer, every socket
 * operation has a timeout, and the cryptography is OpenSSL's.
 */
#include "pgwire.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PG_PROTOCOL_3_0 196608
#define AUTH_OK 0
#define AUTH_MD5 5
#define AUTH_SASL 10
#define AUTH_SASL_CONTINUE 11
#define AUTH_SASL_FINAL 12
#define SCRAM_KEY 32			/* SHA-256 */
#define SCRAM_ITER_MAX 1000000
#define SCRAM_TEXT_MAX 1024		/* the server's SCRAM messages */

static uint32_t be32(const char *p)
{
	const unsigned char *u = (const unsigned char *)p;

	return (uint32_t)u[0] << 24 | (uint32_t)u[1] << 16 | (uint32_t)u[2] << 8 | u[3];
}

static int put32(struct buf *b, uint32_t v)
{
	char p[4] = { (char)(v >> 24), (char)(v >> 16), (char)(v >> 8), (char)v };

	return buf_append(b, p, 4);
}

/* Sends one message: TYPE (none for the startup message), its length, BODY. */
static int send_msg(struct pgconn *c, char type, const char *body, size_t len, char *why, size_t n)
{
	struct buf b;
	int rc = 0;

	buf_init(&b, PG_MSG_MAX + 8);
	if (type != '\0')
		rc |= buf_append(&b, &type, 1);
	rc |= put32(&b, (uint32_t)(len + 4));
	rc |= buf_append(&b, body, len);
	if (rc == 0)
		rc = net_write_all(c->fd, b.data, b.len);
	if (rc != 0)
		snprintf(why, n, "cannot send to the database");
	buf_release(&b);
	return rc;
}

/* Reads one message whole into c->msg (NUL-terminated after its body); -1 on a read error or an oversized one. */
static int read_msg(struct pgconn *c, char *why, size_t n)
{
	char h[5];
	uint32_t len;

	if (net_read_full(c->fd, h, sizeof(h)) != 0) {
		snprintf(why, n, "the database closed the connection or did not answer");
		return -1;
	}
	len = be32(h + 1);
	if (len < 4 || len - 4 > PG_MSG_MAX) {
		snprintf(why, n, "a message of %u bytes from the database is over the %d-byte bound", len, PG_MSG_MAX);
		return -1;
	}
	c->type = h[0];
	c->len = len - 4;
	if (net_read_full(c->fd, c->msg, c->len) != 0) {
		snprintf(why, n, "the database closed the connection in a message");
		return -1;
	}
	c->msg[c->len] = '\0';
	return 0;
}

/* An ErrorResponse as "SEVERITY: message (SQLSTATE)", safe in a JSON string: ' for ", / for \, control bytes spaces. */
static void error_text(const struct pgconn *c, char *why, size_t n)
{
	const char *sev = "ERROR", *msg = "", *code = "";
	size_t i = 0;

	while (i < c->len && c->msg[i] != '\0') {
		char f = c->msg[i++];
		const char *v = c->msg + i;

		i += strnlen(v, c->len - i) + 1;
		if (f == 'S')
			sev = v;
		else if (f == 'M')
			msg = v;
		else if (f == 'C')
			code = v;
	}
	snprintf(why, n, "%s: %s (SQLSTATE %s)", sev, msg, code);
	for (i = 0; why[i] != '\0'; i++) {
		if (why[i] == '"')
			why[i] = '\'';
		else if (why[i] == '\\')
			why[i] = '/';
		else if ((unsigned char)why[i] < ' ')
			why[i] = ' ';
	}
}

static int hmac256(const unsigned char *key, size_t klen, const void *data, size_t dlen, unsigned char *out)
{
	unsigned int olen = 0;

	return HMAC(EVP_sha256(), key, (int)klen, data, dlen, out, &olen) != NULL && olen == SCRAM_KEY ? 0 : -1;
}

struct scram {
	char nonce[33];			/* the client's */
	char first_bare[64];		/* client-first-message-bare */
	char server_first[SCRAM_TEXT_MAX + 1];
	char final_bare[SCRAM_TEXT_MAX + 64];	/* client-final-message-without-proof */
	char auth[3 * SCRAM_TEXT_MAX];		/* the AuthMessage both signatures sign */
	unsigned char salted[SCRAM_KEY];
};

/* The value of ATTR ("r=", "s=", "i=") in a SCRAM message, or NULL; its length in len. */
static const char *scram_attr(const char *m, const char *attr, size_t *len)
{
	const char *p = m;

	while (p != NULL && *p != '\0') {
		if (strncmp(p, attr, 2) == 0) {
			*len = strcspn(p + 2, ",");
			return p + 2;
		}
		p = strchr(p, ',');
		p = p != NULL ? p + 1 : NULL;
	}
	return NULL;
}

/* SASLInitialResponse: SCRAM-SHA-256 with no channel binding ("n,,"), a fresh nonce. */
static int scram_first(struct pgconn *c, const char *mechs, size_t mlen, struct scram *s, char *why, size_t n)
{
	unsigned char raw[18];
	struct buf b;
	int blen, rc = 0;

	if (memmem(mechs, mlen + 1, "SCRAM-SHA-256\0", 14) == NULL) {
		snprintf(why, n, "the database offers no SCRAM-SHA-256 login (this client has no channel binding)");
		return -1;
	}
	if (RAND_bytes(raw, sizeof(raw)) != 1) {
		snprintf(why, n, "no random bytes for the SCRAM nonce");
		return -1;
	}
	EVP_EncodeBlock((unsigned char *)s->nonce, raw, sizeof(raw));
	blen = snprintf(s->first_bare, sizeof(s->first_bare), "n=,r=%s", s->nonce);
	/* The mechanism (NUL-terminated), the length of the client-first-message, the message. */
	buf_init(&b, 256);
	rc |= buf_append(&b, "SCRAM-SHA-256", 14);
	rc |= put32(&b, (uint32_t)blen + 3);
	rc |= buf_printf(&b, "n,,%s", s->first_bare);
	if (rc == 0)
		rc = send_msg(c, 'p', b.data, b.len, why, n);
	buf_release(&b);
	return rc;
}

/* server-first "r=NONCE,s=SALT,i=ITER": the salted password, and the proof sent back. */
static int scram_continue(struct pgconn *c, const char *m, size_t mlen, struct scram *s, const char *password,
			  char *why, size_t n)
{
	const char *r, *salt_b64, *iter_s;
	size_t rlen, slen, ilen;
	unsigned char salt[96], client_key[SCRAM_KEY], stored[SCRAM_KEY], sig[SCRAM_KEY], proof[SCRAM_KEY];
	char msg[SCRAM_TEXT_MAX + 128], iter_buf[16];
	const char *auth = s->auth;
	long iter;
	int saltn, i;

	if (mlen > SCRAM_TEXT_MAX) {
		snprintf(why, n, "the server's SCRAM message is over %d bytes", SCRAM_TEXT_MAX);
		return -1;
	}
	memcpy(s->server_first, m, mlen);
	s->server_first[mlen] = '\0';
	r = scram_attr(s->server_first, "r=", &rlen);
	salt_b64 = scram_attr(s->server_first, "s=", &slen);
	iter_s = scram_attr(s->server_first, "i=", &ilen);
	if (r == NULL || salt_b64 == NULL || iter_s == NULL || rlen <= strlen(s->nonce) ||
	    strncmp(r, s->nonce, strlen(s->nonce)) != 0 || slen == 0 || slen > 128 || slen % 4 != 0 ||
	    ilen == 0 || ilen >= sizeof(iter_buf)) {
		snprintf(why, n, "the server's SCRAM message is not one (nonce, salt, iterations)");
		return -1;
	}
	snprintf(iter_buf, sizeof(iter_buf), "%.*s", (int)ilen, iter_s);
	saltn = EVP_DecodeBlock(salt, (const unsigned char *)salt_b64, (int)slen);
	if (parse_long(iter_buf, 1, SCRAM_ITER_MAX, &iter) != 0 || saltn < 0) {
		snprintf(why, n, "the server's SCRAM salt or iteration count is not one");
		return -1;
	}
	saltn -= (salt_b64[slen - 1] == '=') + (salt_b64[slen - 2] == '=');
	snprintf(s->final_bare, sizeof(s->final_bare), "c=biws,r=%.*s", (int)rlen, r);
	snprintf(s->auth, sizeof(s->auth), "%s,%s,%s", s->first_bare, s->server_first, s->final_bare);
	if (PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt, saltn, (int)iter, EVP_sha256(),
			      SCRAM_KEY, s->salted) != 1 ||
	    hmac256(s->salted, SCRAM_KEY, "Client Key", 10, client_key) != 0 ||
	    EVP_Digest(client_key, SCRAM_KEY, stored, NULL, EVP_sha256(), NULL) != 1 ||
	    hmac256(stored, SCRAM_KEY, auth, strlen(auth), sig) != 0) {
		snprintf(why, n, "cannot compute the SCRAM proof");
		return -1;
	}
	for (i = 0; i < SCRAM_KEY; i++)
		proof[i] = client_key[i] ^ sig[i];
	i = snprintf(msg, sizeof(msg), "%s,p=", s->final_bare);
	i += EVP_EncodeBlock((unsigned char *)msg + i, proof, SCRAM_KEY);
	return send_msg(c, 'p', msg, (size_t)i, why, n);
}

/* server-final "v=SIGNATURE": the server proves it knows the password too. */
static int scram_final(const char *m, size_t mlen, const struct scram *s, char *why, size_t n)
{
	unsigned char server_key[SCRAM_KEY], sig[SCRAM_KEY];
	char want[64];
	const char *auth = s->auth;

	if (hmac256(s->salted, SCRAM_KEY, "Server Key", 10, server_key) != 0 ||
	    hmac256(server_key, SCRAM_KEY, auth, strlen(auth), sig) != 0) {
		snprintf(why, n, "cannot compute the SCRAM server signature");
		return -1;
	}
	memcpy(want, "v=", 2);
	EVP_EncodeBlock((unsigned char *)want + 2, sig, SCRAM_KEY);
	if (mlen < strlen(want) || strncmp(m, want, strlen(want)) != 0) {
		snprintf(why, n, "the server's SCRAM signature is wrong: it does not know the password");
		return -1;
	}
	return 0;
}

/* md5 login: "md5" + md5hex(md5hex(password + user) + salt). */
static int md5_login(struct pgconn *c, const char *m, size_t mlen, const struct db_target *t, char *why, size_t n)
{
	unsigned char d[16];
	char hex[33], in[2 * DB_FIELD_MAX + 40], out[40];
	int i, len;

	if (mlen < 4) {
		snprintf(why, n, "the md5 request has no salt");
		return -1;
	}
	len = snprintf(in, sizeof(in), "%s%s", t->password, t->user);
	if (EVP_Digest(in, (size_t)len, d, NULL, EVP_md5(), NULL) != 1)
		return snprintf(why, n, "cannot compute the md5 login"), -1;
	for (i = 0; i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", d[i]);
	memcpy(in, hex, 32);
	memcpy(in + 32, m, 4);
	if (EVP_Digest(in, 36, d, NULL, EVP_md5(), NULL) != 1)
		return snprintf(why, n, "cannot compute the md5 login"), -1;
	for (i = 0; i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", d[i]);
	snprintf(out, sizeof(out), "md5%s", hex);
	return send_msg(c, 'p', out, 36, why, n);
}

/* One authentication request (an 'R' message): 1 when logged in, 0 to read on, -1 on failure. */
static int auth_step(struct pgconn *c, const struct db_target *t, struct scram *s, char *why, size_t n)
{
	const char *m = c->msg + 4;	/* what follows the code, NUL-terminated as c->msg is */
	size_t mlen;
	uint32_t code;

	if (c->len < 4) {
		snprintf(why, n, "an authentication message without its code");
		return -1;
	}
	code = be32(c->msg);
	mlen = c->len - 4;
	switch (code) {
	case AUTH_OK:
		return 1;
	case AUTH_MD5:
		return md5_login(c, m, mlen, t, why, n);
	case AUTH_SASL:
		return scram_first(c, m, mlen, s, why, n);
	case AUTH_SASL_CONTINUE:
		return scram_continue(c, m, mlen, s, t->password, why, n);
	case AUTH_SASL_FINAL:
		return scram_final(m, mlen, s, why, n);
	default:
		snprintf(why, n, "the database asks for login method %u; this client speaks scram-sha-256, md5 "
			 "and trust", code);
		return -1;
	}
}

static int startup(struct pgconn *c, const struct db_target *t, char *why, size_t n)
{
	struct buf b;
	int rc = 0;

	buf_init(&b, 2048);
	rc |= put32(&b, PG_PROTOCOL_3_0);
	rc |= buf_printf(&b, "user%c%s%cdatabase%c%s%capplication_name%cdemo-node%c", 0, t->user, 0, 0,
			 t->dbname, 0, 0, 0);
	rc |= buf_append(&b, "", 1);
	if (rc == 0)
		rc = send_msg(c, '\0', b.data, b.len, why, n);
	buf_release(&b);
	return rc;
}

int pg_open(struct pgconn *c, const struct db_target *t, int timeout_s, char *why, size_t n)
{
	struct scram s;
	int logged_in = 0, rc = -1;

	memset(&s, 0, sizeof(s));
	c->fd = net_connect(t->host, t->port, timeout_s, why, n);
	if (c->fd < 0)
		return -1;
	if (startup(c, t, why, n) != 0)
		goto out;
	for (;;) {
		if (read_msg(c, why, n) != 0)
			goto out;
		if (c->type == 'E') {
			error_text(c, why, n);
			goto out;
		}
		if (c->type == 'R') {
			int step = auth_step(c, t, &s, why, n);

			if (step < 0)
				goto out;
			logged_in |= step;
		} else if (c->type == 'Z') {
			break;
		} else if (c->type != 'S' && c->type != 'K' && c->type != 'N') {
			snprintf(why, n, "an unexpected message '%c' while logging in", c->type);
			goto out;
		}
	}
	if (!logged_in) {
		snprintf(why, n, "the database was ready before it said the login succeeded");
		goto out;
	}
	rc = 0;
out:
	OPENSSL_cleanse(&s, sizeof(s));
	if (rc != 0)
		pg_close(c);
	return rc;
}

int pg_query(struct pgconn *c, const char *sql, char *first, size_t first_size, char *why, size_t n)
{
	int failed = 0;

	if (first != NULL && first_size > 0)
		first[0] = '\0';
	if (send_msg(c, 'Q', sql, strlen(sql) + 1, why, n) != 0)
		return PG_BROKEN;
	for (;;) {
		if (read_msg(c, why, n) != 0)
			return PG_BROKEN;
		switch (c->type) {
		case 'E':
			error_text(c, why, n);
			failed = 1;
			break;
		case 'D':
			/* The first column of the first row: a field count, then a length (-1: NULL) and bytes. */
			if (first != NULL && first[0] == '\0' && c->len >= 6 && be32(c->msg + 2) != UINT32_MAX &&
			    be32(c->msg + 2) <= c->len - 6)
				snprintf(first, first_size, "%.*s", (int)be32(c->msg + 2), c->msg + 6);
			break;
		case 'Z':
			return failed ? PG_FAILED : 0;
		case 'T': case 'C': case 'I': case 'N': case 'S':
			break;
		default:
			snprintf(why, n, "an unexpected message '%c' in a query's answer", c->type);
			return PG_BROKEN;
		}
	}
}

void pg_close(struct pgconn *c)
{
	if (c->fd >= 0) {
		/* Terminate, so the server logs a clean end; a failure changes nothing. */
		char x[5] = { 'X', 0, 0, 0, 4 };

		(void)net_write_all(c->fd, x, sizeof(x));
		close(c->fd);
	}
	c->fd = -1;
}
