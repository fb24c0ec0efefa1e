/* Blue-green and canary on the engine: release records on disk, router weights, the decision of each pass (its checks: engine_traffic_checks.c). */
#include "engine/engine_traffic.h"
#include "engine/engine_traffic_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "docker/docker.h"
#include "engine/engine_router.h"
#include "engine/engine_verify.h"
#include "engine/statefile.h"
#include "engine/job.h"
#include "rollout/traffic.h"
#include "runtime/file.h"
#include "runtime/log.h"
#include "status/metrics.h"
#include "traffic/router.h"
#include "util.h"

#define COMPONENT "traffic"

/* ------------------------------------------------------------ records */

static json_t *record_to_json(const struct traffic_record *r)
{
	return json_pack("{s:s, s:b, s:I, s:i, s:i, s:I, s:b, s:b, s:b, s:b, s:s, s:i}", "rev", r->rev, "switched",
			 r->switched, "switchedAt", (json_int_t)r->switched_at, "step", r->step, "weight", r->weight,
			 "stepAt", (json_int_t)r->step_at, "smokeOk", r->smoke_ok, "preOk", r->pre_ok, "promote",
			 r->promote, "full", r->full, "leftRev", r->left_rev, "leftWeight", r->left_weight);
}

static void record_from_json(struct traffic_record *r, json_t *j)
{
	json_int_t sw = 0, sa = 0;
	const char *rev = "", *left = "";

	memset(r, 0, sizeof(*r));
	if (json_unpack(j, "{s?s, s?b, s?I, s?i, s?i, s?I, s?b, s?b, s?b, s?b, s?s, s?i}", "rev", &rev, "switched",
			&r->switched, "switchedAt", &sw, "step", &r->step, "weight", &r->weight, "stepAt", &sa,
			"smokeOk", &r->smoke_ok, "preOk", &r->pre_ok, "promote", &r->promote, "full", &r->full,
			"leftRev", &left, "leftWeight", &r->left_weight) < 0)
		return;
	snprintf(r->rev, sizeof(r->rev), "%s", rev);
	snprintf(r->left_rev, sizeof(r->left_rev), "%s", left);
	r->switched_at = sw;
	r->step_at = sa;
}

static int record_eq(const struct traffic_record *a, const struct traffic_record *b)
{
	return strcmp(a->rev, b->rev) == 0 && a->switched == b->switched && a->switched_at == b->switched_at &&
	       a->step == b->step && a->weight == b->weight && a->step_at == b->step_at &&
	       a->smoke_ok == b->smoke_ok && a->pre_ok == b->pre_ok && a->promote == b->promote &&
	       a->full == b->full && strcmp(a->left_rev, b->left_rev) == 0 && a->left_weight == b->left_weight;
}

static struct et_dep *dep_get(struct engine_traffic *t, const char *name)
{
	size_t i;
	struct et_dep *d;

	for (i = 0; i < t->n_deps; i++)
		if (strcmp(t->deps[i]->name, name) == 0)
			return t->deps[i];
	d = xcalloc(1, sizeof(*d));
	d->t = t;
	d->name = xstrdup(name);
	t->deps = xrealloc(t->deps, (t->n_deps + 1) * sizeof(struct et_dep *));
	t->deps[t->n_deps++] = d;
	return d;
}

static int records_load(struct engine_traffic *t, struct error **err)
{
	json_error_t je;
	json_t *root, *deps;
	struct buf b;
	void *it;
	int rc;

	if (t->path == NULL)
		return 0;
	buf_init(&b, STATEFILE_MAX_BYTES);
	rc = file_read(t->path, "release records", FILE_REGULAR, &b, err);
	if (rc == -ENOENT) {
		error_free(*err);
		*err = NULL;
		buf_release(&b);
		return 0;
	}
	root = rc < 0 ? NULL : json_loadb(b.data, b.len, 0, &je);
	buf_release(&b);
	if (rc < 0)
		return rc;
	if (root == NULL)
		return error_set(err, ERR_INVALID, "release records '%s': %s (line %d)", t->path, je.text, je.line);
	deps = json_object_get(root, "deployments");
	for (it = json_object_iter(deps); it; it = json_object_iter_next(deps, it)) {
		const char *k = json_object_iter_key(it);

		struct et_dep *d = dep_get(t, k);

		record_from_json(&d->rec, json_object_iter_value(it));
		verify_book_from_json(&d->book, json_object_get(json_object_iter_value(it), "verified"));
	}
	json_decref(root);
	return 0;
}

