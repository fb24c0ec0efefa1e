/* The daemon's schedules: each BackupPolicy's backups and drills started when their time comes, in a child process each. */
#include "cmd/run_schedule.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "cmd/run_daemon.h"
#include "cmd/run_lease.h"
#include "cron.h"
#include "runtime/config.h"
#include "runtime/log.h"
#include "runtime/loop.h"
#include "spec.h"
#include "spec_backup.h"
#include "status/backup_records.h"
#include "status/drill_records.h"
#include "strv.h"
#include "util.h"

#define COMPONENT "schedule"
/* How often children are reaped, and the schedules looked at (a child's end makes it look at once). */
#define TICK_MS 1000
#define LOOK_MS 5000
/* The most of a child's output logged when it ends: its last bytes. */
#define OUTPUT_MAX 8192

extern char **environ;

enum kind { KIND_BACKUP, KIND_DRILL };

static const char *const kind_names[] = { "backup", "drill" };
/* Blocked in the daemon for its signalfd; a child takes them as usual. */
static const int stop_signals[] = { SIGTERM, SIGINT, SIGHUP };

/*
 * A policy's schedules, and when this daemon last started each (-1: never).
 * A policy new or changed in the commit applied is fresh: its runs wait
 * for that commit to settle (at most schedule-start-hold from fresh_ms), as
 * its Job needs the network, the volume and the database it makes.
 */
struct sched_policy {
	char *name;
	char hash[SPEC_REVISION_HEX];	/* spec_backup_policy_hash */
	int has[2];
	struct cron cron[2];
	int64_t spawned_s[2];
	int fresh;
	int hold_logged;	/* the wait was logged */
	int64_t fresh_ms;	/* when it became fresh (monotonic) */
};

struct child {
	pid_t pid;
	enum kind kind;
	char *policy;
	char *log_path;		/* its standard output and error */
};

struct run_schedule {
	struct daemon *dm;
	uint64_t timer;
	struct sched_policy *p;
	size_t n;
	struct child *c;
	size_t nc, cap;
	int64_t looked_ms;	/* when the records were last looked at (monotonic) */
};

/* This program, as the Git helper is run: the children run the same code as the commands. */
#define SELF "/proc/self/exe"

static void policies_free(struct run_schedule *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		free(s->p[i].name);
	free(s->p);
	s->p = NULL;
	s->n = 0;
}

void run_schedule_set(struct run_schedule *s, const struct spec_set *set)
{
	struct sched_policy *old = s->p;
	size_t n_old = s->n, i, k;

	s->p = xcalloc(set->n_backup_policies + 1, sizeof(*s->p));
	s->n = 0;
	for (i = 0; i < set->n_backup_policies; i++) {
		const struct spec_backup_policy *bp = set->backup_policies[i];
		struct sched_policy *sp = &s->p[s->n++];

		sp->name = xstrdup(bp->meta.name);
		spec_backup_policy_hash(bp, sp->hash);
		sp->has[KIND_BACKUP] = bp->schedule != NULL;
		sp->cron[KIND_BACKUP] = bp->cron;
		sp->has[KIND_DRILL] = bp->restore.has_drill && bp->restore.drill_schedule != NULL;
		sp->cron[KIND_DRILL] = bp->restore.drill_cron;
		sp->spawned_s[KIND_BACKUP] = sp->spawned_s[KIND_DRILL] = -1;
		sp->fresh = 1;
		sp->fresh_ms = loop_now(s->dm->loop);
		/* A policy kept across a new commit keeps when it was last started; unchanged, it is not fresh. */
		for (k = 0; k < n_old; k++) {
			if (strcmp(old[k].name, sp->name) != 0)
				continue;
			memcpy(sp->spawned_s, old[k].spawned_s, sizeof(sp->spawned_s));
			if (strcmp(old[k].hash, sp->hash) == 0) {
				sp->fresh = old[k].fresh;
				sp->hold_logged = old[k].hold_logged;
				sp->fresh_ms = old[k].fresh_ms;
			}
		}
	}
	for (k = 0; k < n_old; k++)
		free(old[k].name);
	free(old);
}

