/* What `auriga restore` and `auriga drill` share: their options, the specs and records loaded, a dump's checksum checked. */
#include "cmd/restore_cli.h"

#include <stdlib.h>
#include <string.h>

#include "docker/docker.h"
#include "engine/backup.h"
#include "model/desired.h"
#include "runtime/config.h"
#include "runtime/loop.h"
#include "spec_backup.h"
#include "util.h"

int restore_cli_open(struct restore_cli *o, const char *cmd, int argc, char **argv, void (*usage)(FILE *))
{
	const struct config_extra_flag extra[] = {
		{ "target", NULL, &o->target, "NAME", "restore: the database container to restore into", 1, 0 },
		{ "force", &o->force, NULL, NULL, "restore: into a running database of the fleet too", 0, 0 },
		{ "due", &o->due, NULL, NULL, "drill: each policy whose spec.drill.schedule has come", 0, 0 },
		{ "help", &o->help, NULL, NULL, NULL, 0, 0 },
		{ NULL, NULL, NULL, NULL, NULL, 0, 0 },
	};
	char **av = xcalloc((size_t)argc + 1, sizeof(*av));
	struct error *err = NULL;
	int i, rc = -1;

	memset(o, 0, sizeof(*o));
	o->cmd = cmd;
	engine_cli_init(&o->cli);
	/* restore and drill take backup's settings: the engine's, the state folder, the labels and the policy. */
	av[0] = (char *)"backup";
	for (i = 1; i < argc; i++)
		av[i] = argv[i];
	if (config_load(&o->conf, argc, av, NULL, extra, &o->pos, &err) < 0) {
		fprintf(stderr, "auriga %s: %s\n", cmd, error_msg(err));
		rc = 2;
	} else if (o->help) {
		usage(stdout);
		fprintf(stdout, "\noptions:\n");
		config_usage_cmd(stdout, "backup", extra);
		rc = 0;
	} else {
		config_log_setup(o->conf);
		while (o->pos[o->n])
			o->n++;
	}
	error_free(err);
	free(av);
	return rc;
}

int restore_cli_load(struct restore_cli *o, size_t named, struct error **err)
{
	size_t i;

	if (engine_cli_finish(&o->cli, o->conf, (int)(o->n - named), o->pos + named, err) < 0 ||
	    engine_cli_load(&o->cli, &o->set, err) < 0)
		return -1;
	o->labels = xcalloc(o->cli.n_labels + 1, sizeof(*o->labels));
	for (i = 0; i < o->cli.n_labels; i++, o->n_labels++)
		if (desired_label_split(o->cli.labels[i], &o->labels[i], err) < 0)
			return -1;
	o->records_path = xasprintf("%s/%s", o->cli.state_dir, BACKUP_RECORDS_FILE);
	/* The records are read before Docker is reached: a file that is not ours stops the command first. */
	if (backup_records_load(&o->recs, o->records_path, err) < 0)
		return -1;
	return engine_cli_connect(&o->cli, &o->l, &o->d, NULL, err);
}

void restore_cli_close(struct restore_cli *o)
{
	backup_records_release(&o->recs);
	kv_free(o->labels, o->n_labels);
	if (o->d)
		docker_free(o->d);
	if (o->l)
		loop_free(o->l);
	if (o->set)
		spec_set_free(o->set);
	engine_cli_release(&o->cli);
	free(o->records_path);
	free(o->pos);
	config_free(o->conf);
	memset(o, 0, sizeof(*o));
}

void restore_cli_request(const struct restore_cli *o, const struct spec_backup_policy *p, const struct backup_record *rec,
			 struct restore_request *rq)
{
	memset(rq, 0, sizeof(*rq));
	rq->policy = p;
	rq->instance = o->cli.instance;
	rq->labels = o->labels;
	rq->n_labels = o->n_labels;
	rq->file = rec->file;
	rq->sha256 = rec->sha256;
}

int restore_cli_checksum(struct restore_cli *o, const struct spec_backup_policy *p, const struct backup_record *rec,
			 struct error **err)
{
	struct backup_request rq;
	struct backup_result res;
	int rc;

	memset(&rq, 0, sizeof(rq));
	rq.policy = p;
	rq.instance = o->cli.instance;
	rq.labels = o->labels;
	rq.n_labels = o->n_labels;
	rq.file = rec->file;
	rq.commit = "";
	rq.max_bytes = (size_t)config_int(o->conf, CFG_BACKUP_MAX_BYTES);
	rc = backup_read_file(o->d, &rq, &res, err);
	if (rc == 0 && !res.ok)
		rc = error_set(err, ERR_GENERIC, "%s", res.message);
	else if (rc == 0 && (strcmp(res.sha256, rec->sha256) != 0 || res.size != rec->size))
		rc = error_set(err, ERR_REFUSED,
			       "checksum mismatch: %s on %s has sha256 %s (%llu bytes), the record says %s (%llu bytes): "
			       "it is not the backup taken", rec->file, res.target, res.sha256,
			       (unsigned long long)res.size, rec->sha256, (unsigned long long)rec->size);
	backup_result_release(&res);
	return rc;
}
