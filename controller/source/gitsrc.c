/* The Git source: a bare libgit2 mirror of the specs repo, fetched with checked credentials and host keys. */
#include "source/gitsrc.h"
#include "source/gitsrc_internal.h"
#include "runtime/file.h"
#include "source/sshsig.h"
#include "util.h"

#include <errno.h>
#include <git2.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_TIMEOUT_MS 60000

static char *dup_opt(const char *s)
{
	return s && *s ? xstrdup(s) : NULL;
}

static void set_cb_error(struct gitsrc *src, const char *msg)
{
	free(src->cb_error);
	src->cb_error = xstrdup(msg);
	git_error_set_str(GIT_ERROR_NET, msg);
}

/*
 * A message may quote what libgit2 or a peer wrote, which may hold the URL
 * as configured: the URL is replaced by its shown form, then the URL's
 * secret and the HTTPS password by "***", so no credential reaches a log,
 * the API or a note.
 */
static void scrub(const struct gitsrc *src, struct error **err)
{
	const char *secrets[2];
	char *m;
	size_t i;

	if (src == NULL || err == NULL || *err == NULL || (*err)->msg == NULL)
		return;
	secrets[0] = src->url_secret;
	secrets[1] = src->https_password;
	if (strcmp(src->url, src->shown_url) != 0 && strstr((*err)->msg, src->url)) {
		m = str_replace_all((*err)->msg, src->url, src->shown_url);
		free((*err)->msg);
		(*err)->msg = m;
	}
	for (i = 0; i < ARRAY_SIZE(secrets); i++) {
		if (secrets[i] == NULL || *secrets[i] == '\0' || strstr((*err)->msg, secrets[i]) == NULL)
			continue;
		m = str_replace_all((*err)->msg, secrets[i], "***");
		free((*err)->msg);
		(*err)->msg = m;
	}
}

/* Turns a libgit2 failure into our error, preferring what a callback of ours said. */
int gitsrc__git_fail(struct gitsrc *src, struct error **err, int gitcode, int kind, const char *what)
{
	const git_error *ge = git_error_last();
	const char *msg = src && src->cb_error ? src->cb_error : ge && ge->message ? ge->message : "unknown error";

	if (kind == 0) {
		switch (gitcode) {
		case GIT_ECERTIFICATE:
		case GIT_EAUTH:
			kind = ERR_REFUSED;
			break;
		case GIT_ENOTFOUND:
			kind = ERR_NOTFOUND;
			break;
		case GIT_ENONFASTFORWARD:
			kind = ERR_CONFLICT;
			break;
		default:
			kind = ERR_TRANSPORT;
		}
		if (gitcode != GIT_ENONFASTFORWARD && ge && ge->message &&
		    (strstr(ge->message, "fastforward") || strstr(ge->message, "not present locally")))
			kind = ERR_CONFLICT;
		if (src && src->cb_error && strstr(src->cb_error, "host key"))
			kind = ERR_REFUSED;
		if (src && src->cb_error && strstr(src->cb_error, "timed out"))
			kind = ERR_TIMEOUT;
	}
	kind = error_set(err, kind, "%s: %s", what, msg);
	scrub(src, err);
	return kind;
}

static int url_is_ssh(const char *url)
{
	const char *colon;

	if (strncmp(url, "ssh://", 6) == 0 || strncmp(url, "git+ssh://", 10) == 0)
		return 1;
	if (strstr(url, "://") || url[0] == '/' || url[0] == '.')
		return 0;
	/* scp-like syntax: a colon before any slash. */
	colon = strchr(url, ':');
	return colon && (strchr(url, '/') == NULL || strchr(url, '/') > colon);
}

static pthread_mutex_t libgit2_mu = PTHREAD_MUTEX_INITIALIZER;

/* Opens the bare mirror at mirror_path, made empty when there is none, twice: repo and net_repo. A libgit2 code. */
static int mirror_open(struct gitsrc *src)
{
	int gr = git_repository_open_bare(&src->repo, src->mirror_path);

	if (gr == GIT_ENOTFOUND)
		gr = git_repository_init(&src->repo, src->mirror_path, 1);
	if (gr == 0)
		gr = git_repository_open_bare(&src->net_repo, src->mirror_path);
	return gr;
}

