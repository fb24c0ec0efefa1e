/* Unit tests for status notes: merging diverged notes refs, the debouncer, and the worker on a local remote. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <git2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/signing.h"
#include "source/gitsrc.h"
#include "source/gitsrc_worker.h"
#include "status/approval_note.h"
#include "status/notes.h"
#include "status/status.h"
#include "util.h"

static char dir[64];
static git_repository *repo;
static char commits[3][41];

static char *note_text(const char *commit, enum status_phase ph, int64_t at)
{
	struct fleet_status s;
	char *t = NULL;

	status_init(&s);
	s.commit = xstrdup(commit);
	s.phase = ph;
	s.observed_at = at;
	assert_int_equal(status_render_note(&s, &t, NULL), 0);
	status_release(&s);
	return t;
}

/* Writes the note of a status in phase ph observed at at on commit, under ref. */
static void write_note(const char *ref, const char *commit, enum status_phase ph, int64_t at)
{
	char *t = note_text(commit, ph, at);

	assert_int_equal(notes_write(repo, ref, commit, t, NULL), 0);
	free(t);
}

static int setup(void **state)
{
	char cmd[512];
	FILE *p;
	int i;

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/auriga-notes.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(cmd, sizeof(cmd), "cd %s && git init -q -b main work && cd work && git config user.name t &&"
		 " git config user.email t@t && for i in 1 2 3; do echo $i > a.yaml; git add a.yaml;"
		 " git commit -qm c$i; done && git init -q --bare ../remote.git && git push -q ../remote.git main"
		 " && git rev-list main", dir);
	p = popen(cmd, "r");
	for (i = 0; i < 3; i++) {
		char line[64];

		if (fgets(line, sizeof(line), p) == NULL || strlen(line) < 40)
			return -1;
		memcpy(commits[i], line, 40);
		commits[i][40] = '\0';
	}
	pclose(p);
	git_libgit2_init();
	snprintf(cmd, sizeof(cmd), "%s/work", dir);
	return git_repository_open(&repo, cmd) < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	git_repository_free(repo);
	git_libgit2_shutdown();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void expect_note(const char *ref, const char *commit, int64_t at)
{
	char *t = NULL;
	struct fleet_status s;

	assert_int_equal(notes_read(repo, ref, commit, &t, NULL), 0);
	assert_int_equal(status_parse_note(&s, t, strlen(t), NULL), 0);
	assert_int_equal(s.observed_at, at);
	status_release(&s);
	free(t);
}

static void merge_keeps_both_sides(void **state)
{
	(void)state;
	/* A common base, then each side notes a different commit and both note commits[0]. */
	write_note("refs/notes/ours", commits[0], STATUS_PROGRESSING, 1000);
	{
		git_oid base;
		git_reference *ref = NULL;

		assert_int_equal(git_reference_name_to_id(&base, repo, "refs/notes/ours"), 0);
		assert_int_equal(git_reference_create(&ref, repo, "refs/notes/theirs", &base, 1, NULL), 0);
		git_reference_free(ref);
	}
	write_note("refs/notes/ours", commits[1], STATUS_HEALTHY, 2000);
	write_note("refs/notes/ours", commits[0], STATUS_HEALTHY, 1500);
	write_note("refs/notes/theirs", commits[2], STATUS_FAILED, 3000);
	write_note("refs/notes/theirs", commits[0], STATUS_DEGRADED, 1800);

	/*
	 * Theirs brings commits[2]. Both sides rewrote commits[0] since the base:
	 * ours stays, though theirs claims a later observedAt.
	 */
	assert_int_equal(notes_merge(repo, "refs/notes/ours", "refs/notes/theirs", NULL), 1);
	expect_note("refs/notes/ours", commits[0], 1500);
	expect_note("refs/notes/ours", commits[1], 2000);
	expect_note("refs/notes/ours", commits[2], 3000);
	/* Merging again changes nothing: theirs is already in ours. */
	assert_int_equal(notes_merge(repo, "refs/notes/ours", "refs/notes/theirs", NULL), 0);
}

/* Points ref at a copy of base's notes commit, so both start from the same notes. */
static void branch_ref(const char *ref, const char *from)
{
	git_oid base;
	git_reference *r = NULL;

	assert_int_equal(git_reference_name_to_id(&base, repo, from), 0);
	assert_int_equal(git_reference_create(&r, repo, ref, &base, 1, NULL), 0);
	git_reference_free(r);
}

static void note_at(const char *ref, int i, enum status_phase ph, int64_t at)
{
	char *t = note_text(commits[i], ph, at);

	assert_int_equal(notes_write(repo, ref, commits[i], t, NULL), 0);
	free(t);
}

static void merge_trusts_no_time(void **state)
{
	int64_t future = 253402300799000LL;	/* 9999-12-31T23:59:59Z */

	(void)state;
	note_at("refs/notes/m-ours", 0, STATUS_PROGRESSING, 1000);
	note_at("refs/notes/m-ours", 1, STATUS_PROGRESSING, 1000);
	branch_ref("refs/notes/m-theirs", "refs/notes/m-ours");
	/* Only they changed commits[0], to a note claiming an earlier time: it is theirs that counts. */
	note_at("refs/notes/m-theirs", 0, STATUS_HEALTHY, 500);
	/* Year 9999 on commits[1] (ours unchanged) and on commits[2] (ours has none): neither is taken. */
	note_at("refs/notes/m-theirs", 1, STATUS_FAILED, future);
	note_at("refs/notes/m-theirs", 2, STATUS_FAILED, future);
	/* Ours moves too, on another commit, so the two sides diverge. */
	note_at("refs/notes/m-ours", 2, STATUS_HEALTHY, 3000);
	note_at("refs/notes/m-ours", 2, STATUS_DEGRADED, 3100);
	assert_int_equal(notes_merge(repo, "refs/notes/m-ours", "refs/notes/m-theirs", NULL), 1);
	expect_note("refs/notes/m-ours", commits[0], 500);
	expect_note("refs/notes/m-ours", commits[1], 1000);
	expect_note("refs/notes/m-ours", commits[2], 3100);
}

static void merge_drops_a_future_note_ours_lacks(void **state)
{
	char *t = NULL;

	(void)state;
	note_at("refs/notes/f-ours", 0, STATUS_PROGRESSING, 1000);
	branch_ref("refs/notes/f-theirs", "refs/notes/f-ours");
	note_at("refs/notes/f-theirs", 1, STATUS_FAILED, 253402300799000LL);
	note_at("refs/notes/f-theirs", 2, STATUS_HEALTHY, 2000);
	note_at("refs/notes/f-ours", 0, STATUS_HEALTHY, 1100);
	assert_int_equal(notes_merge(repo, "refs/notes/f-ours", "refs/notes/f-theirs", NULL), 1);
	assert_int_equal(notes_read(repo, "refs/notes/f-ours", commits[1], &t, NULL), ERR_NOTFOUND);
	expect_note("refs/notes/f-ours", commits[2], 2000);
}

/* A note over NOTES_MAX_BYTES (anyone who can push the notes ref can write one) is refused, not read. */
static void an_oversized_note_is_not_read(void **state)
{
	char *big = xmalloc(NOTES_MAX_BYTES + 2), *t = NULL;
	struct error *err = NULL;

	(void)state;
	memset(big, 'x', NOTES_MAX_BYTES + 1);
	big[NOTES_MAX_BYTES + 1] = '\0';
	assert_int_equal(notes_write(repo, "refs/notes/big", commits[0], big, NULL), 0);
	assert_int_equal(notes_read(repo, "refs/notes/big", commits[0], &t, &err), ERR_TOOBIG);
	assert_null(t);
	assert_non_null(strstr(error_msg(err), "over the 8388608 a note may hold"));
	error_free(err);
	big[NOTES_MAX_BYTES] = '\0';
	assert_int_equal(notes_write(repo, "refs/notes/big", commits[0], big, NULL), 0);
	assert_int_equal(notes_read(repo, "refs/notes/big", commits[0], &t, NULL), 0);
	assert_int_equal(strlen(t), NOTES_MAX_BYTES);
	free(t);
	free(big);
}

static void find_latest_walks_back(void **state)
{
	char found[41], *t = NULL;

	(void)state;
	/* commits[0] is the newest (rev-list order); the newest note is on it. */
	assert_int_equal(notes_find_latest(repo, "refs/notes/ours", commits[0], 10, found, &t, NULL), 0);
	assert_string_equal(found, commits[0]);
	free(t);
	assert_int_equal(notes_find_latest(repo, "refs/notes/none", commits[0], 10, found, &t, NULL), ERR_NOTFOUND);
}

/* The commits a new head passed over: those since what was taken up before, and none when that is out of reach. */
static void passed_over(void **state)
{
	const char *stops[] = { commits[2] }, *none[] = { NULL };
	char out[4][41];

	(void)state;
	/* commits[0] is the head; commits[2], two first parents back, was taken up: commits[1] was passed over. */
	assert_int_equal(notes_passed_over(repo, "refs/notes/walk", commits[0], stops, 1, out, 4, NULL), 1);
	assert_string_equal(out[0], commits[1]);
	/* A head right after what was taken up passed over nothing. */
	assert_int_equal(notes_passed_over(repo, "refs/notes/walk", commits[1], stops, 1, out, 4, NULL), 0);
	/* Nothing taken up before the history ends, or within the bound: nothing is said. */
	assert_int_equal(notes_passed_over(repo, "refs/notes/walk", commits[0], none, 1, out, 4, NULL), 0);
	assert_int_equal(notes_passed_over(repo, "refs/notes/walk", commits[0], stops, 1, out, 0, NULL), 0);
	/* A commit with a note was taken up. */
	write_note("refs/notes/walk", commits[2], STATUS_HEALTHY, 1000);
	assert_int_equal(notes_passed_over(repo, "refs/notes/walk", commits[0], none, 1, out, 4, NULL), 1);
	assert_string_equal(out[0], commits[1]);
	assert_int_equal(notes_passed_over(repo, "refs/notes/walk", "zz", none, 1, out, 4, NULL), ERR_INVALID);
}

static void debounce(void **state)
{
	struct notes_debounce d;
	struct fleet_status s;
	char *c = NULL, *t = NULL;

	(void)state;
	notes_debounce_init(&d, 10000);
	status_init(&s);
	s.commit = xstrdup(commits[0]);
	s.phase = STATUS_PROGRESSING;
	status_add_deployment(&s, "a")->ready = 1;
	/* The first status is written at once. */
	assert_int_equal(notes_debounce_offer(&d, &s, 0, &c, &t, NULL), 1);
	free(c);
	free(t);
	/* Counts move, phase stays: held back until the interval passes. */
	s.deployments[0].ready = 2;
	assert_int_equal(notes_debounce_offer(&d, &s, 1000, &c, &t, NULL), 0);
	assert_int_equal(notes_debounce_due_in(&d, 1000), 9000);
	assert_int_equal(notes_debounce_tick(&d, 5000, &c, &t), 0);
	assert_int_equal(notes_debounce_tick(&d, 10000, &c, &t), 1);
	assert_non_null(strstr(t, "ready: 2"));
	free(c);
	free(t);
	assert_int_equal(notes_debounce_due_in(&d, 10000), -1);
	/* A phase change is written at once, interval or not. */
	s.deployments[0].ready = 3;
	assert_int_equal(notes_debounce_offer(&d, &s, 11000, &c, &t, NULL), 0);
	s.phase = STATUS_HEALTHY;
	assert_int_equal(notes_debounce_offer(&d, &s, 11500, &c, &t, NULL), 1);
	assert_true(str_has_prefix(t, "auriga: Healthy 3/0 ready"));
	assert_int_equal(notes_debounce_due_in(&d, 11500), -1);
	free(c);
	free(t);
	status_release(&s);
	notes_debounce_release(&d);
}

/* A source on the test's remote, its state folder dir/<sub>. */
static struct gitsrc *open_source(const char *sub)
{
	struct gitsrc_config cfg;
	struct gitsrc *src = NULL;
	char url[128], st[128];

	snprintf(url, sizeof(url), "%s/remote.git", dir);
	snprintf(st, sizeof(st), "%s/%s", dir, sub);
	memset(&cfg, 0, sizeof(cfg));
	cfg.url = url;
	cfg.state_dir = st;
	assert_int_equal(gitsrc_open(&src, &cfg, NULL), 0);
	return src;
}

static void worker_fetches_and_notes(void **state)
{
	struct gitsrc_worker_config wc;
	struct gitsrc *src = open_source("state");
	struct gitsrc_worker *w = NULL;
	struct gitsrc_report *r = NULL;
	char url[128], *t;
	git_repository *remote = NULL;
	char *text = NULL;

	(void)state;
	snprintf(url, sizeof(url), "%s/remote.git", dir);
	memset(&wc, 0, sizeof(wc));
	wc.interval_ms = -1;
	wc.notes_push = 1;
	assert_int_equal(gitsrc_worker_start(&w, src, &wc, NULL, NULL, NULL), 0);
	assert_true(gitsrc_worker_wait(w, 20000, &r));
	assert_int_equal(r->job, GITSRC_JOB_FETCH);
	assert_true(r->ok);
	assert_string_equal(r->fetch.commit, commits[0]);
	gitsrc_report_free(r);
	/* A note from year 9999 already on the commit does not hold back the controller's own. */
	t = note_text(commits[0], STATUS_FAILED, 253402300799000LL);
	gitsrc_lock(src);
	assert_int_equal(notes_write(gitsrc_repo(src), NOTES_DEFAULT_REF, commits[0], t, NULL), 0);
	gitsrc_unlock(src);
	free(t);
	t = note_text(commits[0], STATUS_HEALTHY, 5000);
	gitsrc_worker_post_note(w, commits[0], t, NULL, -1);
	free(t);
	assert_true(gitsrc_worker_wait(w, 20000, &r));
	assert_int_equal(r->job, GITSRC_JOB_NOTE);
	assert_true(r->ok);
	gitsrc_report_free(r);
	/* A note with a ref and push of its own (its commit's Cluster): written there, and kept local. */
	t = note_text(commits[1], STATUS_HEALTHY, 6000);
	gitsrc_worker_post_note(w, commits[1], t, "refs/notes/custom", 0);
	free(t);
	assert_true(gitsrc_worker_wait(w, 20000, &r));
	assert_int_equal(r->job, GITSRC_JOB_NOTE);
	assert_true(r->ok);
	gitsrc_report_free(r);
	gitsrc_worker_stop(w);
	assert_int_equal(notes_read(gitsrc_repo(src), "refs/notes/custom", commits[1], &text, NULL), 0);
	free(text);
	text = NULL;
	assert_int_equal(notes_read(gitsrc_repo(src), NOTES_DEFAULT_REF, commits[1], &text, NULL), ERR_NOTFOUND);
	gitsrc_free(src);
	assert_int_equal(git_repository_open(&remote, url), 0);
	assert_int_equal(notes_read(remote, NOTES_DEFAULT_REF, commits[0], &text, NULL), 0);
	assert_true(str_has_prefix(text, "auriga: Healthy"));
	free(text);
	text = NULL;
	assert_int_equal(notes_read(remote, "refs/notes/custom", commits[1], &text, NULL), ERR_NOTFOUND);
	assert_int_equal(notes_read(remote, NOTES_DEFAULT_REF, commits[1], &text, NULL), ERR_NOTFOUND);
	git_repository_free(remote);
}

/*
 * An approval note counts under its own environment's ref alone: one made
 * (with the key's MAC) for staging and copied under production's ref by a
 * pusher is refused there.
 */
static void approval_under_its_own_ref(void **state)
{
	static const struct signing_key key = { (unsigned char *)"0123456789abcdef-operator", 25 };
	struct approval a = { .environment = (char *)"staging", .by = (char *)"dana", .at = 1767225600000 };
	struct approval back;
	struct gitsrc *src = open_source("state-approvals");
	struct error *err = NULL;
	char *text = approval_note_render(&a, commits[0], &key);
	char *staging = approval_note_ref("staging"), *production = approval_note_ref("production");

	(void)state;
	assert_int_equal(approval_note_write(src, staging, commits[0], text, NULL), 0);
	assert_int_equal(approval_note_write(src, production, commits[0], text, NULL), 0);
	assert_int_equal(approval_note_read(src, staging, commits[0], &key, &back, NULL), 0);
	assert_string_equal(back.by, "dana");
	approval_release(&back);
	assert_int_equal(approval_note_read(src, production, commits[0], &key, &back, &err), ERR_REFUSED);
	assert_non_null(strstr(error_msg(err), "is for environment 'staging'"));
	assert_null(back.by);
	error_free(err);
	gitsrc_free(src);
	FREE_ALL(text, staging, production);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(merge_keeps_both_sides),
		cmocka_unit_test(merge_trusts_no_time),
		cmocka_unit_test(merge_drops_a_future_note_ours_lacks),
		cmocka_unit_test(an_oversized_note_is_not_read),
		cmocka_unit_test(find_latest_walks_back),
		cmocka_unit_test(passed_over),
		cmocka_unit_test(debounce),
		cmocka_unit_test(worker_fetches_and_notes),
		cmocka_unit_test(approval_under_its_own_ref),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
