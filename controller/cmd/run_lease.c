/* The election among the controllers of one instance: a thread reading and renewing the lease, and the fences. */
#include "cmd/run_lease.h"

#include <errno.h>
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
#include "engine/engine_traffic.h"
#include "engine/statefile.h"
#include "runtime/config.h"
#include "runtime/file.h"
#include "runtime/lease.h"
#include "runtime/log.h"
#include "runtime/loop.h"
#include "runtime/metrics_registry.h"
#include "runtime/signing.h"
#include "source/gitsrc_worker.h"
#include "source/lease_git.h"
#include "util.h"

#define COMPONENT "lease"
/*
 * The lease's mirror is made anew after this many operations (an hour at the
 * default renew interval): each renewal or read leaves a commit or a pack in
 * it, no ref keeps them, and libgit2 has no gc.
 */
#define MIRROR_RENEW_OPS 360

struct run_lease {
	struct run_lease_config cfg;
	char *instance, *api, *holder;
	char *paths[LEASE_STATE_FILES];	/* the engine's state file and release records: what is shared */
	struct gitsrc *src;
	pthread_t thread;
	int started;
	struct engine *engine;		/* the loop's: held while not leading */
	struct metric *m_leader, *m_generation, *m_ops, *m_reads;
	/* The loop's own: the engine's save count when its files were last read to be shared (run_lease_state_saved). */
	unsigned long saves_seen;
	int saves_known;
	/* Under mu: what the fences and the loop read. */
	pthread_mutex_t mu;
	pthread_cond_t cond;
	pthread_cond_t shared_cond;	/* done_seq moved (run_lease_wait_shared) */
	int stop;
	int leading;
	uint64_t generation;		/* ours while leading; the highest seen otherwise */
	int64_t renewed_began;		/* monotonic: the start of the last renewal that succeeded */
	char *leader, *leader_api;	/* the holder as last seen, for the refusals */
	int told;			/* the leading state the loop was last told of */
	int state_ready;		/* leading, and the shared state installed: the engine may act */
	int installing;			/* the shared state read at the takeover is on its way to the loop */
	int taken;			/* that state was read and stamped for this generation: an install is posted again */
	char *pending[LEASE_STATE_FILES];	/* the engine's files as read after its last save, not shared yet */
	int pending_set;		/* pending holds them: a share is due */
	uint64_t pending_seq;		/* counts the reads put in pending */
	uint64_t done_seq;		/* the last of them whose share was tried (or dropped) */
	int state_wake;			/* share them now, between rounds */
	int share_failing;		/* the last share failed (not a conflict): the next renewal tries again */
	char state_oid[GITSRC_OID_HEX];	/* the shared state's commit as last read or written ("" none) */
	char *shared[LEASE_STATE_FILES];	/* what that commit holds */
	/* The thread's own. */
	char my_oid[GITSRC_OID_HEX];	/* the lease commit we pushed last */
	char seen_oid[GITSRC_OID_HEX];	/* the home's lease commit as last read */
	unsigned ops;			/* operations since the mirror was made anew */
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
	r = l->leading && l->state_ready && lease_valid(l->renewed_began, now_ms(), l->cfg.ttl_ms, l->cfg.skew_ms);
	pthread_mutex_unlock(&l->mu);
	return r;
}

/* Why this controller may not act: the leader as last seen. */
static void why_not(struct run_lease *l, char *why, size_t n)
{
	pthread_mutex_lock(&l->mu);
	if (l->leading && !l->state_ready)
		snprintf(why, n, "this controller took the lease of instance '%s' (generation %" PRIu64 ") and is loading "
			 "the state its instance shares", l->instance, l->generation);
	else if (l->leading)
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
		/* A new engine: its files are read again at its first save or pass. */
		if (e != l->engine)
			l->saves_known = 0;
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
	l->ops++;
	if (l->m_ops)
		metric_inc(l->m_ops, METRIC_LABELS(op, rc == 0			 ? "ok"
						       : error_code(e) == ERR_CONFLICT ? "conflict"
						       : error_code(e) == ERR_REFUSED  ? "refused"
										 : "error"));
}