int gitsrc_open(struct gitsrc **out, const struct gitsrc_config *cfg, struct error **err)
{
	struct gitsrc *src;
	char *user = NULL;
	int r = 0, gr;

	*out = NULL;
	if (cfg->url == NULL || *cfg->url == '\0')
		return error_set(err, ERR_INVALID, "the Git source needs a URL");
	if (cfg->state_dir == NULL || *cfg->state_dir == '\0')
		return error_set(err, ERR_INVALID, "the Git source needs a state directory");
	git_libgit2_init();
	src = xcalloc(1, sizeof(*src));
	pthread_mutex_init(&src->mu, NULL);
	pthread_mutex_init(&src->net_mu, NULL);
	src->url = xstrdup(cfg->url);
	gitsrc__incoming_init(src);
	src->shown_url = url_redact(cfg->url);
	src->url_secret = url_secret(cfg->url);
	src->ref = xstrdup(cfg->ref && *cfg->ref ? cfg->ref : "main");
	src->ssh_user = dup_opt(cfg->ssh_user);
	src->ssh_key = dup_opt(cfg->ssh_key);
	src->ssh_pubkey = dup_opt(cfg->ssh_pubkey);
	src->known_hosts = dup_opt(cfg->known_hosts);
	src->https_user = dup_opt(cfg->https_user);
	src->https_password = dup_opt(cfg->https_password);
	src->ca_bundle = dup_opt(cfg->ca_bundle);
	src->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : DEFAULT_TIMEOUT_MS;
	src->helper = dup_opt(cfg->helper);
	src->state_dir = xstrdup(cfg->state_dir);
	src->limits = cfg->limits;
	src->allow_non_ff = cfg->allow_non_fast_forward;

	if (url_is_ssh(src->url)) {
		src->is_ssh = 1;
		r = gitsrc_parse_ssh_url(src->url, &user, &src->ssh_host, &src->ssh_port, err);
		if (r < 0)
			goto out;
		if (src->ssh_user == NULL)
			src->ssh_user = user ? user : xstrdup("git");
		else
			free(user);
		if (src->known_hosts == NULL) {
			r = error_set(err, ERR_INVALID,
				      "ssh source '%s' needs a known_hosts file: host keys are never accepted unchecked",
				      src->shown_url);
			goto out;
		}
	}
	if (src->ca_bundle) {
		/* libgit2 keeps one CA setting per process; a source with a bundle sets it. */
		pthread_mutex_lock(&libgit2_mu);
		gr = git_libgit2_opts(GIT_OPT_SET_SSL_CERT_LOCATIONS, src->ca_bundle, NULL);
		pthread_mutex_unlock(&libgit2_mu);
		if (gr < 0) {
			r = gitsrc__git_fail(NULL, err, gr, ERR_INVALID, "cannot use the CA bundle");
			error_wrap(err, "'%s'", src->ca_bundle);
			goto out;
		}
	}
	if (cfg->allowed_signers && *cfg->allowed_signers) {
		r = sshsig_signers_load(&src->signers, cfg->allowed_signers, err);
		if (r < 0)
			goto out;
	}

	if (mkdir(cfg->state_dir, 0700) < 0 && errno != EEXIST) {
		r = error_set(err, -errno, "cannot create state directory '%s': %s", cfg->state_dir, strerror(errno));
		goto out;
	}
	src->mirror_path = xmalloc(strlen(cfg->state_dir) + 16);
	snprintf(src->mirror_path, strlen(cfg->state_dir) + 16, "%s/mirror.git", cfg->state_dir);
	gr = mirror_open(src);
	if (gr < 0) {
		r = gitsrc__git_fail(NULL, err, gr, ERR_GENERIC, "cannot open the mirror");
		error_wrap(err, "'%s'", src->mirror_path);
		goto out;
	}
	*out = src;
	src = NULL;
out:
	scrub(src, err);
	gitsrc_free(src);
	return r;
}