/* Replaces the records file atomically and durably (see file_replace). */
void et_records_save(struct engine_traffic *t)
{
	json_t *root = json_object(), *deps = json_object();
	struct error *err = NULL;
	char *text;
	size_t i;

	if (t->path == NULL) {
		json_decref(root);
		json_decref(deps);
		return;
	}
	for (i = 0; i < t->n_deps; i++)
		if (t->deps[i]->rec.rev[0]) {
			json_t *r = record_to_json(&t->deps[i]->rec);

			json_object_set_new(r, "verified", verify_book_to_json(&t->deps[i]->book));
			json_object_set_new(deps, t->deps[i]->name, r);
		}
	json_object_set_new(root, "deployments", deps);
	text = json_dumps(root, JSON_SORT_KEYS | JSON_INDENT(1));
	json_decref(root);
	if (text != NULL && file_replace(t->path, "release records", text, strlen(text), 0600, &err) < 0) {
		log_error(COMPONENT, "cannot save release records", "path", t->path, "error", error_msg(err),
			  (char *)NULL);
		error_free(err);
	} else if (text != NULL) {
		t->saves++;
	}
	free(text);
}

/* ------------------------------------------------------------ router */

/*
 * Applies the release's weights at the router, every service of the
 * deployment in one reload. A change counts once NGINX serves it: until its
 * confirmation is over *waiting says so (no check starts, nothing NGINX may
 * still route to is removed), as it does while readiness is not known yet.
 * Another deployment's confirmation holds this one back only if its own
 * routes must change: one whose routes NGINX already has is not waiting.
 */
static char *route(struct engine_traffic *t, const struct desired_deployment *dd, const struct traffic_result *tr,
		   const char *stable_rev, int rollback, const struct rollout_ctr *v, size_t n, int *waiting)
{
	struct error *err = NULL;
	struct router *r;
	struct buf b;
	size_t i;
	const char *active = dd->name, *why = NULL;
	char *fail;
	int changed = 0, w_active = -1, busy, differs = 0, *preview_route;

	/* Right after a start readiness is not known yet: NGINX keeps serving what it has until it is. */
	*waiting = 0;
	for (i = 0; i < n; i++)
		if (obs_container_alive(v[i].c) && !v[i].known) {
			*waiting = 1;
			return NULL;
		}
	fail = engine_router_take_fail(t->router, dd->name);
	if (fail != NULL) {
		/* The last change was not served: that fails the release; the way back reloads again. */
		*waiting = 1;
		log_error(COMPONENT, "router apply failed", "deployment", dd->name, "error", fail, (char *)NULL);
		return fail;
	}
	if (engine_router_confirming_for(t->router, dd->name)) {
		*waiting = 1;
		return NULL;
	}
	busy = engine_router_confirming(t->router);
	buf_init(&b, 4096);
	/* The preview shows the new slot alone: a smoke test must never be answered by the old one. */
	preview_route = n ? xcalloc(n, sizeof(*preview_route)) : NULL;
	for (i = 0; i < n; i++)
		preview_route[i] = v[i].ready && obs_container_alive(v[i].c) && traffic_in_slot(v[i].c, tr->new_slot)
					   ? 100
					   : 0;
	r = engine_router_get(t->router, &why);
	if (r == NULL) {
		/* A release through Services cannot go on without its router: say why, change nothing. */
		*waiting = 1;
		(void)buf_printf(&b, "router: %s", why ? why : "not configured");
		free(preview_route);
		return buf_detach(&b, NULL);
	}
	for (i = 0; i < t->set->n_services; i++) {
		const struct spec_service *svc = t->set->services[i];
		const struct spec_strategy *st = &dd->spec->strategy;
		struct router_service rs;
		int cport, w = tr->new_weight, preview = 0, ret;

		if (strcmp(svc->deployment, dd->name) != 0)
			continue;
		cport = spec_container_port(&dd->spec->tmpl, &svc->target_port);
		if (st->type == SPEC_STRATEGY_BLUEGREEN && st->preview_service &&
		    strcmp(svc->meta.name, st->preview_service) == 0) {
			w = 100;
			preview = 1;
		}
		/* The decision's routes, whose server weights give each slot its share whatever its size. */
		memset(&rs, 0, sizeof(rs));
		rs.endpoints = engine_router_endpoints(v, n, preview ? preview_route : tr->route, tr->new_slot, cport,
						       &rs.n_endpoints);
		rs.upstream = svc->upstream ? svc->upstream : svc->meta.name;
		rs.port = svc->port;
		rs.max_fails = svc->max_fails;
		rs.fail_timeout_seconds = svc->fail_timeout_seconds;
		/* Nothing is staged while another change is confirmed: it is only seen whether one is due. */
		if (busy)
			differs |= !router_holds(r, &rs);
		ret = busy ? 0 : router_stage(r, &rs, &err);
		free((void *)rs.endpoints);
		if (ret < 0) {
			(void)buf_printf(&b, "router: service '%s': %s", svc->meta.name, error_msg(err));
			goto fail;
		}
		if (!preview && w_active < 0) {
			w_active = w;
			active = svc->meta.name;
		}
	}
	if (busy) {
		*waiting = differs;
		buf_release(&b);
		free(preview_route);
		return NULL;
	}
	if (router_commit_async(r, &changed, &err) < 0) {
		(void)buf_printf(&b, "%s", error_msg(err));
		goto fail;
	}
	if (router_confirming(r)) {
		*waiting = 1;
		engine_router_follow(t->router, dd->name);
	}
	if (changed)
		log_info(COMPONENT, "router applied", "deployment", dd->name, "service", active, "slot", tr->new_slot,
			 "weight", tr->new_weight == 100 ? "100" : tr->new_weight == 0 ? "0" : "partial", (char *)NULL);
	/*
	 * The new slot's share as NGINX serves it, while a release against a
	 * stable slot is under way; a complete release, a return to the last
	 * healthy revision or a first release has no canary. A change still
	 * being confirmed is shown by the pass after its confirmation.
	 */
	if (w_active >= 0 && !*waiting)
		auriga_metrics_set_canary_weight(t->metrics, dd->name,
						 tr->res.complete || rollback || stable_rev == NULL ? 0 : (double)w_active);
	buf_release(&b);
	free(preview_route);
	return NULL;
fail:
	log_error(COMPONENT, "router apply failed", "deployment", dd->name, "error", b.data, (char *)NULL);
	error_free(err);
	free(preview_route);
	return buf_detach(&b, NULL);
}

