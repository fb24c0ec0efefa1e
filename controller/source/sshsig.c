/* SSH signature verification (sshsig: ed25519, RSA with SHA-2, ECDSA P-256/384/521) with OpenSSL. */
#include "source/sshsig.h"

#include "buf.h"
#include "runtime/file.h"
#include "util.h"

#include <errno.h>
#include <git2.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define SIGNERS_MAX (1u << 20)
#define ARMOR_BEGIN "-----BEGIN SSH SIGNATURE-----"
#define ARMOR_END "-----END SSH SIGNATURE-----"

struct signer {
	char *principals;
	char *namespaces;	/* NULL: any */
	int64_t valid_after;	/* epoch seconds the key is valid from (valid-after), or INT64_MIN */
	int64_t valid_before;	/* epoch seconds it is valid until, inclusive (valid-before), or INT64_MAX */
	unsigned char *key;	/* the public key blob */
	size_t key_len;
};

struct sshsig_signers {
	struct signer *v;
	size_t n, cap;
};

int sshsig_b64decode(const char *in, size_t n, unsigned char **out, size_t *out_len)
{
	EVP_ENCODE_CTX *ctx;
	unsigned char *o;
	int l1 = 0, l2 = 0, r = -1;

	if (n > INT32_MAX)
		return -1;
	ctx = EVP_ENCODE_CTX_new();
	if (ctx == NULL)
		return -1;
	o = xmalloc(n / 4 * 3 + 4);
	EVP_DecodeInit(ctx);
	if (EVP_DecodeUpdate(ctx, o, &l1, (const unsigned char *)in, (int)n) < 0)
		goto out;
	if (EVP_DecodeFinal(ctx, o + l1, &l2) < 0)
		goto out;
	*out = o;
	*out_len = (size_t)l1 + (size_t)l2;
	o = NULL;
	r = 0;
out:
	free(o);
	EVP_ENCODE_CTX_free(ctx);
	return r;
}

/* The SSH wire format: uint32 lengths in front of strings and mpints. */
struct rd {
	const unsigned char *p;
	size_t len;
};

static int rd_u32(struct rd *r, uint32_t *v)
{
	if (r->len < 4)
		return -1;
	*v = (uint32_t)r->p[0] << 24 | (uint32_t)r->p[1] << 16 | (uint32_t)r->p[2] << 8 | r->p[3];
	r->p += 4;
	r->len -= 4;
	return 0;
}

static int rd_str(struct rd *r, const unsigned char **s, size_t *n)
{
	uint32_t l;

	if (rd_u32(r, &l) < 0 || l > r->len)
		return -1;
	*s = r->p;
	*n = l;
	r->p += l;
	r->len -= l;
	return 0;
}

static int str_is(const unsigned char *s, size_t n, const char *lit)
{
	return n == strlen(lit) && memcmp(s, lit, n) == 0;
}

static void put_str(struct buf *b, const void *s, size_t n)
{
	unsigned char l[4] = { (unsigned char)(n >> 24), (unsigned char)(n >> 16), (unsigned char)(n >> 8),
			       (unsigned char)n };

	buf_append(b, l, 4);
	buf_append(b, s, n);
}

/* "SHA256:<base64>" of a key blob, for messages. */
static void fingerprint(const unsigned char *key, size_t len, char *out, size_t n)
{
	unsigned char md[32], b64[48];
	unsigned mdlen = 0;
	int l;

	EVP_Digest(key, len, md, &mdlen, EVP_sha256(), NULL);
	l = EVP_EncodeBlock(b64, md, (int)mdlen);
	while (l > 0 && b64[l - 1] == '=')
		l--;
	snprintf(out, n, "SHA256:%.*s", l, (const char *)b64);
}

static int key_type_known(const char *t)
{
	return strcmp(t, "ssh-ed25519") == 0 || strcmp(t, "ssh-rsa") == 0 ||
	       strcmp(t, "ecdsa-sha2-nistp256") == 0 || strcmp(t, "ecdsa-sha2-nistp384") == 0 ||
	       strcmp(t, "ecdsa-sha2-nistp521") == 0;
}