void gitsrc_free(struct gitsrc *src)
{
	if (src == NULL)
		return;
	gitsrc__incoming_drop(src);
	git_repository_free(src->repo);
	git_repository_free(src->net_repo);
	sshsig_signers_free(src->signers);
	FREE_ALL(src->url, src->shown_url, src->url_secret, src->ref, src->full_ref, src->state_dir, src->mirror_path,
		 src->helper, src->ssh_user, src->ssh_key,
		 src->ssh_pubkey, src->known_hosts, src->ssh_host, src->https_user, src->https_password,
		 src->ca_bundle, src->cb_error, src->push_status, src->incoming_ref);
	pthread_mutex_destroy(&src->mu);
	pthread_mutex_destroy(&src->net_mu);
	free(src);
	git_libgit2_shutdown();
}

void gitsrc_lock(struct gitsrc *src)
{
	pthread_mutex_lock(&src->mu);
}

void gitsrc_unlock(struct gitsrc *src)
{
	pthread_mutex_unlock(&src->mu);
}

/* The network operations' lock: held across network I/O, never taken by a reader of the mirror. */
static void net_lock(struct gitsrc *src)
{
	pthread_mutex_lock(&src->net_mu);
}

static void net_unlock(struct gitsrc *src)
{
	pthread_mutex_unlock(&src->net_mu);
}

git_repository *gitsrc_repo(struct gitsrc *src)
{
	return src->repo;
}

int gitsrc_mirror_renew(struct gitsrc *src, struct error **err)
{
	char *tmp = xasprintf("%s.new", src->mirror_path);
	git_repository *fresh = NULL;
	int gr, r = 0;

	net_lock(src);
	gitsrc_lock(src);
	/* Made aside first: a mirror that cannot be made leaves the old one as it was. */
	file_remove_tree(tmp);
	gr = git_repository_init(&fresh, tmp, 1);
	git_repository_free(fresh);
	if (gr < 0) {
		r = gitsrc__git_fail(src, err, gr, ERR_GENERIC, "cannot make the mirror anew");
		goto out;
	}
	git_repository_free(src->repo);
	git_repository_free(src->net_repo);
	src->repo = src->net_repo = NULL;
	file_remove_tree(src->mirror_path);
	/* A rename that fails leaves no mirror: an empty one is made in its place. */
	if (rename(tmp, src->mirror_path) < 0)
		r = error_set(err, -errno, "cannot make the mirror '%s' anew: %s", src->mirror_path, strerror(errno));
	gr = mirror_open(src);
	if (gr < 0 && r == 0)
		r = gitsrc__git_fail(src, err, gr, ERR_GENERIC, "cannot open the mirror made anew");
out:
	gitsrc_unlock(src);
	net_unlock(src);
	free(tmp);
	return r;
}

const char *gitsrc_url(const struct gitsrc *src)
{
	return src->shown_url;
}

const char *gitsrc_ref(const struct gitsrc *src)
{
	return src->full_ref ? src->full_ref : src->ref;
}

int64_t gitsrc_backoff_ms(unsigned n, int64_t min_ms, int64_t max_ms)
{
	int64_t d = min_ms > 0 ? min_ms : 1;
	unsigned i;

	for (i = 1; i < n && d < max_ms; i++)
		d *= 2;
	return d > max_ms ? max_ms : d;
}

void gitsrc_fetch_result_release(struct gitsrc_fetch_result *r)
{
	free(r->signer);
	memset(r, 0, sizeof(*r));
}

/* Callbacks: credentials, host keys and certificates, and the deadline. */

