/* Unit tests for the file helpers: bounded reads, the refusals, atomic replacement, trimming. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "error.h"
#include "runtime/file.h"
#include "testfs.h"
#include "testmain.h"


static void reads_whole_file_within_bound(void **state)
{
	struct error *err = NULL;
	char path[128];
	struct buf b;

	(void)state;
	assert_int_equal(test_write(test_dir, "a", "hello\n"), 0);
	snprintf(path, sizeof(path), "%s/a", test_dir);
	buf_init(&b, 64);
	assert_int_equal(file_read(path, "test file", FILE_REGULAR, &b, &err), 0);
	assert_string_equal(b.data, "hello\n");
	buf_release(&b);

	/* One byte over the bound: refused, and the message says which file and how large. */
	buf_init(&b, 5);
	assert_int_equal(file_read(path, "test file", 0, &b, &err), ERR_TOOBIG);
	assert_non_null(strstr(error_msg(err), "test file '"));
	assert_non_null(strstr(error_msg(err), "is larger than 5 bytes"));
	error_free(err);
	buf_release(&b);
}

static void refuses_missing_links_and_non_files(void **state)
{
	struct error *err = NULL;
	char path[128], target[128];
	struct buf b;

	(void)state;
	buf_init(&b, 64);
	snprintf(path, sizeof(path), "%s/none", test_dir);
	assert_int_equal(file_read(path, "test file", 0, &b, &err), -ENOENT);
	assert_non_null(strstr(error_msg(err), "cannot open test file"));
	error_free(err);
	err = NULL;

	/* A folder, or a FIFO that would block: not a regular file. */
	assert_int_equal(file_read(test_dir, "test file", FILE_REGULAR, &b, &err), ERR_INVALID);
	assert_non_null(strstr(error_msg(err), "is not a regular file"));
	error_free(err);
	err = NULL;
	snprintf(path, sizeof(path), "%s/fifo", test_dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(file_read(path, "test file", FILE_REGULAR, &b, &err), ERR_INVALID);
	error_free(err);
	err = NULL;

	/* A link as the last component, with FILE_NOFOLLOW: refused; without it, followed. */
	assert_int_equal(test_write(test_dir, "real", "x"), 0);
	snprintf(target, sizeof(target), "%s/real", test_dir);
	snprintf(path, sizeof(path), "%s/link", test_dir);
	assert_int_equal(symlink(target, path), 0);
	assert_int_equal(file_read(path, "test file", FILE_NOFOLLOW, &b, &err), -ELOOP);
	error_free(err);
	err = NULL;
	assert_int_equal(file_read(path, "test file", 0, &b, &err), 0);
	assert_string_equal(b.data, "x");
	buf_release(&b);
}

static void read_at_names_the_relative_path(void **state)
{
	struct error *err = NULL;
	struct buf b;
	int fd;

	(void)state;
	assert_int_equal(test_write(test_dir, "rel", "r"), 0);
	fd = open(test_dir, O_RDONLY | O_DIRECTORY);
	assert_true(fd >= 0);
	buf_init(&b, 8);
	assert_int_equal(file_read_at(fd, "rel", "env file", FILE_REGULAR, &b, &err), 0);
	assert_string_equal(b.data, "r");
	assert_true(file_read_at(fd, "sub/missing", "env file", 0, &b, &err) < 0);
	assert_non_null(strstr(error_msg(err), "cannot open env file 'sub/missing'"));
	error_free(err);
	close(fd);
	buf_release(&b);
}

static int count_entries(void)
{
	DIR *d = opendir(test_dir);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static void replace_is_whole_and_leaves_nothing_behind(void **state)
{
	struct error *err = NULL;
	char path[128];
	struct buf b;
	struct stat st;

	(void)state;
	snprintf(path, sizeof(path), "%s/state.json", test_dir);
	assert_int_equal(file_replace(path, "state file", "{\"a\":1}", 7, 0600, &err), 0);
	assert_int_equal(file_replace(path, "state file", "{}", 2, 0600, &err), 0);
	buf_init(&b, 64);
	assert_int_equal(file_read(path, "state file", 0, &b, &err), 0);
	assert_string_equal(b.data, "{}");
	buf_release(&b);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* No temporary file is left beside it. */
	assert_int_equal(count_entries(), 1);

	/* A folder that does not exist: an error naming the file, and nothing made. */
	assert_true(file_replace("/nonexistent-auriga/x", "state file", "x", 1, 0600, &err) < 0);
	assert_non_null(strstr(error_msg(err), "state file"));
	error_free(err);
}

static void trim_end_drops_only_what_it_is_told(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 64);
	assert_int_equal(buf_puts(&b, "s3cret \r\n\n"), 0);
	file_trim_end(&b, "\r\n");
	assert_string_equal(b.data, "s3cret ");
	file_trim_end(&b, "\r\n ");
	assert_string_equal(b.data, "s3cret");
	assert_int_equal(b.len, 6);
	buf_release(&b);
}

TEST_MAIN(
	TEST_IN_DIR(reads_whole_file_within_bound),
	TEST_IN_DIR(refuses_missing_links_and_non_files),
	TEST_IN_DIR(read_at_names_the_relative_path),
	TEST_IN_DIR(replace_is_whole_and_leaves_nothing_behind),
	cmocka_unit_test(trim_end_drops_only_what_it_is_told))
