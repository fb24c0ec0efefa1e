/* String vectors: copy, length and free, for every argv, env and command list in the tree. */
#include "strv.h"

#include <jansson.h>
#include <stdlib.h>

#include "util.h"

char **strv_copy(char *const *v, size_t n)
{
	char **out;
	size_t i;

	if (v == NULL || n == 0)
		return NULL;
	out = xcalloc(n + 1, sizeof(*out));
	for (i = 0; i < n; i++)
		out[i] = xstrdup(v[i]);
	return out;
}

char **strv_dup(char *const *v)
{
	return strv_copy(v, strv_len(v));
}

size_t strv_len(char *const *v)
{
	size_t n = 0;

	while (v && v[n])
		n++;
	return n;
}

json_t *strv_to_json(char *const *v, size_t n)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; v && i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

void strv_free(char **v)
{
	size_t i;

	for (i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

void strv_free_n(char **v, size_t n)
{
	size_t i;

	for (i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}