static int cb_credentials(git_credential **out, const char *url, const char *user_from_url,
			  unsigned int allowed, void *payload)
{
	struct gitsrc *src = payload;
	char msg[512];
	const char *user;

	if ((allowed & GIT_CREDENTIAL_SSH_KEY) && src->ssh_key) {
		if (src->key_attempts++ > 0) {
			snprintf(msg, sizeof(msg), "the deploy key '%s' was refused by '%s'", src->ssh_key, url);
			set_cb_error(src, msg);
			return GIT_EAUTH;
		}
		user = src->ssh_user ? src->ssh_user : user_from_url ? user_from_url : "git";
		return git_credential_ssh_key_new(out, user, src->ssh_pubkey, src->ssh_key, NULL);
	}
	if ((allowed & GIT_CREDENTIAL_USERNAME) && src->is_ssh) {
		user = src->ssh_user ? src->ssh_user : user_from_url ? user_from_url : "git";
		return git_credential_username_new(out, user);
	}
	if ((allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT) && src->https_password) {
		if (src->pass_attempts++ > 0) {
			snprintf(msg, sizeof(msg), "authentication as '%s' refused by '%s'",
				 src->https_user ? src->https_user : "x-access-token", url);
			set_cb_error(src, msg);
			return GIT_EAUTH;
		}
		return git_credential_userpass_plaintext_new(
			out, src->https_user ? src->https_user : "x-access-token", src->https_password);
	}
	if (src->url_secret)
		snprintf(msg, sizeof(msg), "the credentials in the URL were refused by '%s'", url);
	else
		snprintf(msg, sizeof(msg), "'%s' asks for credentials and none are configured", url);
	set_cb_error(src, msg);
	return GIT_EAUTH;
}

static int cb_certificate(git_cert *cert, int valid, const char *host, void *payload)
{
	struct gitsrc *src = payload;
	struct error *e = NULL;
	char msg[512];

	if (cert->cert_type == GIT_CERT_HOSTKEY_LIBSSH2) {
		const git_cert_hostkey *hk = (const git_cert_hostkey *)cert;

		if (!(hk->type & GIT_CERT_SSH_RAW) || hk->hostkey == NULL) {
			snprintf(msg, sizeof(msg), "ssh host key of '%s' not available to check", host);
			set_cb_error(src, msg);
			return GIT_ECERTIFICATE;
		}
		if (gitsrc_known_hosts_check(src->known_hosts, src->ssh_host ? src->ssh_host : host,
					     src->ssh_port, (const unsigned char *)hk->hostkey,
					     hk->hostkey_len, &e) < 0) {
			set_cb_error(src, error_msg(e));
			error_free(e);
			return GIT_ECERTIFICATE;
		}
		return 0;
	}
	if (valid)
		return 0;
	snprintf(msg, sizeof(msg), "the TLS certificate of '%s' is not trusted%s%s%s", host,
		 src->ca_bundle ? " by the CA bundle '" : "", src->ca_bundle ? src->ca_bundle : "",
		 src->ca_bundle ? "'" : "");
	set_cb_error(src, msg);
	return GIT_ECERTIFICATE;
}

void gitsrc__timeout_text(int64_t ms, char *out, size_t n)
{
	if (ms % 1000 == 0)
		snprintf(out, n, "%lld s", (long long)(ms / 1000));
	else
		snprintf(out, n, "%.1f s", (double)ms / 1000.0);
}

static int check_deadline(struct gitsrc *src)
{
	char msg[256], t[32];

	if (now_ms() <= src->deadline)
		return 0;
	gitsrc__timeout_text(src->timeout_ms, t, sizeof(t));
	snprintf(msg, sizeof(msg), "timed out after %s", t);
	set_cb_error(src, msg);
	return -1;
}

static int cb_transfer(const git_indexer_progress *stats, void *payload)
{
	(void)stats;
	return check_deadline(payload);
}

static int cb_sideband(const char *str, int len, void *payload)
{
	(void)str;
	(void)len;
	return check_deadline(payload);
}

static int cb_push_transfer(unsigned int current, unsigned int total, size_t bytes, void *payload)
{
	(void)current;
	(void)total;
	(void)bytes;
	return check_deadline(payload);
}

