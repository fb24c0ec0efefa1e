/* The election among the controllers of one instance: a thread reading and renewing the lease, and the fences. */
#include "cmd/run_lease.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "docker/docker.h"
#include "engine/engine.h"
#include "runtime/config.h"
#include "runtime/lease.h"
#include "runtime/log.h"
#include "runtime/loop.h"
#include "runtime/metrics_registry.h"
#include "source/gitsrc_worker.h"
#include "source/lease_git.h"
#include "util.h"

#define COMPONENT "lease"

struct run_lease {
	struct run_lease_config cfg;
	char *instance, *api, *holder;
	struct gitsrc *src;
	pthread_t thread;
	int started;
	struct engine *engine;		/* the loop's: held while not leading */
	struct metric *m_leader, *m_generation, *m_ops;
	/* Under mu: what the fences and the loop read. */
	pthread_mutex_t mu;
	pthread_cond_t cond;
	int stop;
	int leading;
	uint64_t generation;		/* ours while leading; the highest seen otherwise */
	int64_t renewed_began;		/* monotonic: the start of the last renewal that succeeded */
	char *leader, *leader_api;	/* the holder as last seen, for the refusals */
	int told;			/* the leading state the loop was last told of */
	/* The thread's own. */
	char my_oid[GITSRC_OID_HEX];	/* the lease commit we pushed last */
	char seen_oid[GITSRC_OID_HEX];	/* the home's lease commit as last read */
	int64_t seen_since;		/* monotonic: when seen_oid was first seen */
};

/* A name no other controller has, now or after a restart: host, pid and a nonce. */
static char *holder_name(void)
{
	char host[64];
	struct timespec ts;
	char *p;

	if (gethostname(host, sizeof(host)) < 0)
		snprintf(host, sizeof(host), "host");
	host[sizeof(host) - 1] = '\0';
	for (p = host; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '.' ||
		      *p == '-'))
			*p = '-';
	clock_gettime(CLOCK_REALTIME, &ts);
	return xasprintf("%s:%ld:%lx", host, (long)getpid(), (unsigned long)(ts.tv_nsec ^ ts.tv_sec));
}

static void tell_loop(struct loop *l, void *arg)
{
	struct run_lease *rl = arg;
	int now = run_lease_leading(rl);

	(void)l;
	pthread_mutex_lock(&rl->mu);
	if (now == rl->told) {
		pthread_mutex_unlock(&rl->mu);
		return;
	}
	rl->told = now;
	pthread_mutex_unlock(&rl->mu);
	if (rl->m_leader)
		metric_set(rl->m_leader, NULL, now ? 1.0 : 0.0);
	if (rl->engine)
		engine_hold(rl->engine, !now);
}

/*
 * The loop's own check, every half renew interval: a leader whose renewals
 * stopped (a remote that hangs, a paused process) stops acting on time even
 * when the thread is stuck in a push.
 */
static void watch_timer(struct loop *l, void *arg)
{
	struct run_lease *rl = arg;

	tell_loop(l, rl);
	loop_timer_add(l, rl->cfg.renew_ms / 2 > 0 ? rl->cfg.renew_ms / 2 : 1, watch_timer, rl);
}

int run_lease_leading(struct run_lease *l)
{
	int r;

	pthread_mutex_lock(&l->mu);
	r = l->leading && lease_valid(l->renewed_began, now_ms(), l->cfg.ttl_ms, l->cfg.skew_ms);
	pthread_mutex_unlock(&l->mu);
	return r;
}

/* Why this controller may not act: the leader as last seen. */
static void why_not(struct run_lease *l, char *why, size_t n)
{
	pthread_mutex_lock(&l->mu);
	if (l->leading)
		snprintf(why, n, "this controller's lease of instance '%s' (generation %" PRIu64 ") was not renewed in time",
			 l->instance, l->generation);
	else if (l->leader)
		snprintf(why, n, "this controller is a follower of instance '%s': the leader is '%s'%s%s%s", l->instance,
			 l->leader, l->leader_api && l->leader_api[0] ? " (API " : "",
			 l->leader_api && l->leader_api[0] ? l->leader_api : "", l->leader_api && l->leader_api[0] ? ")" : "");
	else
		snprintf(why, n, "this controller is a follower of instance '%s': no leader is known yet", l->instance);
	pthread_mutex_unlock(&l->mu);
}