/*
 * The child's environment: the daemon's without AURIGA_*, then each setting
 * `backup` takes that the daemon was given, so the child runs with the same
 * instance, state folder, labels, policy, Docker host and repository.
 */
static char **child_env(const struct config *cfg)
{
	size_t n = 0, k = 0, i;
	char **env;
	int key;

	while (environ[n])
		n++;
	env = xcalloc(n + CFG__COUNT + 1, sizeof(*env));
	for (i = 0; i < n; i++)
		if (!str_has_prefix(environ[i], "AURIGA_"))
			env[k++] = xstrdup(environ[i]);
	for (key = 0; key < CFG__COUNT; key++) {
		const struct config_spec *cs = config_spec((enum config_key)key);

		/* A setting left at its default is left to the child's own default: some defaults are
		 * not their text (name-prefix unset is the instance; set empty, no prefix at all). */
		if (key == CFG_CONFIG || !(config_cmds((enum config_key)key) & CFG_CMD_BACKUP) || cs->env == NULL ||
		    config_source_of(cfg, (enum config_key)key) == CFG_SRC_DEFAULT)
			continue;
		if (cs->type == CFGT_LIST) {
			struct buf b = BUF_INIT_MAX(64 * 1024);
			size_t nl, j;
			const char *const *l = config_list(cfg, (enum config_key)key, &nl);

			(void)buf_printf(&b, "%s=", cs->env);
			for (j = 0; j < nl; j++)
				(void)buf_printf(&b, "%s%s", j ? "," : "", l[j]);
			env[k++] = buf_detach(&b, NULL);
		} else {
			env[k++] = xasprintf("%s=%s", cs->env, config_str(cfg, (enum config_key)key));
		}
	}
	return env;
}

/* Starts `auriga backup run POLICY [PATH]` or `auriga drill POLICY [PATH]`, its output in c->log_path. */
static int spawn(struct run_schedule *s, struct child *c, struct error **err)
{
	const char *folder = s->dm->folder;
	char *argv[6];
	char **env = child_env(s->dm->cfg);
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, dfl;
	size_t n = 0, i;
	int rc;

	argv[n++] = (char *)"auriga";
	if (c->kind == KIND_BACKUP) {
		argv[n++] = (char *)"backup";
		argv[n++] = (char *)"run";
	} else {
		argv[n++] = (char *)"drill";
	}
	argv[n++] = c->policy;
	if (folder)
		argv[n++] = (char *)folder;
	argv[n] = NULL;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, c->log_path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0600);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	/* The daemon blocks its stop signals in every thread for its signalfd; the child takes them as usual. */
	posix_spawnattr_init(&at);
	sigemptyset(&none);
	sigemptyset(&dfl);
	for (i = 0; i < ARRAY_SIZE(stop_signals); i++)
		sigaddset(&dfl, stop_signals[i]);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &dfl);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	rc = posix_spawn(&c->pid, SELF, &fa, &at, argv, env);
	posix_spawnattr_destroy(&at);
	posix_spawn_file_actions_destroy(&fa);
	strv_free(env);
	if (rc != 0)
		return error_set(err, ERR_GENERIC, "cannot start 'auriga %s %s': %s", argv[1], c->policy, strerror(rc));
	return 0;
}