/* Splits off the next whitespace-separated token; double quotes keep spaces inside. */
static char *next_token(char **s)
{
	char *p = *s, *start;
	int quoted = 0;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0' || *p == '\n' || *p == '\r')
		return NULL;
	start = p;
	while (*p && (quoted || (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r'))) {
		if (*p == '"')
			quoted = !quoted;
		p++;
	}
	if (*p)
		*p++ = '\0';
	*s = p;
	return start;
}

/*
 * A time of valid-after / valid-before: YYYYMMDD or YYYYMMDDHHMM[SS], in the
 * local time zone unless it ends in Z (UTC), as ssh-keygen(1) reads them.
 */
static int parse_signer_time(const char *v, int64_t *out)
{
	size_t n = strlen(v), digits;
	int utc = n > 0 && (v[n - 1] == 'Z' || v[n - 1] == 'z');
	struct tm tm, check;
	int f[6] = { 0, 0, 0, 0, 0, 0 };
	size_t i;
	time_t t;

	digits = utc ? n - 1 : n;
	if (digits != 8 && digits != 12 && digits != 14)
		return -1;
	for (i = 0; i < digits; i++)
		if (v[i] < '0' || v[i] > '9')
			return -1;
	f[0] = (v[0] - '0') * 1000 + (v[1] - '0') * 100 + (v[2] - '0') * 10 + (v[3] - '0');
	for (i = 1; i < 6 && i * 2 + 4 <= digits; i++)
		f[i] = (v[i * 2 + 2] - '0') * 10 + (v[i * 2 + 3] - '0');
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = f[0] - 1900;
	tm.tm_mon = f[1] - 1;
	tm.tm_mday = f[2];
	tm.tm_hour = f[3];
	tm.tm_min = f[4];
	tm.tm_sec = f[5];
	tm.tm_isdst = -1;
	check = tm;
	t = utc ? timegm(&tm) : mktime(&tm);
	/* A field out of its range (month 13, 25 o'clock) is normalised by the C library: refuse it. */
	if (t == (time_t)-1 || tm.tm_year != check.tm_year || tm.tm_mon != check.tm_mon ||
	    tm.tm_mday != check.tm_mday || tm.tm_hour != check.tm_hour || tm.tm_min != check.tm_min ||
	    tm.tm_sec != check.tm_sec)
		return -1;
	*out = (int64_t)t;
	return 0;
}

/* The next option of a comma-separated list (a comma inside quotes is part of a value). */
static char *next_option(char **s)
{
	char *p = *s, *start = p;
	int quoted = 0;

	if (*p == '\0')
		return NULL;
	while (*p && (quoted || *p != ',')) {
		if (*p == '"')
			quoted = !quoted;
		p++;
	}
	if (*p)
		*p++ = '\0';
	*s = p;
	return start;
}

/*
 * The options field of an allowed-signers line (ssh-keygen(1)):
 * cert-authority, namespaces="...", valid-after="...", valid-before="...".
 * Anything else is refused, so no option is taken and ignored. Sets
 * *cert when cert-authority is present.
 */
static int signer_options(struct signer *sg, const char *opts, int *cert, const char *name, unsigned lineno,
			  struct error **err)
{
	char *copy = xstrdup(opts), *p = copy, *o;
	int r = 0;

	*cert = 0;
	while (r == 0 && (o = next_option(&p)) != NULL) {
		char *eq = strchr(o, '='), *v;
		size_t vn;

		if (eq == NULL && strcasecmp(o, "cert-authority") == 0) {
			*cert = 1;
			continue;
		}
		if (eq == NULL) {
			r = error_set(err, ERR_INVALID, "%s:%u: option '%s' is not known", name, lineno, o);
			break;
		}
		*eq = '\0';
		v = eq + 1;
		vn = strlen(v);
		if (vn >= 2 && v[0] == '"' && v[vn - 1] == '"') {
			v[vn - 1] = '\0';
			v++;
		}
		if (strcasecmp(o, "namespaces") == 0) {
			free(sg->namespaces);
			sg->namespaces = xstrdup(v);
		} else if (strcasecmp(o, "valid-after") == 0 || strcasecmp(o, "valid-before") == 0) {
			int after = strcasecmp(o, "valid-after") == 0;

			if (parse_signer_time(v, after ? &sg->valid_after : &sg->valid_before) < 0)
				r = error_set(err, ERR_INVALID,
					      "%s:%u: %s: '%s' is not a time (YYYYMMDD or YYYYMMDDHHMM[SS], Z for UTC)",
					      name, lineno, o, v);
		} else {
			r = error_set(err, ERR_INVALID, "%s:%u: option '%s' is not known", name, lineno, o);
		}
	}
	free(copy);
	return r;
}

int sshsig_signers_parse(struct sshsig_signers **out, const char *text, size_t len, const char *name,
			 struct error **err)
{
	struct sshsig_signers *s = xcalloc(1, sizeof(*s));
	char *copy = xstrndup(text, len), *line, *save = NULL;
	unsigned lineno = 0;
	int r = 0;

	*out = NULL;
	for (line = copy; line && r == 0; line = save) {
		char *nl = strchr(line, '\n'), *p, *principals, *tok, *opts = NULL, *k64;
		struct signer sg;
		int cert = 0;

		save = nl ? nl + 1 : NULL;
		if (nl)
			*nl = '\0';
		lineno++;
		p = line;
		principals = next_token(&p);
		if (principals == NULL || *principals == '#')
			continue;
		tok = next_token(&p);
		if (tok && !key_type_known(tok)) {
			opts = tok;
			tok = next_token(&p);
		}
		if (tok == NULL || !key_type_known(tok)) {
			r = error_set(err, ERR_INVALID, "%s:%u: expected a key type (ssh-ed25519, ssh-rsa, ecdsa-sha2-nistp*)%s%s",
				      name, lineno, tok ? ", not " : "", tok ? tok : "");
			break;
		}
		memset(&sg, 0, sizeof(sg));
		sg.valid_after = INT64_MIN;
		sg.valid_before = INT64_MAX;
		if (opts && (r = signer_options(&sg, opts, &cert, name, lineno, err)) < 0) {
			free(sg.namespaces);
			break;
		}
		if (cert) {
			/* Certificate signers are not supported: such a line allows nothing. */
			free(sg.namespaces);
			continue;
		}
		k64 = next_token(&p);
		if (k64 == NULL || sshsig_b64decode(k64, strlen(k64), &sg.key, &sg.key_len) < 0 || sg.key_len < 8) {
			free(sg.key);
			free(sg.namespaces);
			r = error_set(err, ERR_INVALID, "%s:%u: the public key is not valid base64", name, lineno);
			break;
		}
		sg.principals = xstrdup(principals);
		XGROW(s->v, s->cap, s->n + 1);
		s->v[s->n++] = sg;
	}
	free(copy);
	if (r < 0) {
		sshsig_signers_free(s);
		return r;
	}
	*out = s;
	return 0;
}

int sshsig_signers_load(struct sshsig_signers **out, const char *path, struct error **err)
{
	struct buf b;
	int r;

	*out = NULL;
	buf_init(&b, SIGNERS_MAX);
	r = file_read(path, "allowed signers file", FILE_REGULAR, &b, err);
	if (r == 0)
		r = sshsig_signers_parse(out, b.data, b.len, path, err);
	buf_release(&b);
	return r;
}

void sshsig_signers_free(struct sshsig_signers *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->n; i++)
		FREE_ALL(s->v[i].principals, s->v[i].namespaces, s->v[i].key);
	free(s->v);
	free(s);
}

size_t sshsig_signers_count(const struct sshsig_signers *s)
{
	return s ? s->n : 0;
}

static int ns_allowed(const char *list, const char *ns)
{
	char *copy, *save = NULL, *t;
	int ok = 0;

	if (list == NULL)
		return 1;
	copy = xstrdup(list);
	for (t = strtok_r(copy, ",", &save); t && !ok; t = strtok_r(NULL, ",", &save))
		ok = strcmp(t, ns) == 0 || strcmp(t, "*") == 0;
	free(copy);
	return ok;
}

static EVP_PKEY *pkey_from_params(const char *alg, OSSL_PARAM_BLD *bld)
{
	OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, alg, NULL);
	EVP_PKEY *pkey = NULL;

	if (params && ctx && EVP_PKEY_fromdata_init(ctx) == 1)
		EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	return pkey;
}

