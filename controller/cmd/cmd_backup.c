/* `auriga backup run POLICY` and `auriga backup list`: one backup taken, checked, recorded and pruned; the records shown. */
#include "cmd/cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "cmd/engine_cli.h"
#include "docker/docker.h"
#include "engine/backup.h"
#include "model/desired.h"
#include "runtime/config.h"
#include "runtime/loop.h"
#include "spec_backup.h"
#include "status/backup_records.h"
#include "status/records_lock.h"
#include "util.h"

static void usage(FILE *out, const struct config_extra_flag *extra)
{
	fprintf(out,
		"usage: auriga backup run [options] POLICY [PATH]\n"
		"       auriga backup run [options] --due [PATH]\n"
		"       auriga backup verify [options] POLICY FILE [PATH]\n"
		"       auriga backup list [--json] [--policy NAME] [--state-dir DIR]\n\n"
		"run takes one backup of the BackupPolicy POLICY from the specs (PATH, a folder or file, or\n"
		"--repo): its Job runs with the target mounted at /backup and writes /backup/$AURIGA_BACKUP_FILE;\n"
		"auriga reads the file back, records its size and SHA-256 in the state folder's " BACKUP_RECORDS_FILE ",\n"
		"then removes the backups the policy's retention no longer keeps. Exit 0 when the backup was\n"
		"taken and recorded, 1 when not (the record says why), 2 for a usage error.\n\n"
		"run --due takes a backup of each policy whose spec.schedule (UTC) names a time after the start\n"
		"of its newest backup, failed or not, that has come (a policy never backed up is due): run it\n"
		"every minute from cron or a systemd timer. Exit 1 when one of them failed.\n\n"
		"verify reads a kept backup back from its target and compares its size and SHA-256 with the\n"
		"record: exit 0 when they are the same, 1 when not (do not restore it) or it is gone.\n\n"
		"list prints every backup recorded (--json: as JSON), oldest first.\n\n"
		"options:\n");
	config_usage_cmd(out, "backup", extra);
}

/* What take and verify share: the extra labels, the records file, and the engine once connected. */
struct session {
	struct kv *labels;
	size_t n_labels;
	char *path;		/* STATE_DIR/backups.json */
	char *network;		/* the Job's network as Docker names it (backup_network), or NULL */
	struct loop *l;
	struct docker *d;
};

static void session_close(struct session *s)
{
	kv_free(s->labels, s->n_labels);
	if (s->d)
		docker_free(s->d);
	if (s->l)
		loop_free(s->l);
	FREE_ALL(s->path, s->network);
	memset(s, 0, sizeof(*s));
}

/* The labels as desired.c takes them (a bad one refused) and the records' path; the engine is connected by the caller. */
static int session_open(struct session *s, const struct engine_cli *cli, struct error **err)
{
	size_t i;

	memset(s, 0, sizeof(*s));
	s->path = xasprintf("%s/%s", cli->state_dir, BACKUP_RECORDS_FILE);
	s->labels = xcalloc(cli->n_labels + 1, sizeof(*s->labels));
	for (i = 0; i < cli->n_labels; i++, s->n_labels++)
		if (desired_label_split(cli->labels[i], &s->labels[i], err) < 0)
			return -1;
	return 0;
}

/* What a backup of p on file asks of the runner, from the command's options. */
static void request_init(struct backup_request *rq, const struct engine_cli *cli, const struct spec_set *set,
			 const struct spec_backup_policy *p, struct session *s, const char *file, long max)
{
	memset(rq, 0, sizeof(*rq));
	/* A Deployment's network is auriga's, under the name prefix its containers use. */
	if (s->network == NULL)
		s->network = backup_network(set, p, cli->name_prefix ? cli->name_prefix : cli->instance);
	rq->policy = p;
	rq->instance = cli->instance;
	rq->labels = s->labels;
	rq->n_labels = s->n_labels;
	rq->file = file;
	rq->commit = cli->commit;
	rq->max_bytes = (size_t)max;
	rq->network = s->network;
}

/*
 * Removes what retention no longer keeps (decided on the records as they are
 * now, another process's backups included), and records it as pruned once
 * Docker no longer finds it; not while a drill of the policy runs.
 */
static int prune(struct docker *d, const struct backup_request *rq, const char *cli_state_dir, const char *path,
		 struct error **err)
{
	struct backup_records r;
	size_t *idx = NULL, n, i;
	const char **files;
	int rc;