static int cb_push_update(const char *refname, const char *status, void *payload)
{
	struct gitsrc *src = payload;

	if (status) {
		char msg[512];

		snprintf(msg, sizeof(msg), "'%s' refused: %s", refname, status);
		free(src->push_status);
		src->push_status = xstrdup(msg);
	}
	return 0;
}

void gitsrc__callbacks_init(struct gitsrc *src, git_remote_callbacks *cbs)
{
	git_remote_init_callbacks(cbs, GIT_REMOTE_CALLBACKS_VERSION);
	cbs->credentials = cb_credentials;
	cbs->certificate_check = cb_certificate;
	cbs->transfer_progress = cb_transfer;
	cbs->sideband_progress = cb_sideband;
	cbs->push_transfer_progress = cb_push_transfer;
	cbs->push_update_reference = cb_push_update;
	cbs->payload = src;
}

static void op_begin(struct gitsrc *src)
{
	src->deadline = now_ms() + src->timeout_ms;
	src->key_attempts = 0;
	src->pass_attempts = 0;
	free(src->cb_error);
	src->cb_error = NULL;
	free(src->push_status);
	src->push_status = NULL;
	git_error_clear();
}

/*
 * An in-memory remote for src->url. url.*.insteadOf rewriting is skipped: the
 * URL is used as configured (and libgit2 1.5 leaks the regex match data of
 * that config lookup on every call).
 */
int gitsrc__make_remote(struct gitsrc *src, git_remote **out)
{
	git_remote_create_options o;

	git_remote_create_options_init(&o, GIT_REMOTE_CREATE_OPTIONS_VERSION);
	o.repository = src->net_repo;
	o.flags = GIT_REMOTE_CREATE_SKIP_INSTEADOF | GIT_REMOTE_CREATE_SKIP_DEFAULT_FETCHSPEC;
	return git_remote_create_with_opts(out, src->url, &o);
}

int gitsrc__connect_remote(struct gitsrc *src, int dir, git_remote **out, struct error **err)
{
	git_remote_callbacks cbs;
	git_remote *remote = NULL;
	int gr;

	*out = NULL;
	gr = gitsrc__make_remote(src, &remote);
	if (gr < 0)
		return gitsrc__git_fail(src, err, gr, ERR_INVALID, "bad remote URL");
	gitsrc__callbacks_init(src, &cbs);
	gr = git_remote_connect(remote, (git_direction)dir, &cbs, NULL, NULL);
	if (gr < 0) {
		char what[600];

		snprintf(what, sizeof(what), "cannot connect to '%s'", src->shown_url);
		git_remote_free(remote);
		return gitsrc__git_fail(src, err, gr, 0, what);
	}
	*out = remote;
	return 0;
}

/* Finds name (or refs/heads/name, refs/tags/name) among the remote's refs. */
const git_remote_head *gitsrc__find_head(const git_remote_head **heads, size_t n, const char *name,
					const char *full)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(heads[i]->name, full) == 0)
			return heads[i];
	(void)name;
	return NULL;
}

/* Under net_mu: the only writer, so the network operations read full_ref without mu. */
void gitsrc__set_full_ref(struct gitsrc *src, const char *full)
{
	pthread_mutex_lock(&src->mu);
	if (src->full_ref == NULL || strcmp(src->full_ref, full) != 0) {
		free(src->full_ref);
		src->full_ref = xstrdup(full);
	}
	pthread_mutex_unlock(&src->mu);
}

static int resolve_ref(struct gitsrc *src, const git_remote_head **heads, size_t n,
		       const git_remote_head **out, struct error **err)
{
	static const char *const prefixes[] = { "refs/heads/", "refs/tags/" };
	char full[512];
	size_t i;

	*out = NULL;
	if (str_has_prefix(src->ref, "refs/")) {
		*out = gitsrc__find_head(heads, n, src->ref, src->ref);
		if (*out)
			gitsrc__set_full_ref(src, src->ref);
	}
	for (i = 0; *out == NULL && !str_has_prefix(src->ref, "refs/") && i < ARRAY_SIZE(prefixes); i++) {
		snprintf(full, sizeof(full), "%s%s", prefixes[i], src->ref);
		*out = gitsrc__find_head(heads, n, src->ref, full);
		if (*out)
			gitsrc__set_full_ref(src, full);
	}
	if (*out == NULL)
		return error_set(err, ERR_NOTFOUND, "'%s' has no branch or tag '%s'", src->shown_url, src->ref);
	return 0;
}

