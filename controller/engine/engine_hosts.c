/* The engine's Docker endpoints: one client each, their lists joined into one observed state, each ordinal's host. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine_internal.h"
#include "engine/job.h"
#include "policy.h"
#include "runtime/log.h"
#include "runtime/loop.h"
#include "status/metrics.h"
#include "util.h"

/*
 * Every endpoint is listed each pass; the pass decides once every list has
 * answered or failed, or when the lists' deadline (about a pass interval)
 * expires: an endpoint whose list fails, or has not answered by then, is
 * down. The containers its last answer showed stay in the observed state,
 * marked unreachable, so that they count as unavailable in every budget and
 * no ordinal of theirs is made again elsewhere; nothing is done there until
 * it answers. A list still under way when the next pass starts is not asked
 * again: the pass does not wait for an endpoint already down, and its answer,
 * when it comes, refreshes the endpoint's last list for the passes after. An
 * endpoint that has not answered once since the engine started has no last
 * answer: the deployments whose placement may use it decide nothing until it
 * does (their replicas there are unknown, and making them elsewhere could
 * start a replica twice); the others go on.
 *
 * With Docker's events followed, the last list of an endpoint is a cache: a
 * pass lists the endpoint again only when something changed there since that
 * list began (an event about one of the instance's containers, other than
 * an exec's, or an operation of the engine's on it), when its event stream
 * is not up (not yet, or broken: events may be lost), when the daemon sent
 * an event it could not read, when it is down, or when relist_ms (at most 5
 * minutes) has passed since. A pass that finds nothing changed makes no
 * Docker call. The periodic relist corrects what lost events hid, and
 * counts it (auriga_observe_cache_corrections_total).
 */

static void seen_free(struct observed *o)
{
	if (o) {
		observed_release(o);
		free(o);
	}
}

void engine_hosts_init(struct engine *e, struct docker *d, const struct engine_endpoint *v, size_t n)
{
	size_t i;

	if (n == 0) {
		/* One client and no name: what it lists carries its own endpoint label. */
		e->hosts = xcalloc(1, sizeof(*e->hosts));
		e->hosts[0].e = e;
		e->hosts[0].docker = d;
		e->hosts[0].jobs = job_runner_new(d);
		e->n_hosts = 1;
		return;
	}
	e->hosts = xcalloc(n, sizeof(*e->hosts));
	for (i = 0; i < n; i++) {
		e->hosts[i].e = e;
		e->hosts[i].name = xstrdup(v[i].name);
		e->hosts[i].docker = v[i].docker;
		e->hosts[i].jobs = job_runner_new(v[i].docker);
	}
	e->n_hosts = n;
}

void engine_hosts_release(struct engine *e)
{
	size_t i;

	for (i = 0; i < e->n_hosts; i++) {
		struct eng_host *h = &e->hosts[i];

		if (h->watch)
			docker_events_stop(h->watch);
		if (h->ping_timer)
			loop_timer_cancel(e->loop, h->ping_timer);
		if (h->jobs)
			job_runner_free(h->jobs);
		seen_free(h->seen);
		seen_free(h->lent);
		json_decref(h->swarm_services);
		json_decref(h->swarm_node_list);
		json_decref(h->swarm_placed);
		json_decref(h->swarm_moves);
		observe_stream_free(h->reading);
		FREE_ALL(h->name, h->error, h->address);
	}
	free(e->hosts);
	e->hosts = NULL;
	e->n_hosts = 0;
}

struct eng_host *engine_host_named(const struct engine *e, const char *name)
{
	size_t i;

	if (e->n_hosts == 1 && e->hosts[0].name == NULL)
		return &e->hosts[0];
	for (i = 0; name && i < e->n_hosts; i++)
		if (strcmp(e->hosts[i].name, name) == 0)
			return &e->hosts[i];
	return NULL;
}

const char *engine_host_name(const struct eng_host *h)
{
	return h->name ? h->name : docker_endpoint(h->docker);
}

struct eng_host *engine_host_of(const struct engine *e, const struct obs_container *c)
{
	return engine_host_named(e, c->host);
}

