/* The API's bearer token file: the token, and the name of whoever holds it when the file gives one. */
#ifndef AURIGA_TOKEN_H
#define AURIGA_TOKEN_H

#include <stddef.h>

#include "buf.h"
#include "error.h"

#define API_TOKEN_MAX 4096
#define API_TOKEN_NAME_MAX 64

/*
 * The file holds the token on one line. Lines starting with '#' are
 * comments, and one of the form "# name: NAME" names the token's holder
 * (1 to 64 of [A-Za-z0-9._@-]): release controls made with it are recorded
 * as asked by NAME, or by "api" when the file names no one. Blank lines and
 * trailing blanks are ignored; a file with no token line, or more than one,
 * is refused with its line. token receives the token (its reader wipes it),
 * name the holder's name or "" (name_len at least API_TOKEN_NAME_MAX + 1).
 */
int api_token_read(const char *path, struct buf *token, char *name, size_t name_len, struct error **err);

#endif
