/* An approval of a commit for an environment, as the note under that environment's approvals ref records it. */
#include "status/approval_note.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "runtime/signing.h"
#include "source/gitsrc.h"
#include "status/notes.h"
#include "status/status.h"
#include "util.h"

void approval_release(struct approval *a)
{
	FREE_ALL(a->environment, a->instance, a->by, a->unverified_by, a->reason, a->unverified_reason);
	memset(a, 0, sizeof(*a));
}

void approval_copy(struct approval *dst, const struct approval *src)
{
	dst->environment = xstrdup_or_null(src->environment);
	dst->instance = xstrdup_or_null(src->instance);
	dst->by = xstrdup_or_null(src->by);
	dst->at = src->at;
	dst->unverified_by = xstrdup_or_null(src->unverified_by);
	dst->unverified_at = src->unverified_at;
	dst->reason = xstrdup_or_null(src->reason);
	dst->unverified_reason = xstrdup_or_null(src->unverified_reason);
}

char *approval_note_ref(const char *environment)
{
	return xasprintf("refs/notes/auriga-approvals-%s", environment);
}

static void put_time(json_t *o, const char *key, int64_t ms)
{
	char t[40];

	if (ms > 0 && status_format_time(ms, t, sizeof(t)) == 0)
		json_object_set_new(o, key, json_string(t));
}

static void put_text(json_t *o, const char *key, const char *v)
{
	if (v)
		json_object_set_new(o, key, json_string(v));
}

/* The members the MAC covers, in its order. */
static const char *const mac_keys[] = { "environment", "instance", "approvedBy", "approvedAt", "unverifiedBy",
					"unverifiedAt", "reason", "unverifiedReason" };

/*
 * What the MAC is taken of: the commit, then each member as the note has it,
 * length-prefixed ("~" when absent), so that no two notes read the same.
 * NULL when a member is there and not a string.
 */
static char *mac_input(json_t *o, const char *commit)
{
	struct buf b;
	size_t i;
	int rc;

	/* Unbounded here: each member was bounded where it came from (the note, the request). */
	buf_init(&b, SIZE_MAX);
	rc = buf_printf(&b, "auriga approval\n%s\n", commit);
	for (i = 0; rc == 0 && i < sizeof(mac_keys) / sizeof(mac_keys[0]); i++) {
		json_t *v = json_object_get(o, mac_keys[i]);

		if (v && !json_is_string(v))
			rc = -1;
		else if (v)
			rc = buf_printf(&b, "%s=%zu:%s\n", mac_keys[i], json_string_length(v), json_string_value(v));
		else
			rc = buf_printf(&b, "%s~\n", mac_keys[i]);
	}
	if (rc < 0) {
		buf_release(&b);
		return NULL;
	}
	return buf_detach(&b, NULL);
}

char *approval_note_render(const struct approval *a, const char *commit, const struct signing_key *k)
{
	json_t *o = json_object();
	char *body, *text, *in;
	char mac[65];

	put_text(o, "environment", a->environment);
	put_text(o, "instance", a->instance);
	put_text(o, "approvedBy", a->by);
	put_time(o, "approvedAt", a->at);
	put_text(o, "unverifiedBy", a->unverified_by);
	put_time(o, "unverifiedAt", a->unverified_at);
	put_text(o, "reason", a->reason);
	put_text(o, "unverifiedReason", a->unverified_reason);
	in = mac_input(o, commit);
	if (in == NULL)
		BUG("cannot encode an approval");
	else
		signing_mac(k, in, strlen(in), mac);
	free(in);
	json_object_set_new(o, "mac", json_string(mac));
	body = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (body == NULL)
		BUG("cannot encode an approval");
	text = xasprintf("auriga: Approved for %s by %s%s%s%s\n\n%s\n", a->environment ? a->environment : "?",
			 a->by ? a->by : "?", a->unverified_by ? ", its verification overridden by " : "",
			 a->unverified_by ? a->unverified_by : "", a->unverified_by ? " (auriga approve --unverified)" : "",
			 body);
	free(body);
	return text;
}