void engine_hosts_address(struct engine *e)
{
	size_t i;

	for (i = 0; i < e->n_hosts; i++) {
		struct eng_host *h = &e->hosts[i];

		free(h->address);
		h->address = h->name && e->set ? spec_policy_endpoint_address(e->set->policy, h->name) : NULL;
		if (spec_address_loopback(h->address))
			str_set(&h->address, NULL);
	}
	/* The union's containers carry the addresses: it is built again. */
	e->obs_current = 0;
}

/* Whether the union was built from every last list as it is now, with each endpoint up or down as now. */
static int union_current(const struct engine *e)
{
	size_t i;

	if (!e->obs_current)
		return 0;
	for (i = 0; i < e->n_hosts; i++) {
		const struct eng_host *h = &e->hosts[i];

		if (h->lent || (h->seen && !h->seen_lent) || (h->seen && h->down != h->union_down))
			return 0;
	}
	return 1;
}

/* ------------------------------------------------------------------ lists */

/* Every list has answered or failed, or the deadline expired: the union, and the pass's decisions (engine.c). */
static void lists_done(struct engine *e)
{
	struct obs_list *lists = xcalloc(e->n_hosts, sizeof(*lists));
	struct buf why;
	struct error *err = NULL;
	size_t i, n = 0, down = 0;

	if (e->lists_timer) {
		loop_timer_cancel(e->loop, e->lists_timer);
		e->lists_timer = 0;
	}
	buf_init(&why, 4096);
	for (i = 0; i < e->n_hosts; i++) {
		struct eng_host *h = &e->hosts[i];

		if (h->down) {
			down++;
			(void)buf_printf(&why, "%sendpoint '%s' does not answer: %s%s", why.len ? "; " : "",
					 engine_host_name(h), h->error ? h->error : "",
					 h->seen ? "" : " (its replicas are not known: no deployment its placement "
							"may use is decided until it answers once)");
		}
		if (h->seen == NULL)
			continue;
		lists[n].host = h->name;
		lists[n].parsed = h->seen;
		lists[n].unreachable = h->down;
		lists[n].address = h->address;
		/* Every last list stays until the union is built again (see on_host_list): it lends, not copies. */
		lists[n].lend = 1;
		n++;
	}
	if (down == e->n_hosts) {
		/* Nothing to decide from: every endpoint failed (the union stays as it was). */
		engine_list_failed(e, why.data);
	} else if (union_current(e)) {
		/* Nothing listed since, nothing up or down since: the union is what it would be built again. */
		engine_list_done(e, down ? why.data : NULL);
	} else {
		int rc = observe_from_lists(&e->obs, e->instance, lists, n, &err);

		/* The union is built again (or empty): what it lent from before may go. */
		e->obs_current = rc == 0;
		for (i = 0; i < e->n_hosts; i++) {
			seen_free(e->hosts[i].lent);
			e->hosts[i].lent = NULL;
			e->hosts[i].seen_lent = rc == 0 && e->hosts[i].seen != NULL;
			e->hosts[i].union_down = e->hosts[i].down;
		}
		if (rc < 0) {
			engine_list_failed(e, error_msg(err));
			error_free(err);
		} else {
			engine_list_done(e, down ? why.data : NULL);
		}
	}
	buf_release(&why);
	free(lists);
}

/*
 * Its list failed: it is down. Since when counts from the first failure after
 * it answered (moveAfter counts from there); one that never answered has no
 * last list and holds its deployments anyway.
 */
static void host_failed(struct eng_host *h)
{
	if (!h->down && h->seen)
		h->down_since = loop_now(h->e->loop);
	h->down = 1;
}

static void on_host_list(struct docker_result *r, void *arg)
{
	struct eng_host *h = arg;
	struct observed *seen = NULL;
	struct error *err = NULL;
	char *m = NULL;

	if (!docker_status_ok(r->status)) {
		observe_stream_like(h->reading, NULL);
		observe_stream_reset(h->reading);
		m = xasprintf("cannot list containers: %s", docker_result_reason(r));
	} else {
		seen = xcalloc(1, sizeof(*seen));
		observed_init(seen);
		if (observe_stream_finish(h->reading, seen, &err) < 0) {
			m = xasprintf("cannot read the container list: %s", error_msg(err));
			error_free(err);
			free(seen);
			seen = NULL;
		}
	}
	/* The body is read: it goes now, not with the call. */
	buf_release(&r->out);
	engine_host_listed(h, seen, m);
}