/* Builds the key from its blob and checks the signature blob over data. 1 good, 0 bad, -1 unusable. */
static int verify_raw(const unsigned char *key, size_t key_len, const unsigned char *sig, size_t sig_len,
		      const unsigned char *data, size_t data_len, const char **why)
{
	struct rd k = { key, key_len }, s = { sig, sig_len };
	const unsigned char *ktype, *stype, *sbytes, *a, *b;
	size_t ktype_n, stype_n, sbytes_n, a_n, b_n;
	EVP_PKEY *pkey = NULL;
	EVP_MD_CTX *md = NULL;
	const EVP_MD *dg = NULL;
	OSSL_PARAM_BLD *bld = NULL;
	BIGNUM *bn1 = NULL, *bn2 = NULL;
	ECDSA_SIG *ecsig = NULL;
	unsigned char *der = NULL;
	int der_len, ok = -1;

	if (rd_str(&k, &ktype, &ktype_n) < 0 || rd_str(&s, &stype, &stype_n) < 0 ||
	    rd_str(&s, &sbytes, &sbytes_n) < 0) {
		*why = "malformed key or signature";
		return -1;
	}
	if (str_is(ktype, ktype_n, "ssh-ed25519")) {
		if (rd_str(&k, &a, &a_n) < 0 || a_n != 32 || !str_is(stype, stype_n, "ssh-ed25519")) {
			*why = "malformed ed25519 key or signature";
			goto out;
		}
		pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, a, a_n);
	} else if (str_is(ktype, ktype_n, "ssh-rsa")) {
		if (str_is(stype, stype_n, "rsa-sha2-256"))
			dg = EVP_sha256();
		else if (str_is(stype, stype_n, "rsa-sha2-512"))
			dg = EVP_sha512();
		else {
			*why = "RSA signatures must use rsa-sha2-256 or rsa-sha2-512";
			goto out;
		}
		if (rd_str(&k, &a, &a_n) < 0 || rd_str(&k, &b, &b_n) < 0) {
			*why = "malformed RSA key";
			goto out;
		}
		bn1 = BN_bin2bn(a, (int)a_n, NULL);	/* e */
		bn2 = BN_bin2bn(b, (int)b_n, NULL);	/* n */
		bld = OSSL_PARAM_BLD_new();
		if (!bn1 || !bn2 || !bld || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn2) ||
		    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn1))
			goto out;
		pkey = pkey_from_params("RSA", bld);
	} else if (ktype_n > 11 && memcmp(ktype, "ecdsa-sha2-", 11) == 0) {
		const char *group;
		struct rd es = { sbytes, sbytes_n };
		const unsigned char *r_, *s_;
		size_t r_n, s_n;

		if (rd_str(&k, &a, &a_n) < 0 || rd_str(&k, &b, &b_n) < 0 || ktype_n != stype_n ||
		    memcmp(ktype, stype, ktype_n) != 0) {
			*why = "malformed ECDSA key or signature";
			goto out;
		}
		if (str_is(a, a_n, "nistp256")) {
			group = "P-256";
			dg = EVP_sha256();
		} else if (str_is(a, a_n, "nistp384")) {
			group = "P-384";
			dg = EVP_sha384();
		} else if (str_is(a, a_n, "nistp521")) {
			group = "P-521";
			dg = EVP_sha512();
		} else {
			*why = "unsupported ECDSA curve";
			goto out;
		}
		bld = OSSL_PARAM_BLD_new();
		if (!bld || !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) ||
		    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, b, b_n))
			goto out;
		pkey = pkey_from_params("EC", bld);
		/* The SSH form is two mpints; OpenSSL wants the DER ECDSA-Sig-Value. */
		if (rd_str(&es, &r_, &r_n) < 0 || rd_str(&es, &s_, &s_n) < 0) {
			*why = "malformed ECDSA signature";
			goto out;
		}
		ecsig = ECDSA_SIG_new();
		bn1 = BN_bin2bn(r_, (int)r_n, NULL);
		bn2 = BN_bin2bn(s_, (int)s_n, NULL);
		if (!ecsig || !bn1 || !bn2 || !ECDSA_SIG_set0(ecsig, bn1, bn2))
			goto out;
		bn1 = bn2 = NULL;
		der_len = i2d_ECDSA_SIG(ecsig, &der);
		if (der_len <= 0)
			goto out;
		sbytes = der;
		sbytes_n = (size_t)der_len;
	} else {
		*why = "unsupported key type";
		goto out;
	}
	if (pkey == NULL) {
		*why = "the public key is not usable";
		goto out;
	}
	md = EVP_MD_CTX_new();
	if (md == NULL || EVP_DigestVerifyInit(md, NULL, dg, NULL, pkey) != 1)
		goto out;
	ok = EVP_DigestVerify(md, sbytes, sbytes_n, data, data_len) == 1;
	if (!ok)
		*why = "the signature does not match";