/* Downloads remote_ref into local_ref (forced) unless the object is already here. */
static int download_into(struct gitsrc *src, git_remote *remote, const git_remote_head *head,
			 const char *local_ref, struct error **err)
{
	git_fetch_options opts;
	git_strarray specs;
	git_odb *odb = NULL;
	git_reference *ref = NULL;
	char spec[1100];
	char *specp = spec;
	char what[600];
	int gr, have;

	if (head == NULL)
		return error_set(err, ERR_NOTFOUND, "no ref to fetch from '%s'", src->shown_url);
	gr = git_repository_odb(&odb, src->net_repo);
	if (gr < 0)
		return gitsrc__git_fail(src, err, gr, ERR_GENERIC, "cannot open the mirror's objects");
	have = git_odb_exists(odb, &head->oid);
	git_odb_free(odb);
	if (have) {
		gr = git_reference_create(&ref, src->net_repo, local_ref, &head->oid, 1, "auriga: fetch");
		git_reference_free(ref);
		if (gr < 0)
			return gitsrc__git_fail(src, err, gr, ERR_GENERIC, "cannot update the mirror");
		return 0;
	}
	snprintf(spec, sizeof(spec), "+%s:%s", head->name, local_ref);
	specs.strings = &specp;
	specs.count = 1;
	git_fetch_options_init(&opts, GIT_FETCH_OPTIONS_VERSION);
	gitsrc__callbacks_init(src, &opts.callbacks);
	opts.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
	opts.update_fetchhead = 0;
	snprintf(what, sizeof(what), "cannot fetch '%s' from '%s'", head->name, src->shown_url);
	gr = git_remote_download(remote, &specs, &opts);
	if (gr < 0)
		return gitsrc__git_fail(src, err, gr, 0, what);
	gr = git_remote_update_tips(remote, &opts.callbacks, 0, GIT_REMOTE_DOWNLOAD_TAGS_NONE, "auriga: fetch");
	if (gr < 0)
		return gitsrc__git_fail(src, err, gr, 0, what);
	return 0;
}

/* Connects to the remote for a fetch and lists its refs. */
static int connect_list(struct gitsrc *src, git_remote **remote, const git_remote_head ***heads, size_t *n,
			struct error **err)
{
	int gr, r = gitsrc__connect_remote(src, GIT_DIRECTION_FETCH, remote, err);

	if (r < 0)
		return r;
	gr = git_remote_ls(heads, n, *remote);
	return gr < 0 ? gitsrc__git_fail(src, err, gr, 0, "cannot list the remote's refs") : 0;
}

static int ref_commit(git_repository *repo, const char *name, git_oid *out)
{
	git_reference *ref = NULL;
	git_object *obj = NULL;
	int gr;

	gr = git_reference_lookup(&ref, repo, name);
	if (gr == 0)
		gr = git_reference_peel(&obj, ref, GIT_OBJECT_COMMIT);
	if (gr == 0)
		git_oid_cpy(out, git_object_id(obj));
	git_object_free(obj);
	git_reference_free(ref);
	return gr;
}

/* Connects, finds the configured ref and downloads its head into the staging ref. */
static int fetch_staging(struct gitsrc *src, struct error **err)
{
	git_remote *remote = NULL;
	const git_remote_head **heads;
	const git_remote_head *head = NULL;
	size_t n;
	int r = connect_list(src, &remote, &heads, &n, err);

	if (r == 0)
		r = resolve_ref(src, heads, n, &head, err);
	if (r == 0)
		r = download_into(src, remote, head, GITSRC_STAGING_REF, err);
	if (remote) {
		git_remote_disconnect(remote);
		git_remote_free(remote);
	}
	return r;
}