void engine_host_listed(struct eng_host *h, struct observed *seen, char *m)
{
	struct engine *e = h->e;

	h->listing = 0;
	if (seen == NULL && m == NULL)
		m = xstrdup("the list was not read");
	if (seen != NULL) {
		if (h->down)
			log_info(COMPONENT, "endpoint answers again", "endpoint", engine_host_name(h), (char *)NULL);
		if (h->relist_due && h->seen) {
			size_t n = observed_differences(h->seen, seen);

			if (n > 0) {
				char num[24];

				snprintf(num, sizeof(num), "%zu", n);
				log_warn(COMPONENT, "the relist corrected the cache: events were missed", "endpoint",
					 engine_host_name(h), "containers", num, (char *)NULL);
				auriga_metrics_observe_corrections(e->o.metrics, engine_host_name(h), n);
			}
		}
		h->listed_ms = h->list_began_ms;
		h->heard_ms = loop_now(e->loop);
		/* The union may still lend from the list replaced: it stays until the union is built again. */
		if (h->seen_lent) {
			seen_free(h->lent);
			h->lent = h->seen;
			h->seen_lent = 0;
		} else {
			seen_free(h->seen);
		}
		h->seen = seen;
		h->down = 0;
		str_set(&h->error, NULL);
	} else {
		h->dirty = 1;
		if (!h->down || h->error == NULL || strcmp(h->error, m) != 0)
			log_warn(COMPONENT, "endpoint does not answer", "endpoint", engine_host_name(h), "error", m,
				 (char *)NULL);
		host_failed(h);
		free(h->error);
		h->error = m;
	}
	/* A late answer, after the pass decided without it: it only refreshes the endpoint's last list. */
	if (!h->awaited)
		return;
	h->awaited = 0;
	if (--e->lists_pending == 0)
		lists_done(e);
}

/* The lists' deadline: the endpoints not answered yet are down on their last list, and the pass decides. */
static void on_lists_deadline(struct loop *l, void *arg)
{
	struct engine *e = arg;
	size_t i;

	(void)l;
	e->lists_timer = 0;
	for (i = 0; i < e->n_hosts; i++) {
		struct eng_host *h = &e->hosts[i];
		char *m;

		if (!h->awaited)
			continue;
		m = xasprintf("no container list within %lld ms (still asked)", (long long)engine_lists_deadline_ms(e));
		log_warn(COMPONENT, "endpoint does not answer", "endpoint", engine_host_name(h), "error", m,
			 (char *)NULL);
		h->awaited = 0;
		host_failed(h);
		free(h->error);
		h->error = m;
	}
	e->lists_pending = 0;
	lists_done(e);
}

int64_t engine_lists_deadline_ms(const struct engine *e)
{
	return e->o.pass_interval_ms * 2 > 1000 ? e->o.pass_interval_ms * 2 : 1000;
}

int64_t engine_relist_ms(const struct engine *e)
{
	return e->o.relist_ms < RELIST_MAX_MS ? e->o.relist_ms : RELIST_MAX_MS;
}

/* Why its last list no longer tells what runs there (see the top of this file); NULL when it still does. */
static const char *host_stale(const struct engine *e, const struct eng_host *h, int64_t now)
{
	/* Tasks on other nodes send no event here: a swarm's tasks are listed every pass. */
	if (engine_swarm(e))
		return "a swarm";
	if (!e->o.watch_events || h->watch == NULL)
		return "no event stream";
	if (!h->stream_up)
		return "event stream not up";
	if (h->seen == NULL)
		return "never listed";
	if (h->down)
		return "down";
	if (h->dirty)
		return "changed since its list";
	if (docker_events_skipped(h->watch) != h->skipped)
		return "an event could not be read";
	if (now - h->listed_ms >= engine_relist_ms(e))
		return "relist interval";
	return NULL;
}