out:
	if (ok < 0 && *why == NULL)
		*why = "cannot set up verification";
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(pkey);
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn1);
	BN_free(bn2);
	ECDSA_SIG_free(ecsig);
	OPENSSL_free(der);
	return ok;
}

/* A UTC time for a message, as ssh-keygen prints them. */
static void fmt_time(int64_t t, char *out, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL || strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, n, "%lld", (long long)t);
}

/*
 * The allowed signer of key pk for namespace ns that is valid at every time
 * of at[]. NULL, with *why set when the key is allowed but not then.
 */
static const struct signer *find_signer(const struct sshsig_signers *signers, const unsigned char *pk, size_t pk_n,
					const char *ns, const int64_t *at, size_t n_at, char *why, size_t why_n)
{
	size_t i, j;

	why[0] = '\0';
	for (i = 0; signers && i < signers->n; i++) {
		const struct signer *sg = &signers->v[i];
		int valid = 1;

		if (sg->key_len != pk_n || memcmp(sg->key, pk, pk_n) != 0 || !ns_allowed(sg->namespaces, ns))
			continue;
		for (j = 0; j < n_at && valid; j++) {
			char t[32], b[32];

			if (at[j] >= sg->valid_after && at[j] <= sg->valid_before)
				continue;
			valid = 0;
			fmt_time(at[j], t, sizeof(t));
			fmt_time(at[j] < sg->valid_after ? sg->valid_after : sg->valid_before, b, sizeof(b));
			snprintf(why, why_n, "the key of %s is not valid at %s (valid-%s %s)", sg->principals, t,
				 at[j] < sg->valid_after ? "after" : "before", b);
		}
		if (valid)
			return sg;
	}
	return NULL;
}