/* ------------------------------------------------------------ the pass */

/*
 * Drops the removal of every running container from a pass whose router
 * apply waited for readiness: NGINX may still send traffic to it (a
 * controller restarted in a switch back finds the old upstream in place),
 * so it goes once the router has moved off it, a pass later.
 */
void engine_traffic_keep_routed(struct rollout_result *res)
{
	size_t i, k = 0;

	for (i = 0; i < res->n_ops; i++) {
		struct rollout_op *op = &res->ops[i];

		if (op->kind == ROLLOUT_REMOVE && op->c && obs_container_alive(op->c)) {
			free(op->name);
			free(op->why);
			continue;
		}
		res->ops[k++] = *op;
	}
	res->n_ops = k;
	res->waiting = !res->complete && res->n_ops == 0;
}

int engine_traffic_handles(const struct desired_deployment *dd)
{
	return dd->spec && (dd->strategy == SPEC_STRATEGY_BLUEGREEN || dd->strategy == SPEC_STRATEGY_CANARY);
}

void engine_traffic_verdict_release(struct engine_traffic_verdict *v)
{
	free(v->fail);
	free(v->step);
	memset(v, 0, sizeof(*v));
}

void engine_traffic_pass(struct engine_traffic *t, const struct desired_deployment *dd, const char *rev,
			 const char *stable_rev, int rollback, int heal_only, const struct rollout_ctr *v, size_t n,
			 struct rollout_result *out, struct engine_traffic_verdict *verdict)
{
	struct et_dep *d = dep_get(t, dd->name);
	struct traffic_ctr *tv = n ? xcalloc(n, sizeof(*tv)) : NULL;
	struct traffic_record before = d->rec;
	struct traffic_input in;
	struct traffic_result tr;
	int waiting = 0, was_complete;
	size_t i;