int run_lease_docker_fence(void *arg, char *token, size_t token_len, char *why, size_t why_len)
{
	struct run_lease *l = arg;

	if (run_lease_leading(l)) {
		uint64_t gen;

		pthread_mutex_lock(&l->mu);
		gen = l->generation;
		pthread_mutex_unlock(&l->mu);
		snprintf(token, token_len, "%" PRIu64, gen);
		return 0;
	}
	why_not(l, why, why_len);
	return 1;
}

int run_lease_note_fence(void *arg, char *why, size_t why_len)
{
	char token[32];

	return run_lease_docker_fence(arg, token, sizeof(token), why, why_len);
}

void run_lease_attach(struct run_lease *l, struct docker *d, struct engine *e, struct gitsrc_worker *w)
{
	if (d)
		docker_set_fence(d, run_lease_docker_fence, l, RUN_LEASE_FENCE_LABEL);
	if (w)
		gitsrc_worker_set_fence(w, run_lease_note_fence, l);
	if (e) {
		l->engine = e;
		engine_hold(e, !run_lease_leading(l));
	}
}

int run_lease_refuse(struct run_lease *l, struct error **err)
{
	char why[512];

	if (run_lease_leading(l))
		return 0;
	why_not(l, why, sizeof(why));
	return error_set(err, ERR_UNAVAILABLE, "%s", why);
}

static void count_op(struct run_lease *l, const char *op, int rc, const struct error *e)
{
	if (l->m_ops)
		metric_inc(l->m_ops, METRIC_LABELS(op, rc == 0			 ? "ok"
						       : error_code(e) == ERR_CONFLICT ? "conflict"
										 : "error"));
}

/* Leading from now, or not; the loop is told (on its thread). */
static void set_leading(struct run_lease *l, int leading, uint64_t gen, int64_t began, const char *why)
{
	pthread_mutex_lock(&l->mu);
	l->leading = leading;
	if (leading) {
		l->generation = gen;
		l->renewed_began = began;
		str_set(&l->leader, l->holder);
		str_set(&l->leader_api, l->api);
	}
	pthread_mutex_unlock(&l->mu);
	if (l->m_generation && leading)
		metric_set(l->m_generation, NULL, (double)gen);
	log_info(COMPONENT, leading ? "leading" : "following", "instance", l->instance, "why", why, LOG_END);
	(void)loop_post(l->cfg.loop, tell_loop, l);
}

/* Pushes our record on parent with generation gen; 0 with my_oid set, or the error. */
static int write_lease(struct run_lease *l, const char *parent, uint64_t gen, struct error **err)
{
	struct lease_record rec = { l->holder, gen, wall_ms(), l->cfg.ttl_ms, l->api };
	char oid[GITSRC_OID_HEX];
	int rc = lease_git_write(l->src, l->instance, parent, &rec, oid, err);

	count_op(l, "push", rc, err ? *err : NULL);
	if (rc == 0) {
		snprintf(l->my_oid, sizeof(l->my_oid), "%s", oid);
		snprintf(l->seen_oid, sizeof(l->seen_oid), "%s", oid);
	}
	return rc;
}