int sshsig_verify(const struct sshsig_signers *signers, const char *armored, size_t armored_len,
		  const void *msg, size_t msg_len, const char *ns, char **principal, struct error **err)
{
	int64_t now = (int64_t)time(NULL);

	return sshsig_verify_at(signers, armored, armored_len, msg, msg_len, ns, &now, 1, principal, err);
}

int sshsig_verify_at(const struct sshsig_signers *signers, const char *armored, size_t armored_len,
		     const void *msg, size_t msg_len, const char *ns, const int64_t *at, size_t n_at,
		     char **principal, struct error **err)
{
	const char *begin, *end, *why = NULL;
	unsigned char *blob = NULL, hash[EVP_MAX_MD_SIZE];
	unsigned hash_len = 0;
	struct rd r;
	const unsigned char *pk, *sns, *reserved, *halg, *sig;
	size_t pk_n, sns_n, reserved_n, halg_n, sig_n, blob_len;
	uint32_t version;
	const struct signer *who = NULL;
	struct buf signed_data;
	char fp[80], why_not[256];
	char *text = xstrndup(armored, armored_len);
	int rc = 0, v;

	buf_init(&signed_data, 1024);
	if (principal)
		*principal = NULL;
	begin = strstr(text, ARMOR_BEGIN);
	end = begin ? strstr(begin, ARMOR_END) : NULL;
	if (begin == NULL || end == NULL) {
		rc = error_set(err, ERR_REFUSED, "not an SSH signature%s",
			       strstr(text, "PGP SIGNATURE") ? " (an OpenPGP one)" : "");
		goto out;
	}
	begin += strlen(ARMOR_BEGIN);
	if (sshsig_b64decode(begin, (size_t)(end - begin), &blob, &blob_len) < 0) {
		rc = error_set(err, ERR_REFUSED, "malformed SSH signature: bad base64");
		goto out;
	}
	r.p = blob;
	r.len = blob_len;
	if (r.len < 6 || memcmp(r.p, "SSHSIG", 6) != 0) {
		rc = error_set(err, ERR_REFUSED, "malformed SSH signature: no SSHSIG magic");
		goto out;
	}
	r.p += 6;
	r.len -= 6;
	if (rd_u32(&r, &version) < 0 || version != 1 || rd_str(&r, &pk, &pk_n) < 0 ||
	    rd_str(&r, &sns, &sns_n) < 0 || rd_str(&r, &reserved, &reserved_n) < 0 ||
	    rd_str(&r, &halg, &halg_n) < 0 || rd_str(&r, &sig, &sig_n) < 0) {
		rc = error_set(err, ERR_REFUSED, "malformed SSH signature");
		goto out;
	}
	if (!str_is(sns, sns_n, ns)) {
		rc = error_set(err, ERR_REFUSED, "signed for namespace '%.*s', not '%s'",
			       (int)(sns_n > 64 ? 64 : sns_n), (const char *)sns, ns);
		goto out;
	}
	fingerprint(pk, pk_n, fp, sizeof(fp));
	who = find_signer(signers, pk, pk_n, ns, at, n_at, why_not, sizeof(why_not));
	if (who == NULL && why_not[0]) {
		rc = error_set(err, ERR_REFUSED, "signed by key %s: %s", fp, why_not);
		goto out;
	}
	if (who == NULL) {
		rc = error_set(err, ERR_REFUSED, "signed by key %s, which is not an allowed signer", fp);
		goto out;
	}
	if (str_is(halg, halg_n, "sha512"))
		v = EVP_Digest(msg, msg_len, hash, &hash_len, EVP_sha512(), NULL);
	else if (str_is(halg, halg_n, "sha256"))
		v = EVP_Digest(msg, msg_len, hash, &hash_len, EVP_sha256(), NULL);
	else {
		rc = error_set(err, ERR_REFUSED, "unsupported signature hash '%.*s'",
			       (int)(halg_n > 32 ? 32 : halg_n), (const char *)halg);
		goto out;
	}
	if (v != 1) {
		rc = error_set(err, ERR_GENERIC, "cannot hash the signed message");
		goto out;
	}
	buf_append(&signed_data, "SSHSIG", 6);
	put_str(&signed_data, sns, sns_n);
	put_str(&signed_data, reserved, reserved_n);
	put_str(&signed_data, halg, halg_n);
	put_str(&signed_data, hash, hash_len);
	v = verify_raw(pk, pk_n, sig, sig_n, (const unsigned char *)signed_data.data, signed_data.len, &why);
	if (v != 1) {
		rc = error_set(err, ERR_REFUSED, "bad signature by %s (%s): %s", who->principals, fp,
			       why ? why : "the signature does not match");
		goto out;
	}
	if (principal)
		*principal = xstrdup(who->principals);
out:
	buf_release(&signed_data);
	free(blob);
	free(text);
	return rc;
}

