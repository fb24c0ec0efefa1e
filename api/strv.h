/* String vectors: NULL-terminated arrays of owned strings (argv, env, commands), and counted ones. */
#ifndef AURIGA_STRV_H
#define AURIGA_STRV_H

#include <stddef.h>

/* A NULL-terminated copy of the first n strings of v; NULL when v is NULL or n is 0. */
char **strv_copy(char *const *v, size_t n);
/* A copy of a NULL-terminated vector (NULL for NULL or an empty one). */
char **strv_dup(char *const *v);
/* The number of strings before the NULL (0 for a NULL vector). */
size_t strv_len(char *const *v);
/* The first n strings of v as a JSON array (jansson's json_t). */
struct json_t;
struct json_t *strv_to_json(char *const *v, size_t n);
/* Frees a NULL-terminated vector and its strings (NULL is fine). */
void strv_free(char **v);
/* Frees a counted vector of n strings, terminated or not. */
void strv_free_n(char **v, size_t n);

#endif