void engine_hosts_list(struct engine *e)
{
	const char *filters[] = { e->filter, NULL };
	int64_t now = loop_now(e->loop);
	size_t i, asked = 0;

	/* One more than the lists, so that none ends the pass while the others are still being asked. */
	e->lists_pending = 1;
	for (i = 0; i < e->n_hosts; i++) {
		struct eng_host *h = &e->hosts[i];
		struct error *err = NULL;
		const char *why;

		/* Its list of an earlier pass is still under way: not asked again, awaited only while it is up. */
		if (h->listing) {
			if (!h->down) {
				h->awaited = 1;
				e->lists_pending++;
			}
			asked++;
			continue;
		}
		why = host_stale(e, h, now);
		if (why == NULL)
			continue;
		log_debug(COMPONENT, "listing endpoint", "endpoint", engine_host_name(h), "why", why, (char *)NULL);
		/*
		 * Only the interval asks for it: what it finds changed, the events missed.
		 * Not a swarm's: listed every pass, its changes elsewhere come with no event.
		 */
		h->relist_due = !engine_swarm(e) && h->stream_up && !h->dirty && !h->down && h->seen != NULL;
		/* An event from now on may postdate what the list shows: it asks for the next. */
		h->dirty = 0;
		h->skipped = h->watch ? docker_events_skipped(h->watch) : 0;
		h->list_began_ms = now;
		asked++;
		if (h->reading == NULL)
			h->reading = observe_stream_new(e->instance);
		/*
		 * Room for what it listed last, and its strings shared where the list
		 * repeats them. Not a swarm's: its list is built from the tasks, not read here.
		 */
		if (!engine_swarm(e))
			observe_stream_like(h->reading, h->seen);
		if (engine_swarm(e) ? engine_swarm_list(h, &err) < 0
				    : docker_container_list_stream(h->docker, DOCKER_OBSERVE, filters, observe_stream_chunk,
								   h->reading, on_host_list, h, &err) < 0) {
			observe_stream_like(h->reading, NULL);
			h->dirty = 1;
			host_failed(h);
			str_set(&h->error, error_msg(err));
			error_free(err);
			continue;
		}
		h->listing = 1;
		h->awaited = 1;
		e->lists_pending++;
	}
	if (asked == 0)
		auriga_metrics_observe_cached_pass(e->o.metrics);
	else
		e->pass_listed = 1;
	/* With several endpoints, one that hangs does not hold the others' decisions past the deadline. */
	if (e->n_hosts > 1 && e->lists_pending > 1)
		e->lists_timer = loop_timer_add(e->loop, engine_lists_deadline_ms(e), on_lists_deadline, e);
	if (--e->lists_pending == 0)
		lists_done(e);
}

/* A ping not answered in time, or failed: the next pass lists the endpoint (and finds out). */
static void ping_alarm(struct eng_host *h, const char *why)
{
	if (h->ping_timer) {
		loop_timer_cancel(h->e->loop, h->ping_timer);
		h->ping_timer = 0;
	}
	if (h->dirty)
		return;
	log_warn(COMPONENT, "endpoint quiet: listing it", "endpoint", engine_host_name(h), "why", why, (char *)NULL);
	h->dirty = 1;
	engine_kick(h->e);
}

static void on_ping_deadline(struct loop *l, void *arg)
{
	struct eng_host *h = arg;

	(void)l;
	h->ping_timer = 0;
	/* A list, an event or an answer since the ping left: it is alive. */
	if (h->heard_ms >= h->ping_sent_ms)
		return;
	ping_alarm(h, "no answer to a ping within the lists' deadline");
}

static void on_ping(struct docker_result *r, void *arg)
{
	struct eng_host *h = arg;

	h->pinging = 0;
	if (docker_status_ok(r->status)) {
		h->heard_ms = loop_now(h->e->loop);
		if (h->ping_timer) {
			loop_timer_cancel(h->e->loop, h->ping_timer);
			h->ping_timer = 0;
		}
		return;
	}
	ping_alarm(h, docker_result_reason(r));
}

void engine_hosts_heartbeat(struct engine *e)
{
	int64_t now = loop_now(e->loop);
	size_t i;

	for (i = 0; i < e->n_hosts; i++) {
		struct eng_host *h = &e->hosts[i];
		struct error *err = NULL;

		/* Only an endpoint the passes do not list anyway. */
		if (host_stale(e, h, now) != NULL || h->listing || h->pinging || now - h->heard_ms < e->o.resync_ms)
			continue;
		if (docker_ping(h->docker, DOCKER_OBSERVE, on_ping, h, &err) < 0) {
			ping_alarm(h, error_msg(err));
			error_free(err);
			continue;
		}
		h->pinging = 1;
		h->ping_sent_ms = now;
		h->ping_timer = loop_timer_add(e->loop, engine_lists_deadline_ms(e), on_ping_deadline, h);
	}
}

