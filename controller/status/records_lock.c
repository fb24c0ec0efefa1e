/* Locks in the state folder: one writer of a records file at a time, one run of a policy's backup or drill at a time. */
#include "status/records_lock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

/* The whole file, for F_OFD_SETLK(W) and F_OFD_GETLK. */
static struct flock whole(short type)
{
	struct flock l;

	memset(&l, 0, sizeof(l));
	l.l_type = type;
	l.l_whence = SEEK_SET;
	return l;
}

static int lock_open(const char *path, struct error **err)
{
	int f = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

	if (f < 0)
		error_set(err, -errno, "cannot open lock file '%s': %s", path, strerror(errno));
	return f;
}

/*
 * Open file description locks (fcntl F_OFD_*): they die with the last
 * descriptor of the file, as flock's do, and unlike flock's they can be
 * tested without being taken, so that asking whether a run holds its lock
 * never makes that run's own lock attempt fail.
 */
int records_lock(const char *path, int wait, int *fd, struct error **err)
{
	struct flock l = whole(F_WRLCK);
	int f = lock_open(path, err);

	*fd = -1;
	if (f < 0)
		return -1;
	while (fcntl(f, wait ? F_OFD_SETLKW : F_OFD_SETLK, &l) < 0) {
		int e = errno;

		if (e == EINTR)
			continue;
		close(f);
		if (e == EAGAIN || e == EACCES)
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
	struct flock l = whole(F_WRLCK);
	int fd = lock_open(path, err), rc;

	if (fd < 0) {
		free(path);
		return -1;
	}
	/* Tested, not taken: a run that starts now is not refused for it. */
	if (fcntl(fd, F_OFD_GETLK, &l) < 0)
		rc = error_set(err, -errno, "cannot test lock '%s': %s", path, strerror(errno));
	else
		rc = l.l_type == F_UNLCK;
	close(fd);
	free(path);
	return rc;
}
