/* backups.json: read back as written, a file that is not ours refused by name, retention and schedules over
 * the records, and the tar stream Docker's archive API answers with. */
#include "testmain.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/backup.h"
#include "runtime/metrics_registry.h"
#include "status/backup_records.h"
#include "status/records_lock.h"
#include "testfs.h"
#include "utc.h"
#include "util.h"

static int64_t at_ms(int64_t y, int m, int d, int h, int min)
{
	return (utc_days_from(y, m, d) * 86400 + (int64_t)h * 3600 + (int64_t)min * 60) * 1000;
}

static void add(struct backup_records *r, const char *policy, const char *file, int64_t ms, enum backup_status st)
{
	struct backup_record rec;

	memset(&rec, 0, sizeof(rec));
	rec.policy = (char *)policy;
	rec.file = (char *)file;
	rec.time_ms = ms;
	rec.status = st;
	rec.sha256 = st == BACKUP_FAILED ? "" : "ab";
	rec.size = 42;
	rec.message = st == BACKUP_FAILED ? "the backup Job exited with 1: no" : "";
	backup_records_add(r, &rec);
}

static void round_trip(void **state)
{
	struct backup_records r, back;
	struct error *err = NULL;
	char path[128];

	(void)state;
	snprintf(path, sizeof(path), "%s/%s", test_dir, BACKUP_RECORDS_FILE);
	assert_int_equal(backup_records_load(&r, path, &err), 0);
	assert_int_equal(r.n, 0);
	add(&r, "db", "db-1.dump", at_ms(2026, 1, 2, 3, 4), BACKUP_OK);
	add(&r, "db", "db-2.dump", at_ms(2026, 1, 2, 4, 4), BACKUP_FAILED);
	r.v[0].pruned_ms = at_ms(2026, 2, 1, 0, 0);
	r.v[0].status = BACKUP_PRUNED;
	assert_int_equal(backup_records_save(&r, path, &err), 0);
	assert_int_equal(backup_records_load(&back, path, &err), 0);
	assert_int_equal(back.n, 2);
	assert_string_equal(back.v[0].file, "db-1.dump");
	assert_int_equal(back.v[0].status, BACKUP_PRUNED);
	assert_int_equal(back.v[0].pruned_ms, at_ms(2026, 2, 1, 0, 0));
	assert_int_equal(back.v[0].time_ms, at_ms(2026, 1, 2, 3, 4));
	assert_int_equal(back.v[0].size, 42);
	assert_string_equal(back.v[0].sha256, "ab");
	assert_int_equal(back.v[1].status, BACKUP_FAILED);
	assert_string_equal(back.v[1].message, "the backup Job exited with 1: no");
	backup_records_release(&back);
	backup_records_release(&r);
	/* Not a list of backups: refused, naming the file. */
	assert_int_equal(test_write(test_dir, BACKUP_RECORDS_FILE, "{\"backups\": [{\"policy\": 1}]}"), 0);
	assert_true(backup_records_load(&r, path, &err) < 0);
	assert_non_null(strstr(error_msg(err), "backup 1 is malformed"));
	assert_non_null(strstr(error_msg(err), path));
	error_free(err);
}

/* Hourly 1: of db's good backups in one hour the newest stays; failed, pruned and other policies' are not touched. */
static void prune_by_retention(void **state)
{
	struct backup_records r;
	struct retention_policy p = { 1, 0, 0, 0 };
	size_t *idx = NULL, n;

	(void)state;
	memset(&r, 0, sizeof(r));
	add(&r, "db", "a", at_ms(2026, 3, 1, 10, 0), BACKUP_OK);
	add(&r, "db", "b", at_ms(2026, 3, 1, 10, 20), BACKUP_OK);
	add(&r, "db", "c", at_ms(2026, 3, 1, 10, 40), BACKUP_OK);
	add(&r, "db", "d", at_ms(2026, 3, 1, 10, 50), BACKUP_FAILED);
	add(&r, "db", "e", at_ms(2026, 3, 1, 9, 0), BACKUP_PRUNED);
	add(&r, "other", "f", at_ms(2026, 3, 1, 8, 0), BACKUP_OK);
	n = backup_records_to_prune(&r, "db", &p, &idx);
	assert_int_equal(n, 2);
	assert_string_equal(r.v[idx[0]].file, "a");
	assert_string_equal(r.v[idx[1]].file, "b");
	free(idx);
	assert_string_equal(backup_records_newest(&r, "db", 1)->file, "c");
	assert_string_equal(backup_records_newest(&r, "db", 0)->file, "d");
	assert_null(backup_records_newest(&r, "none", 0));
	backup_records_release(&r);
}