static void pending_drop(struct run_lease *l)
{
	size_t i;

	for (i = 0; i < LEASE_STATE_FILES; i++)
		str_set(&l->pending[i], NULL);
	l->pending_set = l->state_wake = l->share_failing = 0;
	l->done_seq = l->pending_seq;
	pthread_cond_broadcast(&l->shared_cond);
}

/* Leading from now, or not; the loop is told (on its thread). */
static void set_leading(struct run_lease *l, int leading, uint64_t gen, int64_t began, const char *why)
{
	pthread_mutex_lock(&l->mu);
	l->leading = leading;
	l->state_ready = 0;
	l->installing = 0;
	l->taken = 0;
	pending_drop(l);
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

/* Replaces the lease read or written last (expect) by our record with generation gen; 0 with my_oid set, or the error. */
static int write_lease(struct run_lease *l, const char *expect, uint64_t gen, struct error **err)
{
	struct lease_record rec = { l->holder, gen, wall_ms(), l->cfg.ttl_ms, l->api };
	char oid[GITSRC_OID_HEX];
	int rc = lease_git_write(l->src, l->instance, expect, &rec, oid, err);

	count_op(l, "push", rc, err ? *err : NULL);
	if (rc == 0) {
		snprintf(l->my_oid, sizeof(l->my_oid), "%s", oid);
		snprintf(l->seen_oid, sizeof(l->seen_oid), "%s", oid);
	}
	return rc;
}


/* The shared state. */

/* The engine's files as they are on disk (a file missing: NULL); 0, or the error. */
static int read_files(struct run_lease *l, struct lease_state *st, struct error **err)
{
	size_t i;

	if (l->m_reads)
		metric_inc(l->m_reads, NULL);
	memset(st, 0, sizeof(*st));
	for (i = 0; i < LEASE_STATE_FILES; i++) {
		struct buf b;
		int rc;

		buf_init(&b, STATEFILE_MAX_BYTES);
		rc = file_read(l->paths[i], "state file", FILE_REGULAR, &b, err);
		if (rc == -ENOENT) {
			error_free(*err);
			*err = NULL;
		} else if (rc < 0) {
			buf_release(&b);
			lease_state_release(st);
			return rc;
		} else {
			st->files[i] = buf_detach(&b, NULL);
		}
		buf_release(&b);
	}
	return 0;
}

static int same_text(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

/* Writes st as the shared state, from the commit read or written last; under mu, what is shared then is st's. */
static int write_state(struct run_lease *l, const char *expect, uint64_t gen, const struct lease_state *st,
		       struct error **err)
{
	char oid[GITSRC_OID_HEX];
	char *msg = xasprintf("auriga state %s: generation %" PRIu64 "\n\nholder: %s\ngeneration: %" PRIu64 "\n",
			      l->instance, gen, l->holder, gen);
	int rc = lease_git_state_write(l->src, l->instance, l->cfg.key, expect, st, msg, oid, err);
	size_t i;

	count_op(l, "state-push", rc, err ? *err : NULL);
	free(msg);
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&l->mu);
	snprintf(l->state_oid, sizeof(l->state_oid), "%s", oid);
	for (i = 0; i < LEASE_STATE_FILES; i++)
		str_set(&l->shared[i], st->files[i]);
	pthread_mutex_unlock(&l->mu);
	return 0;
}

/* What the loop installs: the shared state a new leader read, for the generation it took. */
struct install {
	struct run_lease *l;
	uint64_t generation;
	struct lease_state st;
};

/*
 * On the loop: the shared state becomes the engine's files (the local cache)
 * and the engine reads them again; only then may the new leader act.
 */
static void install_on_loop(struct loop *lp, void *arg)
{
	struct install *in = arg;
	struct run_lease *l = in->l;
	struct error *err = NULL;
	size_t i;
	int rc = 0, current;

	pthread_mutex_lock(&l->mu);
	current = l->leading && l->installing && l->generation == in->generation;
	pthread_mutex_unlock(&l->mu);
	for (i = 0; current && rc == 0 && i < LEASE_STATE_FILES; i++) {
		if (in->st.files[i])
			rc = file_replace(l->paths[i], "state file", in->st.files[i], strlen(in->st.files[i]), 0600, &err);
		else if (unlink(l->paths[i]) < 0 && errno != ENOENT)
			rc = error_set(&err, -errno, "cannot remove '%s': %s", l->paths[i], strerror(errno));
	}
	if (current && rc == 0 && l->engine)
		rc = engine_state_reload(l->engine, &err);
	pthread_mutex_lock(&l->mu);
	if (current && l->installing) {
		l->installing = 0;
		l->state_ready = rc == 0;
	}
	pthread_mutex_unlock(&l->mu);
	if (current && rc < 0)
		log_error(COMPONENT, "cannot take up the state the instance shares; not acting until it can", "commit",
			  in->st.oid, "error", error_msg(err), LOG_END);
	else if (current)
		log_info(COMPONENT, "took up the state the instance shares", "commit", in->st.oid, LOG_END);
	error_free(err);
	lease_state_release(&in->st);
	free(in);
	tell_loop(lp, l);
}

/* An install the loop never ran (it stopped first). */
static void install_drop(void *arg)
{
	struct install *in = arg;

	lease_state_release(&in->st);
	free(in);
}

/* Has the loop install what is shared (shared, state_oid) for the generation held: no network work. */
static void install_shared(struct run_lease *l)
{
	struct install *in = xcalloc(1, sizeof(*in));
	size_t i;

	in->l = l;
	in->st.exists = 1;
	pthread_mutex_lock(&l->mu);
	in->generation = l->generation;
	snprintf(in->st.oid, sizeof(in->st.oid), "%s", l->state_oid);
	for (i = 0; i < LEASE_STATE_FILES; i++)
		in->st.files[i] = xstrdup_or_null(l->shared[i]);
	l->installing = 1;
	pthread_mutex_unlock(&l->mu);
	if (loop_post_owned(l->cfg.loop, install_on_loop, in, install_drop) < 0) {
		install_drop(in);
		pthread_mutex_lock(&l->mu);
		l->installing = 0;
		pthread_mutex_unlock(&l->mu);
	}
}

/*
 * A new leader's first step, before it acts: reads the shared state and
 * writes it back stamped with its generation (so a write the old leader
 * still makes, from the commit it knew, fails), and has the loop install it.
 * With no shared state yet (the instance's first leader), its own files
 * become the shared state. 0, or -1 to try again at the next round.
 */
static int take_state(struct run_lease *l)
{
	struct lease_state st;
	struct error *err = NULL;
	uint64_t gen;
	int rc = lease_git_state_read(l->src, l->instance, l->cfg.key, STATEFILE_MAX_BYTES, &st, &err);

	count_op(l, "state-fetch", rc, err);
	pthread_mutex_lock(&l->mu);
	gen = l->generation;
	pthread_mutex_unlock(&l->mu);
	if (rc == 0 && !st.exists)
		rc = read_files(l, &st, &err);
	if (rc == 0)
		rc = write_state(l, st.exists ? st.oid : "", gen, &st, &err);
	if (rc < 0) {
		log_warn(COMPONENT, "cannot take up the state the instance shares; trying again", "error", error_msg(err),
			 LOG_END);
		lease_state_release(&st);
		error_free(err);
		return -1;
	}
	pthread_mutex_lock(&l->mu);
	l->taken = st.exists;
	if (!st.exists)
		l->state_ready = 1;
	pthread_mutex_unlock(&l->mu);
	if (st.exists)
		install_shared(l);
	else
		(void)loop_post(l->cfg.loop, tell_loop, l);
	lease_state_release(&st);
	return 0;
}

/*
 * The engine's files read after its last save, shared from the commit written
 * last when they differ from it. A failure other than a conflict keeps them
 * due, for the next renewal.
 */
static void share_state(struct run_lease *l)
{
	struct lease_state st = { 0 };
	struct error *err = NULL;
	char expect[GITSRC_OID_HEX];
	uint64_t gen, seq = 0;
	size_t i;
	int same = 1;

	pthread_mutex_lock(&l->mu);
	l->state_wake = 0;
	if (!l->pending_set) {
		pthread_mutex_unlock(&l->mu);
		return;
	}
	for (i = 0; i < LEASE_STATE_FILES; i++) {
		st.files[i] = l->pending[i];
		l->pending[i] = NULL;
		same = same && same_text(st.files[i], l->shared[i]);
	}
	l->pending_set = 0;
	l->share_failing = 0;
	seq = l->pending_seq;
	snprintf(expect, sizeof(expect), "%s", l->state_oid);
	gen = l->generation;
	pthread_mutex_unlock(&l->mu);
	/* Written only while the lease holds: a leader whose renewals stopped shares nothing more. */
	if (same || !run_lease_leading(l))
		goto out;
	if (write_state(l, expect, gen, &st, &err) == 0)
		goto out;
	if (error_code(err) == ERR_CONFLICT) {
		/* Only a leader writes it: another controller believes it leads, so this one stops. */
		set_leading(l, 0, 0, 0, "another controller wrote the shared state");
		l->seen_oid[0] = '\0';
	} else {
		log_warn(COMPONENT, "cannot share the state; trying again at the next renewal", "error", error_msg(err),
			 LOG_END);
		pthread_mutex_lock(&l->mu);
		/* Due again, unless a later save's files are already. */
		if (!l->pending_set && l->leading) {
			for (i = 0; i < LEASE_STATE_FILES; i++) {
				l->pending[i] = st.files[i];
				st.files[i] = NULL;
			}
			l->pending_set = 1;
		}
		l->share_failing = 1;
		pthread_mutex_unlock(&l->mu);
	}
out:
	pthread_mutex_lock(&l->mu);
	if (l->done_seq < seq)
		l->done_seq = seq;
	pthread_cond_broadcast(&l->shared_cond);
	pthread_mutex_unlock(&l->mu);
	lease_state_release(&st);
	error_free(err);
}

uint64_t run_lease_state_saved(struct run_lease *l)
{
	struct lease_state st;
	struct error *err = NULL;
	unsigned long saves;
	uint64_t seq;
	size_t i;
	int ready;

	if (l == NULL || l->engine == NULL)
		return 0;
	saves = engine_saves(l->engine);
	pthread_mutex_lock(&l->mu);
	ready = l->leading && l->state_ready;
	pthread_mutex_unlock(&l->mu);
	if (!ready || (l->saves_known && saves == l->saves_seen))
		return 0;
	/* Both files read here, on the loop that writes them: a share never pairs the files of two passes. */
	if (read_files(l, &st, &err) < 0) {
		log_warn(COMPONENT, "cannot read the state to share", "error", error_msg(err), LOG_END);
		error_free(err);
		return 0;
	}
	l->saves_seen = saves;
	l->saves_known = 1;
	pthread_mutex_lock(&l->mu);
	for (i = 0; i < LEASE_STATE_FILES; i++) {
		free(l->pending[i]);
		l->pending[i] = st.files[i];
	}
	l->pending_set = 1;
	seq = ++l->pending_seq;
	l->state_wake = 1;
	pthread_cond_signal(&l->cond);
	pthread_mutex_unlock(&l->mu);
	return seq;
}

int run_lease_wait_shared(struct run_lease *l, uint64_t ticket, long wait_ms)
{
	struct timespec until;
	int timed_out = 0, done;

	if (l == NULL || ticket == 0)
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &until);
	timespec_add_ms(&until, wait_ms);
	pthread_mutex_lock(&l->mu);
	while (l->done_seq < ticket && !timed_out)
		timed_out = pthread_cond_timedwait(&l->shared_cond, &l->mu, &until) == ETIMEDOUT;
	done = l->done_seq >= ticket;
	pthread_mutex_unlock(&l->mu);
	return done ? 0 : -1;
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
		int ready, installing, taken;

		pthread_mutex_lock(&l->mu);
		l->renewed_began = began;
		ready = l->state_ready;
		installing = l->installing;
		taken = l->taken;
		pthread_mutex_unlock(&l->mu);
		l->seen_since = now_ms();
		/*
		 * A takeover whose state could not be read or stamped tries again, one
		 * whose install failed has it installed again; a leader shares what is due.
		 */
		if (!ready && !installing && taken)
			install_shared(l);
		else if (!ready && !installing)
			(void)take_state(l);
		else if (ready)
			share_state(l);
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
		(void)take_state(l);
	} else if (error_code(err) != ERR_CONFLICT) {
		log_warn(COMPONENT, "cannot take the lease", "error", error_msg(err), LOG_END);
	}