	/* A drill restores one of them now: nothing is removed under it, the next backup prunes. */
	if (records_run_free(cli_state_dir, "drill", rq->policy->meta.name, NULL) == 0) {
		printf("retention of %s waits: a drill of the policy is running\n", rq->policy->meta.name);
		return 0;
	}
	if (backup_records_load(&r, path, err) < 0)
		return -1;
	n = backup_records_to_prune(&r, rq->policy->meta.name, &rq->policy->retention, &idx);
	files = xcalloc(n + 1, sizeof(*files));
	for (i = 0; i < n; i++)
		files[i] = r.v[idx[i]].file;
	rc = n > 0 ? backup_remove_files(d, rq, files, n, err) : 0;
	for (i = 0; rc == 0 && i < n; i++)
		printf("pruned %s\n", files[i]);
	if (rc == 0 && n > 0 && backup_records_mark_pruned(path, rq->policy->meta.name, files, n, err) < 0)
		rc = -1;
	backup_records_release(&r);
	free(files);
	free(idx);
	return rc;
}

/*
 * Takes the backup, records it, prunes: the exit status. The policy's run
 * lock is held throughout and its start recorded (running) before anything
 * is made, so that a second run at the same time is refused and a process
 * killed in the middle leaves a record that backup_records_settle closes.
 */
static int take(struct engine_cli *cli, const struct spec_set *set, const struct spec_backup_policy *p, long max,
		struct error **err)
{
	struct backup_request rq;
	struct backup_result res;
	struct backup_record rec;
	struct session s;
	int64_t start = wall_ms();
	char *file = backup_file_name(p->meta.name, start), *lock = records_run_lock_path(cli->state_dir, "backup", p->meta.name);
	int rc = 1, lfd = -1, held;

	memset(&res, 0, sizeof(res));
	/* The running record, written under the file's lock before anything is made, is also the
	 * check that the records file is ours. */
	if (session_open(&s, cli, err) < 0)
		goto out;
	held = records_lock(lock, 0, &lfd, err);
	if (held <= 0) {
		if (held == 0)
			error_set(err, ERR_CONFLICT, "a backup of policy '%s' is running already (%s is held)", p->meta.name,
				  lock);
		goto out;
	}
	res.message = xstrdup("");
	backup_record_from(&rec, p->meta.name, file, cli->commit, start, &res);
	rec.status = BACKUP_RUNNING;
	rc = backup_records_record(s.path, &rec, err);
	backup_result_release(&res);
	if (rc < 0) {
		rc = 1;
		goto out;
	}
	rc = 1;
	if (engine_cli_connect(cli, &s.l, &s.d, NULL, err) < 0)
		goto settle;
	request_init(&rq, cli, set, p, &s, file, max);
	if (backup_take(s.d, &rq, &res, err) < 0)
		goto settle;
	backup_record_from(&rec, p->meta.name, file, cli->commit, start, &res);
	if (backup_records_record(s.path, &rec, err) < 0)
		goto out;
	if (!res.ok) {
		const char *partial[] = { file };

		fprintf(stderr, "auriga backup: %s: %s\n", p->meta.name, res.message);
		/* What a failed Job left of its file is no backup: it goes, so nothing mistakes it for one. */
		if (res.target)
			(void)backup_remove_files(s.d, &rq, partial, 1, err);
		goto out;
	}
	printf("backup %s: %s, %llu bytes, sha256 %s, %.1f s, %s\n", p->meta.name, file, (unsigned long long)res.size,
	       res.sha256, (double)res.duration_ms / 1000.0, res.target);
	rc = prune(s.d, &rq, cli->state_dir, s.path, err) < 0 ? 1 : 0;
	goto out;
settle:
	/* Not attempted after all (Docker unreachable, the target refused): the running record says why. */
	backup_result_release(&res);
	res.message = xstrdup(*err ? error_msg(*err) : "not attempted");
	res.duration_ms = wall_ms() - start;
	backup_record_from(&rec, p->meta.name, file, cli->commit, start, &res);
	(void)backup_records_record(s.path, &rec, NULL);
out:
	records_unlock(lfd);
	backup_result_release(&res);
	session_close(&s);
	FREE_ALL(file, lock);
	return rc;
}

/* Every policy whose schedule is due now: one backup each. */
static int run_due(struct engine_cli *cli, const struct spec_set *set, long max, struct error **err)
{
	char *path = xasprintf("%s/%s", cli->state_dir, BACKUP_RECORDS_FILE);
	struct backup_records r;
	int64_t now = wall_ms() / 1000, next;
	size_t i;
	int rc = 0;

	/* A backup whose process was killed is closed first: failed, its start still counting for the schedule. */
	if (backup_records_settle(cli->state_dir, err) < 0 || backup_records_load(&r, path, err) < 0) {
		fprintf(stderr, "auriga backup run: %s\n", error_msg(*err));
		free(path);
		return 1;
	}
	for (i = 0; i < set->n_backup_policies; i++) {
		const struct spec_backup_policy *p = set->backup_policies[i];

		if (p->schedule == NULL)
			continue;
		if (!backup_records_due(&r, p->meta.name, &p->cron, now, &next)) {
			printf("backup %s: not due (next at %lld)\n", p->meta.name, (long long)next);
			continue;
		}
		if (take(cli, set, p, max, err) != 0) {
			fprintf(stderr, "auriga backup run: %s: %s\n", p->meta.name, *err ? error_msg(*err) : "failed");
			error_free(*err);
			*err = NULL;
			rc = 1;
		}
	}
	backup_records_release(&r);
	free(path);
	return rc;
}