	memset(verdict, 0, sizeof(*verdict));
	for (i = 0; i < n; i++) {
		tv[i].c = v[i].c;
		tv[i].ready = v[i].ready;
		tv[i].unknown = !v[i].known;
	}
	/* The same release was complete at the last pass: what it changes at the router now is cleanup. */
	was_complete = d->complete && strcmp(d->rec.rev, rev) == 0;
	if (strcmp(d->rec.rev, rev) != 0) {
		et_check_drop(d);
		et_rerun_drop(d);
		d->rerun_key[0] = '\0';
		d->switch_unserved = 0;
	}
	memset(&in, 0, sizeof(in));
	in.deployment = dd->name;
	in.name_prefix = t->desired->name_prefix;
	in.strategy = &dd->spec->strategy;
	in.replicas = dd->replicas;
	in.rev = rev;
	in.stable_rev = stable_rev;
	in.rollback = rollback;
	in.heal_only = heal_only;
	in.stable_full = spec_set_swarm(t->set);
	in.now = wall_ms();
	in.v = tv;
	in.n = n;
	in.check = d->check;
	in.check_step = d->check_step;
	in.check_state = d->state;
	in.check_msg = d->msg;
	traffic_decide(&in, &d->rec, &tr);
	d->complete = tr.res.complete;
	if (!record_eq(&before, &d->rec))
		et_records_save(t);
	if (d->rec.switched && !before.switched)
		d->switch_unserved = 1;
	if (tr.fail == NULL && !heal_only) {
		verdict->fail = route(t, dd, &tr, stable_rev, rollback, v, n, &waiting);
		/* A router that fails cannot be waited for: what it would drain goes anyway. */
		verdict->unserved = waiting && verdict->fail == NULL;
		if (waiting)
			engine_traffic_keep_routed(&tr.res);
		/*
		 * The switch happened when NGINX serves it, not when it was decided:
		 * the monitor window and the scale-down delay count from there, so a
		 * slow reload does not shorten the time the old slot is kept.
		 */
		if (d->switch_unserved && !waiting && verdict->fail == NULL) {
			d->switch_unserved = 0;
			if (d->rec.switched) {
				d->rec.switched_at = wall_ms();
				et_records_save(t);
			}
		}
		/*
		 * Not done before NGINX serves it: the pass after the confirmation
		 * says complete. A release complete since the last pass stays so
		 * while the old slot leaves NGINX's backups: its new slot is served.
		 */
		if (waiting && engine_router_confirming(t->router) && !(was_complete && tr.res.complete)) {
			tr.res.complete = 0;
			tr.res.waiting = 1;
			d->complete = 0;
		}
	}
	if (tr.fail) {
		free(verdict->fail);
		verdict->fail = tr.fail;
		tr.fail = NULL;
		et_check_drop(d);
	} else if (tr.want != TRAFFIC_CHECK_NONE && !waiting && verdict->fail == NULL &&
		   (d->check != tr.want || d->check_step != tr.want_step)) {
		/*
		 * A check starts only in a pass whose routes NGINX serves: a smoke
		 * test sent to the preview before its route took effect could be
		 * answered by the old slot, or by nothing.
		 */
		et_check_drop(d);
		d->check = tr.want;
		d->check_step = tr.want_step;
		if (tr.want == TRAFFIC_CHECK_SMOKE) {
			et_smoke_start(t, d, dd, v, n, tr.new_slot);
		} else if (tr.want == TRAFFIC_CHECK_STEP) {
			const struct spec_canary_step *st = &dd->spec->strategy.steps[tr.want_step];

			et_analysis_start(t, d, dd, st->templates, st->n_templates, v, n, tr.new_slot);
		} else {
			et_analysis_start(t, d, dd, dd->spec->strategy.pre_promotion_analysis,
				       dd->spec->strategy.n_pre_promotion_analysis, v, n, tr.new_slot);
		}
	}
	/* A full promotion verified nothing: it stays Skipped whatever the templates say. */
	if (tr.res.complete && !waiting && verdict->fail == NULL && !heal_only && !d->rec.full)
		et_reverify(t, d, dd, v, n, tr.new_slot);
	if (verdict->fail && tr.step == NULL) {
		struct buf b;

		buf_init(&b, 1024);
		(void)buf_printf(&b, "%s: failed, back to the stable slot", dd->name);
		tr.step = buf_detach(&b, NULL);
	}
	verdict->step = tr.step;
	tr.step = NULL;
	verdict->holding = tr.holding;
	verdict->more = tr.more;
	for (i = 0; i < ARRAY_SIZE(verdict->slots) && !heal_only; i++) {
		snprintf(verdict->slots[i].slot, sizeof(verdict->slots[i].slot), "%s", tr.slots[i].slot);
		verdict->slots[i].ready = tr.slots[i].ready;
		verdict->slots[i].desired = tr.slots[i].desired;
	}
	*out = tr.res;
	memset(&tr.res, 0, sizeof(tr.res));
	traffic_result_release(&tr);
	free(tv);
}

int engine_traffic_promote(struct engine_traffic *t, const char *deployment, const char *rev, int full,
			   struct error **err)
{
	struct et_dep *d = dep_get(t, deployment);

	if (strcmp(d->rec.rev, rev) != 0 || d->complete)
		return error_set(err, ERR_CONFLICT, "deployment '%s' has no release under way to promote", deployment);
	if (full) {
		/* The analysis under way is skipped with the rest: its verdict would not be what was released on. */
		d->rec.full = 1;
		et_check_drop(d);
	} else
		d->rec.promote = 1;
	et_records_save(t);
	t->kick(t->arg);
	return 0;
}

