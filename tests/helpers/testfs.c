/* A temporary folder for a unit test, and files written into it. */
#include "testfs.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

char test_dir[64];

int test_dir_setup(void **state)
{
	(void)state;
	snprintf(test_dir, sizeof(test_dir), "/tmp/auriga-test.XXXXXX");
	return mkdtemp(test_dir) != NULL ? 0 : -1;
}

int test_dir_teardown(void **state)
{
	(void)state;
	return test_rmtree(test_dir);
}

int test_write(const char *dir, const char *rel, const char *text)
{
	char path[512];
	FILE *f;
	size_t n;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, rel) >= sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (char *s = strchr(path + strlen(dir) + 1, '/'); s != NULL; s = strchr(s + 1, '/')) {
		*s = '\0';
		if (mkdir(path, 0700) != 0 && errno != EEXIST)
			return -1;
		*s = '/';
	}
	f = fopen(path, "w");
	if (f == NULL)
		return -1;
	n = fwrite(text, 1, strlen(text), f);
	if (fclose(f) != 0 || n != strlen(text))
		return -1;
	return 0;
}

static int remove_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	return remove(path);
}

int test_rmtree(const char *path)
{
	return nftw(path, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}