/* The leader's round: one push on its last commit, without reading first (a conflict says another moved it). */
static void lead_round(struct run_lease *l)
{
	struct lease_view v = { 0 };
	struct error *err = NULL;
	int64_t began = now_ms();

	pthread_mutex_lock(&l->mu);
	v.exists = v.mine = v.leading = 1;
	v.renewed_began = l->renewed_began;
	pthread_mutex_unlock(&l->mu);
	v.now = began;
	v.ttl_ms = v.their_ttl_ms = l->cfg.ttl_ms;
	v.skew_ms = l->cfg.skew_ms;
	if (lease_decide(&v) == LEASE_STEP_DOWN) {
		set_leading(l, 0, 0, 0, "not renewed within lease-ttl minus lease-skew");
		/* Our own commit: a follower counts from when we wrote it. */
		l->seen_since = v.renewed_began;
		return;
	}
	if (write_lease(l, l->my_oid, l->generation, &err) == 0) {
		pthread_mutex_lock(&l->mu);
		l->renewed_began = began;
		pthread_mutex_unlock(&l->mu);
		l->seen_since = now_ms();
	} else if (error_code(err) == ERR_CONFLICT) {
		set_leading(l, 0, 0, 0, "another controller moved the lease");
		l->seen_oid[0] = '\0';
	} else {
		/* The fences stop us on time if this goes on; the next round tries again. */
		log_warn(COMPONENT, "cannot renew the lease", "error", error_msg(err), LOG_END);
	}
	error_free(err);
}

/* What a read saw, remembered: the leader's name and when this commit was first seen. */
static void note_seen(struct run_lease *l, const struct lease_seen *s)
{
	if (strcmp(s->oid, l->seen_oid) != 0) {
		snprintf(l->seen_oid, sizeof(l->seen_oid), "%s", s->oid);
		l->seen_since = now_ms();
	}
	if (s->bad)
		return;
	pthread_mutex_lock(&l->mu);
	str_set(&l->leader, s->rec.holder);
	str_set(&l->leader_api, s->rec.api);
	if (s->rec.generation > l->generation)
		l->generation = s->rec.generation;
	pthread_mutex_unlock(&l->mu);
}

/* A follower's round: read the home; take the lease when there is none or it has not moved for its TTL. */
static void follow_round(struct run_lease *l)
{
	struct lease_seen s;
	struct lease_view v = { 0 };
	struct error *err = NULL;
	int64_t began;
	int rc = lease_git_read(l->src, l->instance, &s, &err);

	count_op(l, "fetch", rc, err);
	if (rc < 0) {
		log_warn(COMPONENT, "cannot read the lease", "error", error_msg(err), LOG_END);
		goto out;
	}
	if (s.exists)
		note_seen(l, &s);
	if (s.bad) {
		/* A generation we cannot read could be higher than any we would write: a person removes it. */
		log_error(COMPONENT, "the lease in the specs repository is unreadable; not taking it", "commit", s.oid,
			  "error", error_msg(s.why), LOG_END);
		goto out;
	}
	v.exists = s.exists;
	v.seen_since = l->seen_since;
	v.now = now_ms();
	v.ttl_ms = l->cfg.ttl_ms;
	v.their_ttl_ms = s.exists ? s.rec.ttl_ms : 0;
	v.skew_ms = l->cfg.skew_ms;
	if (lease_decide(&v) != LEASE_TAKE)
		goto out;
	began = now_ms();
	if (write_lease(l, s.exists ? s.oid : NULL, l->generation + 1, &err) == 0) {
		set_leading(l, 1, l->generation + 1, began, s.exists ? "the lease lapsed" : "no lease");
	} else if (error_code(err) != ERR_CONFLICT) {
		log_warn(COMPONENT, "cannot take the lease", "error", error_msg(err), LOG_END);
	}
out:
	lease_seen_release(&s);
	error_free(err);
}

static void *lease_main(void *arg)
{
	struct run_lease *l = arg;

	pthread_mutex_lock(&l->mu);
	while (!l->stop) {
		int leading = l->leading;
		struct timespec ts;

		pthread_mutex_unlock(&l->mu);
		if (leading)
			lead_round(l);
		else
			follow_round(l);
		clock_gettime(CLOCK_MONOTONIC, &ts);
		timespec_add_ms(&ts, l->cfg.renew_ms);
		pthread_mutex_lock(&l->mu);
		if (!l->stop)
			pthread_cond_timedwait(&l->cond, &l->mu, &ts);
	}
	pthread_mutex_unlock(&l->mu);
	return NULL;
}