int engine_traffic_in_progress(const struct engine_traffic *t, const char *deployment, const char *rev)
{
	size_t i;

	for (i = 0; i < t->n_deps; i++)
		if (strcmp(t->deps[i]->name, deployment) == 0)
			return strcmp(t->deps[i]->rec.rev, rev) == 0 && !t->deps[i]->complete;
	return 0;
}

/* ------------------------------------------------------------ setup */

struct engine_traffic *engine_traffic_new(struct loop *l, struct docker *d, struct http_client *h,
					  const char *state_path, void (*kick)(void *arg), void *arg,
					  struct error **err)
{
	struct engine_traffic *t = xcalloc(1, sizeof(*t));

	t->loop = l;
	t->docker = d;
	t->jobs = job_runner_new(d);
	t->router = engine_router_new(l, d, h, kick, arg);
	t->http = h;
	t->kick = kick;
	t->arg = arg;
	if (state_path)
		t->path = engine_traffic_records_path(state_path);
	if (records_load(t, err) < 0) {
		engine_traffic_free(t);
		return NULL;
	}
	return t;
}

void engine_traffic_add_endpoint(struct engine_traffic *t, const char *name, struct docker *d)
{
	t->hosts = xrealloc(t->hosts, (t->n_hosts + 1) * sizeof(*t->hosts));
	t->hosts[t->n_hosts].name = xstrdup(name);
	t->hosts[t->n_hosts].jobs = job_runner_new(d);
	t->n_hosts++;
}

struct engine_router *engine_traffic_router(struct engine_traffic *t)
{
	return t->router;
}

void engine_traffic_set_router_error_log(struct engine_traffic *t, const char *path)
{
	engine_router_set_error_log(t->router, path);
}

void engine_traffic_set_metrics(struct engine_traffic *t, struct auriga_metrics *m)
{
	t->metrics = m;
}

void engine_traffic_set_specs(struct engine_traffic *t, const struct spec_set *set, const struct desired *d)
{
	t->set = set;
	t->desired = d;
	if (d != NULL)
		engine_router_set_names(t->router, d->instance, d->name_prefix);
	engine_router_set_specs(t->router, set);
}

void engine_traffic_verification(const struct engine_traffic *t, const struct desired_deployment *dd,
				 struct status_deployment *sd)
{
	static const struct verify_book none;
	const struct et_dep *d = NULL;
	size_t i;

	const char *key = dd->verify_key, *skipped = NULL;

	for (i = 0; i < t->n_deps && d == NULL; i++)
		if (strcmp(t->deps[i]->name, dd->name) == 0)
			d = t->deps[i];
	/* Complete without a verdict: Skipped, unless its verification is to run again (Pending then). */
	if (d && d->complete && strcmp(d->rec.rev, dd->revision) == 0 &&
	    (d->rec.full || !verify_book_due(&d->book, key)))
		skipped = d->rec.full ? "promoted in full" : "the release ran no analysis: nothing served before it, "
							   "or it returned to a known revision";
	verify_book_status(d ? &d->book : &none, t->set, dd, key, skipped, sd);
}

/* Forgets every deployment's record and check. */
static void deps_clear(struct engine_traffic *t)
{
	size_t i;

	for (i = 0; i < t->n_deps; i++) {
		et_check_drop(t->deps[i]);
		et_rerun_drop(t->deps[i]);
		verify_book_release(&t->deps[i]->book);
		FREE_ALL(t->deps[i]->name, t->deps[i]);
	}
	t->n_deps = 0;
}

int engine_traffic_reload(struct engine_traffic *t, struct error **err)
{
	deps_clear(t);
	return records_load(t, err);
}

char *engine_traffic_records_path(const char *state_path)
{
	return xasprintf("%s.traffic", state_path);
}

unsigned long engine_traffic_saves(const struct engine_traffic *t)
{
	return t->saves;
}

void engine_traffic_free(struct engine_traffic *t)
{
	size_t i;

	if (t == NULL)
		return;
	deps_clear(t);
	/* Jobs still in Docker's hands end with the docker client; they no longer report. */
	job_runner_free(t->jobs);
	for (i = 0; i < t->n_hosts; i++) {
		job_runner_free(t->hosts[i].jobs);
		free(t->hosts[i].name);
	}
	free(t->hosts);
	engine_router_free(t->router);
	free(t->deps);
	free(t->path);
	free(t);
}