/* Reads a kept backup back from its target: 0 when its size and SHA-256 are the recorded ones. */
static int verify(struct engine_cli *cli, const struct spec_set *set, const struct spec_backup_policy *p,
		  const char *file, long max, struct error **err)
{
	const struct backup_record *rec = NULL;
	struct backup_records r;
	struct backup_request rq;
	struct backup_result res;
	struct session s;
	size_t i;
	int rc = 1;

	memset(&res, 0, sizeof(res));
	memset(&r, 0, sizeof(r));
	if (session_open(&s, cli, err) < 0 || backup_records_load(&r, s.path, err) < 0)
		goto out;
	for (i = 0; i < r.n; i++)
		if (r.v[i].status == BACKUP_OK && strcmp(r.v[i].policy, p->meta.name) == 0 && strcmp(r.v[i].file, file) == 0)
			rec = &r.v[i];
	if (rec == NULL) {
		error_set(err, ERR_INVALID, "no kept backup '%s' of policy '%s' is recorded in %s", file, p->meta.name,
			  s.path);
		goto out;
	}
	request_init(&rq, cli, set, p, &s, file, max);
	if (engine_cli_connect(cli, &s.l, &s.d, NULL, err) < 0 || backup_read_file(s.d, &rq, &res, err) < 0)
		goto out;
	if (!res.ok)
		error_set(err, ERR_GENERIC, "%s", res.message);
	else if (strcmp(res.sha256, rec->sha256) != 0 || res.size != rec->size)
		error_set(err, ERR_GENERIC, "checksum mismatch: %s on %s has sha256 %s (%llu bytes), the record says %s "
			  "(%llu bytes): it is not the backup taken, do not restore it", file, res.target, res.sha256,
			  (unsigned long long)res.size, rec->sha256, (unsigned long long)rec->size);
	else
		rc = 0;
	if (rc == 0)
		printf("backup %s: %s verified, sha256 %s, %llu bytes\n", p->meta.name, file, res.sha256,
		       (unsigned long long)res.size);
out:
	backup_records_release(&r);
	backup_result_release(&res);
	session_close(&s);
	return rc;
}

/* The verb's command line: the settings `backup` takes (the table's), its own flags, the positional words. */
struct opts {
	struct config *conf;
	char **pos;		/* NULL-terminated, borrowed from argv */
	size_t n;
	int due, json, help;
	const char *policy;	/* list --policy */
};

/* Reads argv (argv[0] the verb) as `backup`'s settings: 0, or the exit status (0 for --help, 2 for a usage error). */
static int opts_load(struct opts *o, int argc, char **argv, const char *verb)
{
	const struct config_extra_flag extra[] = {
		{ "due", &o->due, NULL, NULL, "run: each policy whose schedule has come", 0, 0 },
		{ "json", &o->json, NULL, NULL, "list: one JSON document on stdout", 0, 0 },
		{ "policy", NULL, &o->policy, "NAME", "list: only this policy's backups", 1, 0 },
		{ "help", &o->help, NULL, NULL, NULL, 0, 0 },
		{ NULL, NULL, NULL, NULL, NULL, 0, 0 },
	};
	char **av = xcalloc((size_t)argc + 1, sizeof(*av));
	struct error *err = NULL;
	int i, rc = 0;

	/* The settings are `backup`'s whatever the verb: argv[0] names the command config_load reads rows for. */
	av[0] = (char *)"backup";
	for (i = 1; i < argc; i++)
		av[i] = argv[i];
	if (config_load(&o->conf, argc, av, NULL, extra, &o->pos, &err) < 0) {
		fprintf(stderr, "auriga backup %s: %s\n", verb, error_msg(err));
		rc = 2;
	} else if (o->help) {
		usage(stdout, extra);
		rc = 0;
	} else {
		config_log_setup(o->conf);
		while (o->pos[o->n])
			o->n++;
		rc = -1;
	}
	error_free(err);
	free(av);
	return rc;
}

static void opts_release(struct opts *o)
{
	free(o->pos);
	config_free(o->conf);
}

