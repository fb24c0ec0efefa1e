/* A temporary folder for a unit test, and files written into it. */
#ifndef AURIGA_TESTFS_H
#define AURIGA_TESTFS_H

/* The folder test_dir_setup made for the running test. */
extern char test_dir[64];

/* cmocka setup: makes a fresh /tmp/auriga-test.XXXXXX folder into test_dir; 0 or -1. */
int test_dir_setup(void **state);
/* cmocka teardown: removes test_dir and everything below it; 0 or -1. */
int test_dir_teardown(void **state);
/* A cmocka test run in a fresh test_dir of its own. */
#define TEST_IN_DIR(f) cmocka_unit_test_setup_teardown(f, test_dir_setup, test_dir_teardown)
/* Writes text to dir/rel, making the folders on the way; 0, or -1 with errno set. */
int test_write(const char *dir, const char *rel, const char *text);
/* Removes path and, when it is a folder, everything below it (links are removed, not followed). */
int test_rmtree(const char *path);

#endif