int sshsig_verify_commit(const struct sshsig_signers *s, git_repository *repo, const char *commit_hex,
			 char **principal, struct error **err)
{
	git_buf sig = { 0 }, data = { 0 };
	git_commit *commit = NULL;
	int64_t at[2];
	git_oid oid;
	int gr, r;

	if (git_oid_fromstr(&oid, commit_hex) < 0)
		return error_set(err, ERR_INVALID, "'%s' is not a commit id", commit_hex);
	gr = git_commit_extract_signature(&sig, &data, repo, &oid, NULL);
	if (gr == GIT_ENOTFOUND) {
		r = error_set(err, ERR_REFUSED, "commit %s is not signed", commit_hex);
		goto out;
	}
	if (gr < 0) {
		const git_error *ge = git_error_last();

		r = error_set(err, ERR_GENERIC, "cannot read the signature of commit %s: %s", commit_hex,
			      ge && ge->message ? ge->message : "unknown error");
		goto out;
	}
	/* The key must be valid when the commit says it was made, as git checks, and now, as ssh-keygen does. */
	gr = git_commit_lookup(&commit, repo, &oid);
	if (gr < 0) {
		r = error_set(err, ERR_GENERIC, "cannot read commit %s", commit_hex);
		goto out;
	}
	at[0] = (int64_t)git_commit_committer(commit)->when.time;
	at[1] = (int64_t)time(NULL);
	r = sshsig_verify_at(s, sig.ptr, sig.size, data.ptr, data.size, "git", at, 2, principal, err);
	if (r < 0)
		error_wrap(err, "commit %s", commit_hex);
out:
	git_commit_free(commit);
	git_buf_dispose(&sig);
	git_buf_dispose(&data);
	return r;
}
