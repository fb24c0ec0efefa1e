/* The verifications a deployment's release declares, as its status says them: kept, copied, and read by a promotion gate. */
#include "status/status.h"
#include "status/status_internal.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "util.h"

struct status_verification *status_add_verification(struct status_deployment *d, const char *metric)
{
	struct status_verification *v;

	d->verifications = xrealloc(d->verifications, (d->nverifications + 1) * sizeof(*d->verifications));
	v = &d->verifications[d->nverifications++];
	memset(v, 0, sizeof(*v));
	v->metric = xstrdup_or_null(metric);
	return v;
}

void status_verifications_release(struct status_deployment *d)
{
	size_t i;

	for (i = 0; i < d->nverifications; i++)
		FREE_ALL(d->verifications[i].metric, d->verifications[i].job, d->verifications[i].figure,
			 d->verifications[i].value, d->verifications[i].fail_if, d->verifications[i].verdict,
			 d->verifications[i].reason);
	free(d->verifications);
	d->verifications = NULL;
	d->nverifications = 0;
}

void status_verifications_copy(struct status_deployment *d, const struct status_deployment *sd)
{
	size_t i;

	for (i = 0; i < sd->nverifications; i++) {
		const struct status_verification *s = &sd->verifications[i];
		struct status_verification *v = status_add_verification(d, s->metric);

		v->job = xstrdup_or_null(s->job);
		v->figure = xstrdup_or_null(s->figure);
		v->value = xstrdup_or_null(s->value);
		v->fail_if = xstrdup_or_null(s->fail_if);
		v->verdict = xstrdup_or_null(s->verdict);
		v->reason = xstrdup_or_null(s->reason);
	}
}

/* Whether verdict lets a promotion through: Passed alone (Skipped verified nothing). */
static int verification_passed(const char *verdict)
{
	return verdict && strcmp(verdict, "Passed") == 0;
}

static int still_running(const char *verdict)
{
	return verdict && (strcmp(verdict, "Pending") == 0 || strcmp(verdict, "Unfinished") == 0);
}

/* Skipped and Inconclusive verified nothing either way; any other verdict is a failure. */
static int undecided(const char *verdict)
{
	return verdict && (strcmp(verdict, "Skipped") == 0 || strcmp(verdict, "Inconclusive") == 0);
}

/*
 * "web: loadtest p95_ms=812 failed (fails at >= 500)", "web: loadtest
 * p95_ms inconclusive", "web: integration failed" (a Job judged by its exit
 * code), "web: errors=0.2 failed (fails at > 0.05)" (a metric of no Job),
 * "web: integration skipped (promoted in full)".
 */
static void say(struct buf *b, const char *deployment, const struct status_verification *v)
{
	const char *verdict = v->verdict ? v->verdict : "no verdict";
	const char *figure = v->job ? v->figure : NULL;
	char *low = xstrdup(verdict);

	if (low[0] >= 'A' && low[0] <= 'Z')
		low[0] = (char)(low[0] - 'A' + 'a');
	(void)buf_printf(b, "%s%s: %s", b->len ? "; " : "", deployment, v->job ? v->job : v->metric ? v->metric : "?");
	if (figure)
		(void)buf_printf(b, " %s", figure);
	if (v->value && (figure || !v->job))
		(void)buf_printf(b, "=%s", v->value);
	(void)buf_printf(b, " %s", low);
	if (v->fail_if && v->value && strcmp(verdict, "Failed") == 0)
		(void)buf_printf(b, " (fails at %s)", v->fail_if);
	if (v->reason && strcmp(verdict, "Skipped") == 0)
		(void)buf_printf(b, " (%s)", v->reason);
	free(low);
}

size_t status_verification_failures(const struct fleet_status *s, char **out, struct status_unverified *u)
{
	struct buf b = BUF_INIT_MAX(4096);
	struct status_unverified c = { 0, 0 };
	size_t i, j, n = 0;
	int round;

	/* What failed first, then what is pending or undecided (a run stopped at a failure leaves the others so). */
	for (round = 0; round < 2; round++)
		for (i = 0; i < s->ndeployments; i++) {
			const struct status_deployment *d = &s->deployments[i];

			for (j = 0; j < d->nverifications; j++) {
				const struct status_verification *v = &d->verifications[j];
				int failed = !still_running(v->verdict) && !undecided(v->verdict);

				if (verification_passed(v->verdict) || failed != (round == 0))
					continue;
				n++;
				c.pending += still_running(v->verdict);
				c.failed += failed;
				say(&b, d->name ? d->name : "?", v);
			}
		}
	*out = n ? buf_detach(&b, NULL) : NULL;
	buf_release(&b);
	if (u)
		*u = c;
	return n;
}
