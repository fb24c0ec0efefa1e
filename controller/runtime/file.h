/* Files read whole within a bound, and replaced atomically and durably. */
#ifndef AURIGA_FILE_H
#define AURIGA_FILE_H

#include <stddef.h>
#include <sys/types.h>

#include "buf.h"
#include "error.h"

enum {
	FILE_NOFOLLOW = 1,	/* the last component must not be a symbolic link */
	FILE_REGULAR = 2,	/* refuse anything but a regular file (a FIFO would block, a folder would fail late) */
	FILE_SECRET = 4,	/* wipe the read chunks: the content is a key, token or password */
};

/*
 * Appends all of path to out, whose max bounds it. what names the file in
 * errors ("config file", "API token file"). Returns 0; -ENOENT when the file
 * does not exist (err set too); ERR_TOOBIG when it is larger than out's max;
 * another negative errno or ERR_INVALID (not a regular file) otherwise.
 */
int file_read(const char *path, const char *what, unsigned flags, struct buf *out, struct error **err);
/* The same with path relative to the folder dirfd (errors name path as given). */
int file_read_at(int dirfd, const char *path, const char *what, unsigned flags, struct buf *out,
		 struct error **err);

/* Removes path and everything under it, links not followed; what cannot be removed stays. */
void file_remove_tree(const char *path);

/* Drops the trailing characters found in chars ("\r\n": the newline an editor saves after a secret). */
void file_trim_end(struct buf *b, const char *chars);

/* Writes data to path (created with mode, or truncated) and flushes it to disk. */
int file_write_synced(const char *path, const char *what, const void *data, size_t len, mode_t mode,
		      struct error **err);

/* Renames from over to and flushes the folder that holds to, so the rename survives a crash. */
int file_rename_durable(const char *from, const char *to, const char *what, struct error **err);

/*
 * Replaces path with data: a temporary file beside it, written and flushed,
 * renamed over it, and the folder flushed. After a crash path holds the old
 * bytes or the new, never a mix; on a failure the temporary file is removed.
 */
int file_replace(const char *path, const char *what, const void *data, size_t len, mode_t mode,
		 struct error **err);

/*
 * The same with the bytes made piece by piece, so a large file is never held
 * whole: fill(arg, b) appends the next piece to b (emptied before each call)
 * and returns 1 while more follow, 0 with the last, or a negative error code
 * (with *err set, or ERR_TOOBIG without), which leaves path as it was.
 */
typedef int (*file_fill_fn)(void *arg, struct buf *b, struct error **err);
int file_replace_filled(const char *path, const char *what, mode_t mode, file_fill_fn fill, void *arg,
			struct error **err);

#endif