int engine_hosts_watch(struct engine *e, docker_event_fn on_event, docker_stream_fn on_stream, struct error **err)
{
	const char *filters[] = { e->filter, "type=container", NULL };
	size_t i;

	for (i = 0; i < e->n_hosts; i++) {
		e->hosts[i].watch = docker_events_watch(e->hosts[i].docker, filters, 0, on_event, on_stream, &e->hosts[i],
							err);
		if (e->hosts[i].watch == NULL)
			return -1;
	}
	return 0;
}

/* -------------------------------------------------------------- placement */

void engine_hosts_place(struct engine *e, const struct desired_deployment *dd, struct eng_dep *ed)
{
	size_t i, n = desired_endpoints(e->set);
	int64_t *down_ms = xcalloc(n, sizeof(*down_ms)), now = loop_now(e->loop);
	int *of = xcalloc(n, sizeof(*of));	/* the Cluster's endpoint i is the engine's hosts[of[i]] (-1: none) */
	int o;

	for (i = 0; i < n; i++) {
		const struct eng_host *h = engine_host_named(e, desired_endpoint_name(e->set, i));

		of[i] = h ? (int)(h - e->hosts) : -1;
		/* How long it has not answered (-1: it answers); one never answered, just now. */
		down_ms[i] = h && !h->down ? -1 : h && h->seen ? now - h->down_since : 0;
	}
	free(ed->place);
	ed->place = xcalloc((size_t)dd->replicas + 1, sizeof(*ed->place));
	ed->n_place = dd->replicas;
	desired_place(e->set, dd, observed_deployment(&e->obs, dd->name), down_ms, ed->place);
	for (o = 0; o < dd->replicas; o++)
		ed->place[o] = ed->place[o] >= 0 ? of[ed->place[o]] : -1;
	free(of);
	free(down_ms);
}

const struct eng_host *engine_host_unknown(const struct engine *e, const struct desired_deployment *dd)
{
	size_t i, n = desired_endpoints(e->set);

	for (i = 0; i < n; i++) {
		const struct eng_host *h = engine_host_named(e, desired_endpoint_name(e->set, i));

		if (h && h->seen == NULL && desired_may_place(e->set, dd, i))
			return h;
	}
	return NULL;
}

struct job_runner *engine_host_jobs(struct engine *e, const struct desired_deployment *dd, char *why, size_t n)
{
	const struct eng_dep *ed = engine_dep_find(e, dd->name);
	const struct eng_host *h;

	if (ed == NULL || ed->n_place < 1 || ed->place[0] < 0) {
		snprintf(why, n, "waits for an endpoint its placement allows for ordinal 0");
		return NULL;
	}
	h = &e->hosts[ed->place[0]];
	if (h->down) {
		snprintf(why, n, "waits for endpoint '%s'", engine_host_name(h));
		return NULL;
	}
	return h->jobs;
}

struct eng_host *engine_host_for_op(struct engine *e, const struct eng_dep *ed, const struct rollout_op *rop,
				    char *why, size_t n)
{
	struct eng_host *h;

	if (rop->c != NULL) {
		h = engine_host_of(e, rop->c);
		if (h == NULL) {
			snprintf(why, n, "container '%s' runs on endpoint '%s', which the Cluster does not name",
				 rop->c->name, rop->c->host ? rop->c->host : "?");
			return NULL;
		}
	} else if (ed == NULL || rop->ordinal < 0 || rop->ordinal >= ed->n_place || ed->place[rop->ordinal] < 0) {
		snprintf(why, n, "no endpoint may take ordinal %d (every one its placement allows is full or does "
			 "not answer)", rop->ordinal);
		return NULL;
	} else {
		h = &e->hosts[ed->place[rop->ordinal]];
	}
	if (h->down) {
		snprintf(why, n, "endpoint '%s' does not answer: %s of '%s' waits for it", h->name ? h->name : "",
			 rollout_op_name(rop->kind), rop->c ? rop->c->name : rop->name ? rop->name : "");
		return NULL;
	}
	return h;
}
