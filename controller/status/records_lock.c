/* Locks in the state folder: one writer of a records file at a time, one run of a policy's backup or drill at a time. */
#include "status/records_lock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "util.h"

int records_lock(const char *path, int wait, int *fd, struct error **err)
{
	int f = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

	*fd = -1;
	if (f < 0)
		return error_set(err, -errno, "cannot open lock file '%s': %s", path, strerror(errno));
	while (flock(f, LOCK_EX | (wait ? 0 : LOCK_NB)) < 0) {
		int e = errno;

		if (e == EINTR)
			continue;
		close(f);
		if (e == EWOULDBLOCK)
			return 0;
		return error_set(err, -e, "cannot lock '%s': %s", path, strerror(e));
	}
	*fd = f;
	return 1;
}

void records_unlock(int fd)
{
	if (fd >= 0)
		close(fd);
}

char *records_run_lock_path(const char *state_dir, const char *kind, const char *policy)
{
	return xasprintf("%s/%s-%s.lock", state_dir, kind, policy);
}

int records_run_free(const char *state_dir, const char *kind, const char *policy, struct error **err)
{
	char *path = records_run_lock_path(state_dir, kind, policy);
	int fd, rc = records_lock(path, 0, &fd, err);

	records_unlock(fd);
	free(path);
	return rc;
}
