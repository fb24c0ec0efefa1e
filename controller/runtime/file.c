/* Files read whole within a bound, and replaced atomically and durably: the one copy of each. */
#include "runtime/file.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int file_read(const char *path, const char *what, unsigned flags, struct buf *out, struct error **err)
{
	return file_read_at(AT_FDCWD, path, what, flags, out, err);
}

int file_read_at(int dirfd, const char *path, const char *what, unsigned flags, struct buf *out,
		 struct error **err)
{
	char chunk[8192];
	struct stat st;
	int fd, rc = 0;

	/* O_NONBLOCK: opening a FIFO must not wait for a writer before it can be refused. */
	fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | ((flags & FILE_NOFOLLOW) ? O_NOFOLLOW : 0) |
				 ((flags & FILE_REGULAR) ? O_NONBLOCK : 0));
	if (fd < 0)
		return error_set(err, -errno, "cannot open %s '%s': %s", what, path, strerror(errno));
	if ((flags & FILE_REGULAR) && (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))) {
		close(fd);
		return error_set(err, ERR_INVALID, "%s '%s' is not a regular file", what, path);
	}
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = error_set(err, -errno, "cannot read %s '%s': %s", what, path, strerror(errno));
			break;
		}
		if (n == 0)
			break;
		if (buf_append(out, chunk, (size_t)n) < 0) {
			rc = error_set(err, ERR_TOOBIG, "%s '%s' is larger than %zu bytes", what, path, out->max);
			break;
		}
	}
	close(fd);
	if (flags & FILE_SECRET)
		explicit_bzero(chunk, sizeof(chunk));
	return rc;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

void file_remove_tree(const char *path)
{
	nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

void file_trim_end(struct buf *b, const char *chars)
{
	while (b->len && b->data[b->len - 1] != '\0' && strchr(chars, b->data[b->len - 1]) != NULL)
		b->data[--b->len] = '\0';
}

/* Writes all of data to fd; -errno on an error. */
static int write_all(int fd, const char *data, size_t len)
{
	size_t off = 0;

	while (off < len) {
		ssize_t n = write(fd, data + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		off += (size_t)n;
	}
	return 0;
}

/*
 * Writes path (created with mode, or truncated) from data, or, when fill is
 * set, from the pieces it makes, and flushes it to disk.
 */
static int write_synced(const char *path, const char *what, mode_t mode, const void *data, size_t len,
			file_fill_fn fill, void *arg, struct error **err)
{
	struct buf b;
	int fd, rc = 0, w;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return error_set(err, -errno, "cannot create %s '%s': %s", what, path, strerror(errno));
	if (fill == NULL) {
		if ((w = write_all(fd, data, len)) < 0)
			rc = error_set(err, w, "cannot write %s '%s': %s", what, path, strerror(-w));
	} else {
		int more = 1;

		buf_init(&b, (size_t)-1);
		while (rc == 0 && more) {
			buf_reset(&b);
			more = fill(arg, &b, err);
			if (more < 0)
				rc = err && *err ? more : error_set(err, more, "%s '%s': cannot be written", what, path);
			else if ((w = write_all(fd, b.data, b.len)) < 0)
				rc = error_set(err, w, "cannot write %s '%s': %s", what, path, strerror(-w));
		}
		buf_release(&b);
	}
	if (rc == 0 && fsync(fd) < 0)
		rc = error_set(err, -errno, "cannot flush %s '%s': %s", what, path, strerror(errno));
	if (close(fd) < 0 && rc == 0)
		rc = error_set(err, -errno, "cannot close %s '%s': %s", what, path, strerror(errno));
	return rc;
}

int file_write_synced(const char *path, const char *what, const void *data, size_t len, mode_t mode,
		      struct error **err)
{
	return write_synced(path, what, mode, data, len, NULL, NULL, err);
}

int file_rename_durable(const char *from, const char *to, const char *what, struct error **err)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(to, '/');
	int fd, rc = 0;

	if (rename(from, to) < 0)
		return error_set(err, -errno, "cannot rename %s '%s' to '%s': %s", what, from, to, strerror(errno));
	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == to)
		snprintf(dir, sizeof(dir), "/");
	else if (snprintf(dir, sizeof(dir), "%.*s", (int)(slash - to), to) >= (int)sizeof(dir))
		return error_set(err, ERR_INVALID, "%s '%s': path too long", what, to);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return error_set(err, -errno, "cannot open the folder of %s '%s': %s", what, to, strerror(errno));
	if (fsync(fd) < 0)
		rc = error_set(err, -errno, "cannot flush the folder of %s '%s': %s", what, to, strerror(errno));
	close(fd);
	return rc;
}

/* A temporary file beside path, written by write_synced, renamed over path; removed on a failure. */
static int replace(const char *path, const char *what, mode_t mode, const void *data, size_t len,
		   file_fill_fn fill, void *arg, struct error **err)
{
	char tmp[PATH_MAX];
	int rc;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof(tmp))
		return error_set(err, ERR_INVALID, "%s '%s': path too long", what, path);
	rc = write_synced(tmp, what, mode, data, len, fill, arg, err);
	if (rc == 0)
		rc = file_rename_durable(tmp, path, what, err);
	if (rc < 0)
		(void)unlink(tmp);
	return rc;
}

int file_replace_filled(const char *path, const char *what, mode_t mode, file_fill_fn fill, void *arg,
			struct error **err)
{
	return replace(path, what, mode, NULL, 0, fill, arg, err);
}

int file_replace(const char *path, const char *what, const void *data, size_t len, mode_t mode,
		 struct error **err)
{
	return replace(path, what, mode, data, len, NULL, NULL, err);
}