out:
	lease_seen_release(&s);
	error_free(err);
}

/* Only this thread uses the mirror, and nothing in it outlives a round: the oids it keeps are text. */
static void renew_mirror(struct run_lease *l)
{
	struct error *err = NULL;

	l->ops = 0;
	if (gitsrc_mirror_renew(l->src, &err) < 0)
		log_warn(COMPONENT, "cannot make the lease's mirror anew", "error", error_msg(err), LOG_END);
	error_free(err);
}

/*
 * The thread: a round every renew interval (a leader's renewal, a
 * follower's read), and between rounds the leader's files shared as soon as
 * the engine says it saved them.
 */
static void *lease_main(void *arg)
{
	struct run_lease *l = arg;
	struct timespec next;

	clock_gettime(CLOCK_MONOTONIC, &next);
	pthread_mutex_lock(&l->mu);
	while (!l->stop) {
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		if (ts.tv_sec > next.tv_sec || (ts.tv_sec == next.tv_sec && ts.tv_nsec >= next.tv_nsec)) {
			int leading = l->leading;

			pthread_mutex_unlock(&l->mu);
			if (leading)
				lead_round(l);
			else
				follow_round(l);
			if (l->ops >= MIRROR_RENEW_OPS)
				renew_mirror(l);
			clock_gettime(CLOCK_MONOTONIC, &next);
			timespec_add_ms(&next, l->cfg.renew_ms);
			pthread_mutex_lock(&l->mu);
		} else if (l->state_wake && !l->share_failing) {
			pthread_mutex_unlock(&l->mu);
			share_state(l);
			pthread_mutex_lock(&l->mu);
		} else {
			/* The condition variable counts on the monotonic clock (run_lease_start). */
			pthread_cond_timedwait(&l->cond, &l->mu, &next);
		}
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
				   "a takeover) of the lease, state-fetch (a takeover's read) or state-push (the leader's "
				   "write) of the state it shares, by result (ok; conflict; refused: the remote refused "
				   "the push, or the state read does not carry the signing key's MAC; error).",
				   METRIC_LABELS("op", "result"));
	l->m_reads = metrics_counter(l->cfg.metrics, "auriga_lease_state_reads_total",
				     "Reads of the leader's state file and release records to share them: one after each "
				     "pass or release control in which the engine wrote them.",
				     NULL);
	metric_set(l->m_leader, NULL, 0.0);
}