/* The last OUTPUT_MAX bytes of the child's output, one log line each. */
static void log_output(const struct child *c, int failed)
{
	char buf[OUTPUT_MAX + 1], *line, *end;
	int fd = open(c->log_path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	off_t size;
	ssize_t got;

	if (fd < 0)
		return;
	size = lseek(fd, 0, SEEK_END);
	if (size > OUTPUT_MAX)
		(void)lseek(fd, size - OUTPUT_MAX, SEEK_SET);
	else
		(void)lseek(fd, 0, SEEK_SET);
	got = read(fd, buf, OUTPUT_MAX);
	close(fd);
	if (got <= 0)
		return;
	buf[got] = '\0';
	for (line = buf; *line; line = end) {
		end = strchr(line, '\n');
		if (end)
			*end++ = '\0';
		else
			end = line + strlen(line);
		if (*line)
			log_event(failed ? LOG_WARN : LOG_INFO, COMPONENT, "output", "kind", kind_names[c->kind], "policy",
				  c->policy, "line", line, LOG_END);
	}
}

static void child_release(struct child *c)
{
	FREE_ALL(c->policy, c->log_path);
}

/* The children that ended: reaped, their output and exit logged; how many. */
static size_t reap(struct run_schedule *s)
{
	size_t i = 0, ended = 0;

	while (i < s->nc) {
		struct child *c = &s->c[i];
		int status = 0;
		pid_t w = waitpid(c->pid, &status, WNOHANG);
		char how[32];

		if (w == 0 || (w < 0 && errno == EINTR)) {
			i++;
			continue;
		}
		if (w < 0)
			snprintf(how, sizeof(how), "lost");
		else if (WIFEXITED(status))
			snprintf(how, sizeof(how), "exit %d", WEXITSTATUS(status));
		else
			snprintf(how, sizeof(how), "signal %d", WIFSIGNALED(status) ? WTERMSIG(status) : 0);
		log_output(c, w < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0);
		log_event(w > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? LOG_INFO : LOG_WARN, COMPONENT,
			  "scheduled run ended", "kind", kind_names[c->kind], "policy", c->policy, "status", how, LOG_END);
		child_release(c);
		s->c[i] = s->c[--s->nc];
		ended++;
	}
	return ended;
}

static int running(const struct run_schedule *s, enum kind k, const char *policy)
{
	size_t i;

	for (i = 0; i < s->nc; i++)
		if (s->c[i].kind == k && strcmp(s->c[i].policy, policy) == 0)
			return 1;
	return 0;
}

static void start(struct run_schedule *s, struct sched_policy *sp, enum kind k, int64_t now_s)
{
	struct error *err = NULL;
	struct child c;
	char pid[24];

	memset(&c, 0, sizeof(c));
	c.kind = k;
	c.policy = xstrdup(sp->name);
	c.log_path = xasprintf("%s/schedule-%s-%s.log", config_str(s->dm->cfg, CFG_STATE_DIR), kind_names[k], sp->name);
	/* Counted as started either way: a child that cannot start waits for the next slot, as a failed run does. */
	sp->spawned_s[k] = now_s;
	if (spawn(s, &c, &err) < 0) {
		log_error(COMPONENT, "cannot start a scheduled run", "kind", kind_names[k], "policy", sp->name, "error",
			  error_msg(err), LOG_END);
		error_free(err);
		child_release(&c);
		return;
	}
	snprintf(pid, sizeof(pid), "%d", (int)c.pid);
	log_info(COMPONENT, "scheduled run started", "kind", kind_names[k], "policy", sp->name, "pid", pid, "output",
		 c.log_path, LOG_END);
	XGROW(s->c, s->cap, s->nc + 1);
	s->c[s->nc++] = c;
}

/*
 * Due by the records, as `--due` decides (the newest record's start, failed
 * or running, and the next slot after it), and by this daemon's own last
 * start: a child that ended without a record waits for the next slot.
 */
static int due(const struct sched_policy *sp, enum kind k, const struct backup_records *br, const json_t *drills,
	       int64_t now_s)
{
	int64_t next;
	int d = k == KIND_BACKUP ? backup_records_due(br, sp->name, &sp->cron[k], now_s, &next)
				 : drill_records_due(drills, sp->name, &sp->cron[k], now_s, &next);

	if (!d)
		return 0;
	if (sp->spawned_s[k] < 0)
		return 1;
	next = cron_next(&sp->cron[k], sp->spawned_s[k]);
	return next >= 0 && next <= now_s;
}

/* The records read, the ones left running by a process that is gone closed first; 0 or <0 with *err. */
static int read_records(const char *state_dir, struct backup_records *br, json_t **drills, struct error **err)
{
	char *bp = xasprintf("%s/%s", state_dir, BACKUP_RECORDS_FILE), *dp = xasprintf("%s/%s", state_dir, DRILL_RECORDS_FILE);
	int rc = 0;

	memset(br, 0, sizeof(*br));
	*drills = NULL;
	if (backup_records_settle(state_dir, err) < 0 || drill_records_settle(state_dir, err) < 0 ||
	    backup_records_load(br, bp, err) < 0 || drill_records_load(drills, dp, err) < 0)
		rc = -1;
	FREE_ALL(bp, dp);
	return rc;
}

/*
 * Whether sp's runs still wait: it is fresh, the commit applied has not
 * settled (Healthy, Failed or RolledBack), and schedule-start-hold has not
 * passed since it became fresh. The wait and its end are logged once each.
 */
static int held(struct run_schedule *s, struct sched_policy *sp, int64_t now)
{
	long hold = config_ms(s->dm->cfg, CFG_SCHEDULE_START_HOLD);
	int timed_out = now - sp->fresh_ms >= hold;

	if (!sp->fresh || hold == 0) {
		sp->fresh = 0;
		return 0;
	}
	if (!s->dm->settled && !timed_out) {
		if (!sp->hold_logged)
			log_info(COMPONENT, "scheduled runs wait until the commit applied settles", "policy", sp->name,
				 LOG_END);
		sp->hold_logged = 1;
		return 1;
	}
	if (s->dm->settled)
		log_info(COMPONENT, "scheduled runs start: the commit applied settled", "policy", sp->name, LOG_END);
	else
		log_warn(COMPONENT, "scheduled runs start: the commit applied did not settle in time", "policy", sp->name,
			 "waited", config_str(s->dm->cfg, CFG_SCHEDULE_START_HOLD), LOG_END);
	sp->fresh = 0;
	return 0;
}

static void look(struct run_schedule *s)
{
	struct backup_records br;
	struct error *err = NULL;
	json_t *drills = NULL;
	int64_t now_s = wall_ms() / 1000, now = loop_now(s->dm->loop);
	size_t i;
	int k, any = 0;

	for (i = 0; i < s->n; i++)
		any |= s->p[i].has[KIND_BACKUP] | s->p[i].has[KIND_DRILL];
	if (!any)
		return;
	if (read_records(config_str(s->dm->cfg, CFG_STATE_DIR), &br, &drills, &err) < 0) {
		log_error(COMPONENT, "the records cannot be read: no scheduled run starts", "error", error_msg(err), LOG_END);
		goto out;
	}
	for (i = 0; i < s->n; i++) {
		for (k = KIND_BACKUP; k <= KIND_DRILL; k++)
			if (s->p[i].has[k] && !running(s, (enum kind)k, s->p[i].name) &&
			    due(&s->p[i], (enum kind)k, &br, drills, now_s) && !held(s, &s->p[i], now))
				start(s, &s->p[i], (enum kind)k, now_s);
		/* One not due yet is no longer fresh once the commit settled: its next slot needs no wait. */
		if (s->dm->settled)
			s->p[i].fresh = 0;
	}
out:
	error_free(err);
	backup_records_release(&br);
	json_decref(drills);
}

static void tick(struct loop *l, void *arg)
{
	struct run_schedule *s = arg;

	s->timer = loop_timer_add(l, TICK_MS, tick, s);
	if (reap(s) == 0 && s->looked_ms > 0 && loop_now(l) - s->looked_ms < LOOK_MS)
		return;
	s->looked_ms = loop_now(l);
	/* Only the leader starts a backup or a drill: a follower's children would act on the fleet. */
	if (!s->dm->stopping && config_bool(s->dm->cfg, CFG_BACKUP_SCHEDULES) &&
	    (s->dm->lease == NULL || run_lease_leading(s->dm->lease)))
		look(s);
}

struct run_schedule *run_schedule_new(struct daemon *dm)
{
	struct run_schedule *s = xcalloc(1, sizeof(*s));

	s->dm = dm;
	s->timer = loop_timer_add(dm->loop, TICK_MS, tick, s);
	return s;
}

void run_schedule_free(struct run_schedule *s)
{
	size_t i;

	if (s == NULL)
		return;
	loop_timer_cancel(s->dm->loop, s->timer);
	reap(s);
	for (i = 0; i < s->nc; i++) {
		char pid[24];

		snprintf(pid, sizeof(pid), "%d", (int)s->c[i].pid);
		log_info(COMPONENT, "scheduled run left to end on its own", "kind", kind_names[s->c[i].kind], "policy",
			 s->c[i].policy, "pid", pid, LOG_END);
		child_release(&s->c[i]);
	}
	free(s->c);
	policies_free(s);
	free(s);
}