/* A string member of o (copied), NULL when absent; -1 when it is there and not a string. */
static int get_text(json_t *o, const char *key, char **out)
{
	json_t *v = json_object_get(o, key);

	if (v == NULL)
		return 0;
	if (!json_is_string(v))
		return -1;
	*out = xstrdup(json_string_value(v));
	return 0;
}

static int get_time(json_t *o, const char *key, int64_t *out)
{
	json_t *v = json_object_get(o, key);

	if (v == NULL)
		return 0;
	return json_is_string(v) && status_parse_time(json_string_value(v), out) == 0 ? 0 : -1;
}

/* 1 when o carries the MAC of its members and commit under k. */
static int mac_ok(json_t *o, const char *commit, const struct signing_key *k)
{
	json_t *mac = json_object_get(o, "mac");
	char *in = json_is_string(mac) ? mac_input(o, commit) : NULL;
	int ok = in && signing_check(k, in, strlen(in), json_string_value(mac));

	free(in);
	return ok;
}

int approval_note_parse(struct approval *a, const char *text, const char *commit, const struct signing_key *k,
			struct error **err)
{
	const char *body = strchr(text, '\n');
	json_error_t je;
	json_t *o;
	int rc = 0;

	memset(a, 0, sizeof(*a));
	if (strlen(text) > APPROVAL_NOTE_MAX)
		return error_set(err, ERR_INVALID, "an approval note has more than %d bytes", APPROVAL_NOTE_MAX);
	o = body ? json_loads(body, JSON_REJECT_DUPLICATES, &je) : NULL;
	if (!json_is_object(o)) {
		rc = error_set(err, ERR_INVALID, "not an approval note: %s", body && o == NULL ? je.text : "no object");
		goto out;
	}
	if (get_text(o, "environment", &a->environment) < 0 || get_text(o, "instance", &a->instance) < 0 ||
	    get_text(o, "approvedBy", &a->by) < 0 || get_time(o, "approvedAt", &a->at) < 0 ||
	    get_text(o, "unverifiedBy", &a->unverified_by) < 0 || get_time(o, "unverifiedAt", &a->unverified_at) < 0 ||
	    get_text(o, "reason", &a->reason) < 0 || get_text(o, "unverifiedReason", &a->unverified_reason) < 0 ||
	    a->by == NULL) {
		approval_release(a);
		rc = error_set(err, ERR_INVALID, "an approval note needs approvedBy, and strings and times as written");
	} else if (!mac_ok(o, commit, k)) {
		/* Anyone who can push notes could have written it: only the holders of the key approve. */
		approval_release(a);
		rc = error_set(err, ERR_REFUSED, "the approval note by '%s' does not carry the MAC of signing-key-file",
			       json_string_value(json_object_get(o, "approvedBy")));
	}
out:
	json_decref(o);
	return rc;
}

int approval_note_read(struct gitsrc *src, const char *ref, const char *commit, const struct signing_key *k,
		       struct approval *a, struct error **err)
{
	char *text = NULL;
	int rc;

	memset(a, 0, sizeof(*a));
	gitsrc_lock(src);
	rc = notes_read(gitsrc_repo(src), ref, commit, &text, err);
	gitsrc_unlock(src);
	if (rc == 0)
		rc = approval_note_parse(a, text, commit, k, err);
	if (rc == 0) {
		/* Under its own environment's ref alone: one made for another environment, copied here, is not this one's. */
		char *own = approval_note_ref(a->environment ? a->environment : "");

		if (strcmp(own, ref) != 0) {
			rc = error_set(err, ERR_REFUSED, "the approval note by '%s' is for environment '%s', not under %s",
				       a->by, a->environment ? a->environment : "(none)", ref);
			approval_release(a);
		}
		free(own);
	}
	free(text);
	return rc;
}

int approval_note_write(struct gitsrc *src, const char *ref, const char *commit, const char *text,
			struct error **err)
{
	int rc;

	gitsrc_lock(src);
	rc = notes_write(gitsrc_repo(src), ref, commit, text, err);
	gitsrc_unlock(src);
	return rc;
}