/* Hourly at :00: due once the hour after the newest backup (failed or not) has come; never backed up is due. */
static void schedule_due(void **state)
{
	struct backup_records r;
	struct cron c;
	char msg[128];
	int64_t next, last = at_ms(2026, 3, 1, 10, 30) / 1000;

	(void)state;
	memset(&r, 0, sizeof(r));
	assert_int_equal(cron_parse(&c, "0 * * * *", msg, sizeof(msg)), 0);
	assert_int_equal(backup_records_due(&r, "db", &c, last, &next), 1);
	add(&r, "db", "a", last * 1000, BACKUP_FAILED);
	assert_int_equal(backup_records_due(&r, "db", &c, last + 1799, &next), 0);
	assert_int_equal(next, last + 1800);
	assert_int_equal(backup_records_due(&r, "db", &c, last + 1800, &next), 1);
	assert_int_equal(backup_records_due(&r, "other", &c, last, &next), 1);
	backup_records_release(&r);
}

/* One ustar header of name, size and type into h (512 bytes), its checksum filled in. */
static void tar_header(unsigned char *h, const char *name, size_t size, char type)
{
	unsigned sum = 0;
	size_t i;

	memset(h, 0, 512);
	snprintf((char *)h, 100, "%s", name);
	snprintf((char *)h + 124, 12, "%011zo", size);
	h[156] = (unsigned char)type;
	memcpy(h + 257, "ustar", 6);
	memset(h + 148, ' ', 8);
	for (i = 0; i < 512; i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
}

static void tar_stream(void **state)
{
	unsigned char t[512 * 8];
	struct error *err = NULL;
	const char *data;
	uint64_t size;

	(void)state;
	memset(t, 0, sizeof(t));
	/* A pax header (as Docker writes for long names), then the file, then the end. */
	tar_header(t, "PaxHeaders/x.dump", 20, 'x');
	memcpy(t + 512, "20 path=x.dump.long\n", 20);
	tar_header(t + 1024, "x.dump", 700, '0');
	memset(t + 1536, 'A', 700);
	assert_int_equal(backup_tar_file((const char *)t, sizeof(t), &data, &size, &err), 0);
	assert_int_equal(size, 700);
	assert_ptr_equal(data, (const char *)t + 1536);
	/* Cut short inside the file. */
	assert_true(backup_tar_file((const char *)t, 1536 + 100, &data, &size, &err) < 0);
	assert_non_null(strstr(error_msg(err), "cut short"));
	error_free(err);
	err = NULL;
	/* A folder is not a dump. */
	tar_header(t, "backup", 0, '5');
	assert_true(backup_tar_file((const char *)t, sizeof(t), &data, &size, &err) < 0);
	assert_non_null(strstr(error_msg(err), "is not a regular file"));
	error_free(err);
	err = NULL;
	/* Nothing in it. */
	memset(t, 0, sizeof(t));
	assert_true(backup_tar_file((const char *)t, sizeof(t), &data, &size, &err) < 0);
	assert_non_null(strstr(error_msg(err), "holds no file"));
	error_free(err);
}

/*
 * The daemon's gauge: each policy's newest good backup (failed and pruned
 * ones do not count), read again only when the file was replaced; a file
 * that cannot be read is told once per change and leaves the gauge.
 */
static void publish_on_change(void **state)
{
	static const char *const labels[] = { "policy", NULL };
	struct metrics *reg = metrics_new();
	struct metric *g = metrics_gauge(reg, "auriga_backup_last_success_timestamp_seconds", "t", labels);
	struct backup_seen seen;
	struct backup_records r;
	struct error *err = NULL;
	char path[128];

	(void)state;
	memset(&seen, 0, sizeof(seen));
	snprintf(path, sizeof(path), "%s/%s", test_dir, BACKUP_RECORDS_FILE);
	assert_int_equal(backup_records_publish(test_dir, &seen, g, &err), 0);
	assert_int_equal(backup_records_load(&r, path, &err), 0);
	add(&r, "db", "a", at_ms(2026, 1, 2, 3, 0), BACKUP_OK);
	add(&r, "db", "b", at_ms(2026, 1, 2, 5, 0), BACKUP_OK);
	add(&r, "db", "c", at_ms(2026, 1, 2, 6, 0), BACKUP_FAILED);
	add(&r, "db", "d", at_ms(2026, 1, 2, 7, 0), BACKUP_PRUNED);
	add(&r, "chain", "e", at_ms(2026, 1, 2, 4, 0), BACKUP_OK);
	assert_int_equal(backup_records_save(&r, path, &err), 0);
	assert_int_equal(backup_records_publish(test_dir, &seen, g, &err), 0);
	assert_true(metric_value(g, METRIC_LABELS("db")) == (double)(at_ms(2026, 1, 2, 5, 0) / 1000));
	assert_true(metric_value(g, METRIC_LABELS("chain")) == (double)(at_ms(2026, 1, 2, 4, 0) / 1000));
	/* The same file again: not read (the gauge set by hand stays). */
	metric_set(g, METRIC_LABELS("db"), 1);
	assert_int_equal(backup_records_publish(test_dir, &seen, g, &err), 0);
	assert_true(metric_value(g, METRIC_LABELS("db")) == 1);
	/* Replaced: read again. */
	add(&r, "db", "f", at_ms(2026, 1, 3, 0, 0), BACKUP_OK);
	assert_int_equal(backup_records_save(&r, path, &err), 0);
	assert_int_equal(backup_records_publish(test_dir, &seen, g, &err), 0);
	assert_true(metric_value(g, METRIC_LABELS("db")) == (double)(at_ms(2026, 1, 3, 0, 0) / 1000));
	/* Broken: an error once, the gauge left as it was, then quiet until it changes again. */
	assert_int_equal(test_write(test_dir, BACKUP_RECORDS_FILE, "{\"backups\": [{\"policy\": 1}]}"), 0);
	assert_true(backup_records_publish(test_dir, &seen, g, &err) < 0);
	error_free(err);
	err = NULL;
	assert_int_equal(backup_records_publish(test_dir, &seen, g, &err), 0);
	assert_true(metric_value(g, METRIC_LABELS("db")) == (double)(at_ms(2026, 1, 3, 0, 0) / 1000));
	backup_records_release(&r);
	metrics_free(reg);
}

/*
 * A backup's start is recorded first (running), then replaced in place by its
 * result; a running record whose process is gone (its run lock free) is
 * closed as failed, "interrupted", and one whose lock is held is left; it
 * counts for the schedule either way, and never for retention.
 */
static void running_then_settled(void **state)
{
	struct backup_records r;
	struct backup_record rec;
	struct error *err = NULL;
	char *path = xasprintf("%s/%s", test_dir, BACKUP_RECORDS_FILE);
	char *lock = records_run_lock_path(test_dir, "backup", "held");
	const char *pruned[] = { "db-1.dump" };
	struct cron every;
	char msg[128];
	size_t *idx = NULL;
	int64_t next;
	int fd = -1;

	(void)state;
	memset(&rec, 0, sizeof(rec));
	rec.policy = "db";
	rec.file = "db-1.dump";
	rec.time_ms = at_ms(2026, 1, 2, 3, 4);
	rec.status = BACKUP_OK;
	rec.sha256 = "ab";
	assert_int_equal(backup_records_record(path, &rec, &err), 0);
	rec.file = "db-2.dump";
	rec.time_ms = at_ms(2026, 1, 2, 3, 30);
	rec.status = BACKUP_RUNNING;
	rec.sha256 = "";
	assert_int_equal(backup_records_record(path, &rec, &err), 0);
	rec.policy = "held";
	rec.file = "held-1.dump";
	assert_int_equal(backup_records_record(path, &rec, &err), 0);
	assert_int_equal(backup_records_load(&r, path, &err), 0);
	assert_int_equal(r.n, 3);
	assert_int_equal(r.v[1].status, BACKUP_RUNNING);
	/* The running one's start counts: the next slot after it, not after the good one. */
	assert_int_equal(cron_parse(&every, "* * * * *", msg, sizeof(msg)), 0);
	assert_int_equal(backup_records_due(&r, "db", &every, at_ms(2026, 1, 2, 3, 30) / 1000 + 10, &next), 0);
	assert_int_equal(next, at_ms(2026, 1, 2, 3, 31) / 1000);
	assert_int_equal(backup_records_to_prune(&r, "db", &(struct retention_policy){ 0, 0, 0, 0 }, &idx), 1);
	assert_int_equal(idx[0], 0);
	free(idx);
	backup_records_release(&r);
	/* Its process is gone: failed, interrupted; the one whose lock is held stays running. */
	assert_int_equal(records_lock(lock, 0, &fd, &err), 1);
	assert_int_equal(backup_records_settle(test_dir, &err), 1);
	assert_int_equal(backup_records_settle(test_dir, &err), 0);
	assert_int_equal(backup_records_load(&r, path, &err), 0);
	assert_int_equal(r.v[1].status, BACKUP_FAILED);
	assert_non_null(strstr(r.v[1].message, "interrupted"));
	assert_int_equal(r.v[2].status, BACKUP_RUNNING);
	backup_records_release(&r);
	records_unlock(fd);
	/* Replaced by its result in place, then pruned by name. */
	rec.status = BACKUP_OK;
	rec.sha256 = "cd";
	assert_int_equal(backup_records_record(path, &rec, &err), 0);
	assert_int_equal(backup_records_mark_pruned(path, "db", pruned, 1, &err), 0);
	assert_int_equal(backup_records_load(&r, path, &err), 0);
	assert_int_equal(r.n, 3);
	assert_string_equal(r.v[2].file, "held-1.dump");
	assert_int_equal(r.v[2].status, BACKUP_OK);
	assert_string_equal(r.v[2].sha256, "cd");
	assert_int_equal(r.v[0].status, BACKUP_PRUNED);
	assert_true(r.v[0].pruned_ms > 0);
	backup_records_release(&r);
	FREE_ALL(path, lock);
}

TEST_MAIN(TEST_IN_DIR(round_trip), TEST_IN_DIR(running_then_settled), TEST_IN_DIR(publish_on_change), cmocka_unit_test(prune_by_retention), cmocka_unit_test(schedule_due),
	  cmocka_unit_test(tar_stream))