/* run and verify: the policy named (and verify's file), the specs loaded. */
static int engine_verb(int argc, char **argv, int verifying)
{
	const char *verb = verifying ? "verify" : "run";
	struct engine_cli cli;
	struct spec_set *set = NULL;
	const struct spec_backup_policy *p;
	struct error *err = NULL;
	struct opts o;
	size_t named;
	long max;
	int rc;

	memset(&o, 0, sizeof(o));
	engine_cli_init(&cli);
	rc = opts_load(&o, argc, argv, verb);
	if (rc >= 0)
		goto out;
	named = o.due ? 0 : verifying ? 2 : 1;
	if (o.n < named || (o.due && verifying)) {
		fprintf(stderr, "auriga backup %s: name the BackupPolicy%s\n", verb, verifying ? " and the backup's file" : "");
		rc = 2;
		goto out;
	}
	rc = 1;
	max = config_int(o.conf, CFG_BACKUP_MAX_BYTES);
	if (engine_cli_finish(&cli, o.conf, (int)(o.n - named), o.pos + named, &err) < 0 ||
	    engine_cli_load(&cli, &set, &err) < 0) {
		fprintf(stderr, "auriga backup %s: %s\n", verb, error_msg(err));
		goto out;
	}
	if (o.due) {
		rc = run_due(&cli, set, max, &err);
		goto out;
	}
	p = spec_set_backup_policy(set, o.pos[0]);
	if (p == NULL) {
		fprintf(stderr, "auriga backup %s: no BackupPolicy named '%s' in the specs\n", verb, o.pos[0]);
		goto out;
	}
	rc = verifying ? verify(&cli, set, p, o.pos[1], max, &err) : take(&cli, set, p, max, &err);
	if (err)
		fprintf(stderr, "auriga backup %s: %s: %s\n", verb, p->meta.name, error_msg(err));
out:
	error_free(err);
	if (set)
		spec_set_free(set);
	engine_cli_release(&cli);
	opts_release(&o);
	return rc;
}

static void print_record(const struct backup_record *r)
{
	json_t *j = backup_record_json(r);

	printf("%-20s %-8s %-40s %12llu  %.12s  %s%s%s\n", json_string_value(json_object_get(j, "time")),
	       backup_status_name(r->status), r->file, (unsigned long long)r->size, r->sha256[0] ? r->sha256 : "-",
	       r->target, r->message[0] ? ": " : "", r->message);
	json_decref(j);
}

static int list(int argc, char **argv)
{
	struct backup_records r;
	struct error *err = NULL;
	struct opts o;
	char *path = NULL;
	size_t i;
	int rc;

	memset(&o, 0, sizeof(o));
	memset(&r, 0, sizeof(r));
	rc = opts_load(&o, argc, argv, "list");
	if (rc < 0 && o.n > 0) {
		fprintf(stderr, "auriga backup list: takes no PATH\n");
		rc = 2;
	}
	if (rc >= 0)
		goto out;
	rc = 1;
	path = xasprintf("%s/%s", config_str(o.conf, CFG_STATE_DIR), BACKUP_RECORDS_FILE);
	if (backup_records_load(&r, path, &err) < 0) {
		fprintf(stderr, "auriga backup list: %s\n", error_msg(err));
		goto out;
	}
	if (o.json) {
		json_t *a = json_array(), *doc;

		for (i = 0; i < r.n; i++)
			if (o.policy == NULL || strcmp(o.policy, r.v[i].policy) == 0)
				json_array_append_new(a, backup_record_json(&r.v[i]));
		doc = json_pack("{s:o}", "backups", a);
		json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		fputc('\n', stdout);
		json_decref(doc);
	} else {
		printf("%-20s %-8s %-40s %12s  %-12s  %s\n", "TIME", "STATUS", "FILE", "SIZE", "SHA256", "TARGET");
		for (i = 0; i < r.n; i++)
			if (o.policy == NULL || strcmp(o.policy, r.v[i].policy) == 0)
				print_record(&r.v[i]);
	}
	rc = 0;
out:
	error_free(err);
	backup_records_release(&r);
	opts_release(&o);
	free(path);
	return rc;
}

int cmd_backup(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "run") == 0)
		return engine_verb(argc - 1, argv + 1, 0);
	if (argc >= 2 && strcmp(argv[1], "verify") == 0)
		return engine_verb(argc - 1, argv + 1, 1);
	if (argc >= 2 && strcmp(argv[1], "list") == 0)
		return list(argc - 1, argv + 1);
	fprintf(stderr, "usage: auriga backup run|verify|list [options] ...; auriga backup run --help for more\n");
	return 2;
}