static void register_metrics(struct run_lease *l)
{
	if (l->cfg.metrics == NULL)
		return;
	l->m_leader = metrics_gauge(l->cfg.metrics, "auriga_leader",
				    "1 while this controller holds the lease of its instance and acts, 0 while it follows.",
				    NULL);
	l->m_generation = metrics_gauge(l->cfg.metrics, "auriga_lease_generation",
					"The lease's generation (fencing token) this controller last held.", NULL);
	l->m_ops = metrics_counter(l->cfg.metrics, "auriga_lease_operations_total",
				   "Git operations on the lease's home: fetch (a follower's read) or push (a renewal or "
				   "a takeover), by result (ok, conflict, error).",
				   METRIC_LABELS("op", "result"));
	metric_set(l->m_leader, NULL, 0.0);
}

int run_lease_start(struct run_lease **out, const struct gitsrc_config *g, const struct run_lease_config *cfg,
		    struct error **err)
{
	struct run_lease *l;
	struct gitsrc_config lg = *g;
	char *dir;
	int rc;

	*out = NULL;
	if (lease_git_transport_check(g->url, err) < 0 ||
	    lease_settings_check(cfg->ttl_ms, cfg->renew_ms, cfg->skew_ms, err) < 0)
		return ERR_INVALID;
	l = xcalloc(1, sizeof(*l));
	l->cfg = *cfg;
	l->instance = xstrdup(cfg->instance);
	l->api = xstrdup(cfg->api ? cfg->api : "");
	l->holder = holder_name();
	pthread_mutex_init(&l->mu, NULL);
	pthread_cond_init(&l->cond, NULL);
	/* Its own mirror: only the lease ref is fetched into it, and its network lock is its own. */
	dir = xasprintf("%s/lease", g->state_dir);
	lg.state_dir = dir;
	lg.allowed_signers = NULL;
	rc = gitsrc_open(&l->src, &lg, err);
	free(dir);
	if (rc < 0) {
		run_lease_stop(l);
		return rc;
	}
	register_metrics(l);
	if (pthread_create(&l->thread, NULL, lease_main, l) != 0) {
		run_lease_stop(l);
		return error_set(err, ERR_GENERIC, "cannot start the lease's thread");
	}
	l->started = 1;
	loop_timer_add(cfg->loop, cfg->renew_ms / 2 > 0 ? cfg->renew_ms / 2 : 1, watch_timer, l);
	log_info(COMPONENT, "following until the lease is ours", "instance", l->instance, "holder", l->holder, LOG_END);
	*out = l;
	return 0;
}

int run_lease_from_config(struct run_lease **out, const struct config *c, const struct gitsrc_config *g,
			  struct loop *loop, struct metrics *metrics, struct error **err)
{
	const struct run_lease_config lc = {
		config_str(c, CFG_INSTANCE), config_str(c, CFG_LISTEN), config_ms(c, CFG_LEASE_TTL),
		config_ms(c, CFG_LEASE_RENEW_INTERVAL), config_ms(c, CFG_LEASE_SKEW), loop, metrics,
	};

	*out = NULL;
	return config_bool(c, CFG_LEASE) ? run_lease_start(out, g, &lc, err) : 0;
}

void run_lease_stop(struct run_lease *l)
{
	if (l == NULL)
		return;
	if (l->started) {
		pthread_mutex_lock(&l->mu);
		l->stop = 1;
		pthread_cond_signal(&l->cond);
		pthread_mutex_unlock(&l->mu);
		pthread_join(l->thread, NULL);
	}
	if (l->src)
		gitsrc_free(l->src);
	pthread_mutex_destroy(&l->mu);
	pthread_cond_destroy(&l->cond);
	FREE_ALL(l->instance, l->api, l->holder, l->leader, l->leader_api);
	free(l);
}