int run_lease_start(struct run_lease **out, const struct gitsrc_config *g, const struct run_lease_config *cfg,
		    struct error **err)
{
	struct run_lease *l;
	struct gitsrc_config lg = *g;
	pthread_condattr_t ca;
	char *dir;
	int rc;

	*out = NULL;
	if (cfg->key == NULL || cfg->key->data == NULL)
		return error_set(err, ERR_INVALID, "lease needs signing-key-file: the state the leader shares in the "
				 "specs remote carries its MAC");
	if (lease_git_transport_check(g->url, err) < 0 ||
	    lease_settings_check(cfg->ttl_ms, cfg->renew_ms, cfg->skew_ms, err) < 0)
		return ERR_INVALID;
	l = xcalloc(1, sizeof(*l));
	l->cfg = *cfg;
	l->instance = xstrdup(cfg->instance);
	l->api = xstrdup(cfg->api ? cfg->api : "");
	l->holder = holder_name();
	l->paths[0] = xstrdup(cfg->state_path);
	l->paths[1] = engine_traffic_records_path(cfg->state_path);
	pthread_mutex_init(&l->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&l->cond, &ca);
	pthread_cond_init(&l->shared_cond, &ca);
	pthread_condattr_destroy(&ca);
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
			  struct loop *loop, struct metrics *metrics, const char *state_path,
			  const struct signing_key *key, struct error **err)
{
	const struct run_lease_config lc = {
		config_str(c, CFG_INSTANCE), config_str(c, CFG_LISTEN), config_ms(c, CFG_LEASE_TTL),
		config_ms(c, CFG_LEASE_RENEW_INTERVAL), config_ms(c, CFG_LEASE_SKEW), loop, metrics, state_path, key,
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
	pending_drop(l);
	pthread_mutex_destroy(&l->mu);
	pthread_cond_destroy(&l->cond);
	pthread_cond_destroy(&l->shared_cond);
	FREE_ALL(l->instance, l->api, l->holder, l->leader, l->leader_api, l->paths[0], l->paths[1], l->shared[0],
		 l->shared[1]);
	free(l);
}