/* Runs op in the helper process when there is one, else here; under net_mu, after op_begin. */
static int net_run(struct gitsrc *src, enum gitsrc_net_op op, const char *from, const char *to, const char *expect,
		   struct error **err)
{
	if (src->helper)
		return gitsrc__net_spawn(src, op, from, to, expect, err);
	return gitsrc__net_here(src, op, from, to, expect, err);
}

int gitsrc_fetch(struct gitsrc *src, struct gitsrc_fetch_result *out, struct error **err)
{
	git_reference *ref = NULL;
	git_oid prev, now;
	int r = 0, gr, had_prev;

	memset(out, 0, sizeof(*out));
	net_lock(src);
	op_begin(src);
	had_prev = src->full_ref && ref_commit(src->net_repo, src->full_ref, &prev) == 0;
	r = net_run(src, GITSRC_NET_FETCH, NULL, NULL, NULL, err);
	if (r < 0)
		goto out;
	if (!had_prev)
		had_prev = ref_commit(src->net_repo, src->full_ref, &prev) == 0;
	gr = ref_commit(src->net_repo, GITSRC_STAGING_REF, &now);
	if (gr < 0) {
		r = gitsrc__git_fail(src, err, gr, ERR_PROTOCOL, "the fetched ref is not a commit");
		error_wrap(err, "'%s' of '%s'", src->full_ref, src->shown_url);
		goto out;
	}
	git_oid_tostr(out->commit, sizeof(out->commit), &now);
	if (had_prev)
		git_oid_tostr(out->previous, sizeof(out->previous), &prev);
	out->changed = !had_prev || !git_oid_equal(&prev, &now);
	out->forced = had_prev && out->changed && git_graph_descendant_of(src->net_repo, &now, &prev) != 1;
	if (src->signers && out->forced && !src->allow_non_ff) {
		/* Signatures say who wrote a commit, not that it is the newest: an old signed head is a rollback. */
		r = error_set(err, ERR_REFUSED,
			      "'%s' of '%s' moved from %.12s to %.12s, which does not descend from it: a "
			      "non-fast-forward move is refused while signatures are checked "
			      "(allow-non-fast-forward allows it)", src->full_ref, src->shown_url, out->previous, out->commit);
		goto out;
	}
	if (src->signers) {
		r = sshsig_verify_commit(src->signers, src->net_repo, out->commit, &out->signer, err);
		if (r < 0) {
			error_wrap(err, "'%s' of '%s'", src->full_ref, src->shown_url);
			goto out;
		}
	}
	/* Only a commit that passed every check becomes the mirror's ref. */
	gr = git_reference_create(&ref, src->net_repo, src->full_ref, &now, 1, "auriga: fetch");
	if (gr < 0)
		r = gitsrc__git_fail(src, err, gr, ERR_GENERIC, "cannot update the mirror");
out:
	git_reference_free(ref);
	net_unlock(src);
	if (r < 0) {
		char keep[GITSRC_OID_HEX];

		memcpy(keep, out->commit, sizeof(keep));
		gitsrc_fetch_result_release(out);
		memcpy(out->commit, keep, sizeof(keep));
	}
	return r;
}

int gitsrc_head(struct gitsrc *src, char out[GITSRC_OID_HEX], struct error **err)
{
	git_oid oid;
	int r = 0;
	char full[512];

	gitsrc_lock(src);
	if (src->full_ref == NULL) {
		/* Before any fetch in this process: the mirror may hold a ref from an earlier run. */
		snprintf(full, sizeof(full), "%s%s", str_has_prefix(src->ref, "refs/") ? "" : "refs/heads/", src->ref);
		if (ref_commit(src->repo, full, &oid) < 0) {
			snprintf(full, sizeof(full), "refs/tags/%s", src->ref);
			if (ref_commit(src->repo, full, &oid) < 0) {
				r = error_set(err, ERR_NOTFOUND, "no commit of '%s' fetched yet", src->ref);
				goto out;
			}
		}
	} else if (ref_commit(src->repo, src->full_ref, &oid) < 0) {
		r = error_set(err, ERR_NOTFOUND, "no commit of '%s' fetched yet", src->ref);
		goto out;
	}
	git_oid_tostr(out, GITSRC_OID_HEX, &oid);
out:
	gitsrc_unlock(src);
	return r;
}

