/* The BackupPolicy kind: decoded from its schema-checked tree, defaulted, and checked with positions. */
#include "spec_backup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "spec_internal.h"
#include "strv.h"
#include "util.h"

static char *str_at(const struct ynode *m, const char *k)
{
	const char *s = ynode_str(ynode_get(m, k));

	return s ? xstrdup(s) : NULL;
}

/* An integer field, or def when absent or not an integer in [0, 1000000]. */
static int int_at(const struct ynode *m, const char *k, int def)
{
	long long v;

	return ynode_int(ynode_get(m, k), &v) == 0 && v >= 0 && v <= 1000000 ? (int)v : def;
}

struct spec_backup_policy *spec_decode_backup_policy(const struct ynode *doc)
{
	struct spec_backup_policy *b = xcalloc(1, sizeof(*b));
	const struct ynode *spec = ynode_get(doc, "spec"), *target = ynode_get(spec, "target");
	const struct ynode *ret = ynode_get(spec, "retention"), *before = ynode_get(spec, "before");

	spec_decode_meta(&b->meta, doc);
	spec_decode_container(&b->job, ynode_get(spec, "job"));
	b->active_deadline_seconds = int_at(ynode_get(spec, "job"), "activeDeadlineSeconds", -1);
	b->target_volume = str_at(target, "volume");
	b->target_host_path = str_at(target, "hostPath");
	b->schedule = str_at(spec, "schedule");
	if (before && before->type == YNODE_SEQ) {
		size_t i;

		b->before = xcalloc(before->n + 1, sizeof(*b->before));
		for (i = 0; i < before->n; i++)
			if (ynode_str(before->kids[i]))
				b->before[b->n_before++] = xstrdup(ynode_str(before->kids[i]));
	}
	b->retention.hourly = int_at(ret, "hourly", RETENTION_DEFAULT_HOURLY);
	b->retention.daily = int_at(ret, "daily", RETENTION_DEFAULT_DAILY);
	b->retention.weekly = int_at(ret, "weekly", RETENTION_DEFAULT_WEEKLY);
	b->retention.monthly = int_at(ret, "monthly", RETENTION_DEFAULT_MONTHLY);
	spec_restore_decode(&b->restore, spec);
	return b;
}

void spec_backup_policy_free(struct spec_backup_policy *b)
{
	if (b == NULL)
		return;
	spec_meta_release(&b->meta);
	spec_container_release(&b->job);
	FREE_ALL(b->target_volume, b->target_host_path, b->schedule);
	strv_free(b->before);
	spec_restore_release(&b->restore);
	free(b);
}

static void check_one(struct spec_set *set, struct spec_backup_policy *b, struct spec_diags *d)
{
	char msg[256];
	size_t i;

	if (b->active_deadline_seconds < 0)
		b->active_deadline_seconds = SPEC_BACKUP_DEADLINE_DEFAULT;
	if (b->schedule && cron_parse(&b->cron, b->schedule, msg, sizeof(msg)) < 0)
		spec_obj_err(d, SPEC_BACKUP_POLICY, &b->meta, "spec.schedule", "\"%s\" does not parse: %s",
			     b->schedule, msg);
	for (i = 0; i < b->n_before; i++) {
		char path[48];

		snprintf(path, sizeof(path), "spec.before[%zu]", i);
		if (spec_set_deployment(set, b->before[i]) == NULL)
			spec_obj_err(d, SPEC_BACKUP_POLICY, &b->meta, path,
				     "names no Deployment '%s': a backup before its rollouts would never run",
				     b->before[i]);
	}
	(void)spec_policy_check_backup(set->policy, set, &b->meta, &b->job, b->target_host_path, d);
	spec_restore_check(set, b, d);
}

size_t spec_backup_before(const struct spec_set *set, const char *deployment,
			  const struct spec_backup_policy ***out)
{
	size_t i, n = 0;

	*out = NULL;
	for (i = 0; set && i < set->n_backup_policies; i++) {
		const struct spec_backup_policy *b = set->backup_policies[i];

		size_t k;

		for (k = 0; k < b->n_before && strcmp(b->before[k], deployment) != 0; k++)
			;
		if (b->meta.invalid || k == b->n_before)
			continue;
		if (*out == NULL)
			*out = xcalloc(set->n_backup_policies, sizeof(const struct spec_backup_policy *));
		(*out)[n++] = b;
	}
	return n;
}

size_t spec_backup_check(struct spec_set *set, struct spec_diags *diags)
{
	size_t before = diags->n, i;

	/* Names are unique per kind: spec_check.c's index says so for every kind. */
	for (i = 0; i < set->n_backup_policies; i++)
		if (!set->backup_policies[i]->meta.invalid)
			check_one(set, set->backup_policies[i], diags);
	return diags->n - before;
}