int gitsrc_snapshot(struct gitsrc *src, const char *commit, const char *path_prefix,
		    struct gitsrc_snapshot **out, struct error **err)
{
	char head[GITSRC_OID_HEX];
	int r;

	if (commit == NULL) {
		r = gitsrc_head(src, head, err);
		if (r < 0)
			return r;
		commit = head;
	}
	gitsrc_lock(src);
	r = gitsrc__snapshot_locked(src, src->repo, &src->limits, commit, path_prefix, out, err);
	gitsrc_unlock(src);
	return r;
}

static int fetch_ref_here(struct gitsrc *src, const char *remote_ref, const char *local_ref, struct error **err)
{
	git_remote *remote = NULL;
	const git_remote_head **heads;
	const git_remote_head *head;
	size_t n;
	int r = connect_list(src, &remote, &heads, &n, err);

	if (r < 0)
		goto out;
	head = gitsrc__find_head(heads, n, remote_ref, remote_ref);
	if (head == NULL) {
		r = error_set(err, ERR_NOTFOUND, "'%s' has no '%s'", src->shown_url, remote_ref);
		goto out;
	}
	r = download_into(src, remote, head, local_ref, err);
out:
	if (remote) {
		git_remote_disconnect(remote);
		git_remote_free(remote);
	}
	return r;
}

/*
 * One network operation on its own: in the helper process when there is one
 * (and here is 0), else here. expect, when not NULL, is the old value a
 * compare-and-swap push replaces.
 */
static int net_op(struct gitsrc *src, enum gitsrc_net_op op, const char *from, const char *to, const char *expect,
		  int here, struct error **err)
{
	int r;

	net_lock(src);
	op_begin(src);
	if (op == GITSRC_NET_PUSH_REF || op == GITSRC_NET_PUSH_CAS)
		src->pushed = 1;
	r = here ? gitsrc__net_here(src, op, from, to, expect, err) : net_run(src, op, from, to, expect, err);
	net_unlock(src);
	return r;
}

int gitsrc_fetch_ref(struct gitsrc *src, const char *remote_ref, const char *local_ref, struct error **err)
{
	return net_op(src, GITSRC_NET_FETCH_REF, remote_ref, local_ref, NULL, 0, err);
}

int gitsrc_push_ref(struct gitsrc *src, const char *local_ref, const char *remote_ref, struct error **err)
{
	return net_op(src, GITSRC_NET_PUSH_REF, local_ref, remote_ref, NULL, 0, err);
}

int gitsrc_push_ref_cas(struct gitsrc *src, const char *local_ref, const char *remote_ref, const char *expect,
			struct error **err)
{
	return net_op(src, GITSRC_NET_PUSH_CAS, local_ref, remote_ref, expect ? expect : "", 0, err);
}

int gitsrc__net_here(struct gitsrc *src, enum gitsrc_net_op op, const char *from, const char *to, const char *expect,
		     struct error **err)
{
	switch (op) {
	case GITSRC_NET_FETCH:
		return fetch_staging(src, err);
	case GITSRC_NET_FETCH_REF:
		return fetch_ref_here(src, from, to, err);
	case GITSRC_NET_PUSH_REF:
		return gitsrc__push_ref_here(src, from, to, err);
	case GITSRC_NET_PUSH_CAS:
		return gitsrc__push_cas_here(src, from, to, expect, err);
	}
	BUG("unknown network operation %d", (int)op);
}

int gitsrc__net_locked(struct gitsrc *src, enum gitsrc_net_op op, const char *from, const char *to,
		       const char *expect, struct error **err)
{
	return net_op(src, op, from, to, expect, 1, err);
}
