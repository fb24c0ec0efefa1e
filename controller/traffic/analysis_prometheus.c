/* Prometheus instant queries for analysis: the query URL and the reading of its JSON answer. */
#include <curl/curl.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "traffic/analysis.h"
#include "util.h"

int analysis_prometheus_url(struct buf *out, const char *address, const char *query, struct error **err)
{
	size_t alen;
	char *q;
	int ret = 0;

	if (address == NULL || !(str_has_prefix(address, "http://") || str_has_prefix(address, "https://")))
		return error_set(err, ERR_INVALID, "analysis: prometheus address '%s' is not an http(s) URL",
				 address != NULL ? address : "");
	if (query == NULL || query[0] == '\0')
		return error_set(err, ERR_INVALID, "analysis: empty prometheus query");
	q = curl_easy_escape(NULL, query, 0);
	if (q == NULL)
		return error_set(err, ERR_GENERIC, "analysis: cannot encode the query");
	alen = strlen(address);
	while (alen > 0 && address[alen - 1] == '/')
		alen--;
	if (buf_printf(out, "%.*s/api/v1/query?query=%s", (int)alen, address, q) < 0)
		ret = error_set(err, ERR_TOOBIG, "analysis: query URL too long");
	curl_free(q);
	return ret;
}

int analysis_query_expand(struct buf *out, const char *query, const struct analysis_arg *args, size_t n_args,
			  struct error **err)
{
	const char *p = query, *open;

	while ((open = strstr(p, "{{")) != NULL) {
		const char *name = open + 2, *end, *close = strstr(name, "}}");
		size_t i, len;

		if (close == NULL)
			return error_set(err, ERR_INVALID, "analysis: query has '{{' without '}}': '%.40s'", open);
		while (*name == ' ')
			name++;
		end = close;
		while (end > name && end[-1] == ' ')
			end--;
		len = (size_t)(end - name);
		for (i = 0; i < n_args; i++)
			if (strlen(args[i].name) == len && strncmp(args[i].name, name, len) == 0)
				break;
		if (i == n_args)
			return error_set(err, ERR_INVALID, "analysis: query names unknown placeholder '{{%.*s}}'",
					 (int)(close - open - 2), open + 2);
		if (buf_append(out, p, (size_t)(open - p)) < 0 || buf_puts(out, args[i].value) < 0)
			return error_set(err, ERR_TOOBIG, "analysis: query too long");
		p = close + 2;
	}
	if (buf_puts(out, p) < 0)
		return error_set(err, ERR_TOOBIG, "analysis: query too long");
	return 0;
}

/* A sample's [timestamp, "value"] pair: Prometheus sends the value as a string ("0.2", "NaN", "+Inf"). */
static int sample_value(json_t *pair, double *value, struct error **err)
{
	const char *s;
	char *end = NULL;
	double v;

	if (!json_is_array(pair) || json_array_size(pair) != 2 || !json_is_string(json_array_get(pair, 1)))
		return error_set(err, ERR_PROTOCOL, "analysis: prometheus sample is not [time, \"value\"]");
	s = json_string_value(json_array_get(pair, 1));
	v = strtod(s, &end);
	if (end == s || *end != '\0')
		return error_set(err, ERR_PROTOCOL, "analysis: prometheus value '%s' is not a number", s);
	if (isnan(v))
		return 0;
	*value = v;
	return 1;
}

int analysis_prometheus_parse(const char *body, size_t len, double *value, struct error **err)
{
	json_error_t jerr;
	json_t *root, *data, *result;
	const char *status, *type;
	int ret;

	root = json_loadb(body, len, 0, &jerr);
	if (root == NULL)
		return error_set(err, ERR_PROTOCOL, "analysis: prometheus answer is not JSON: %s", jerr.text);
	status = json_string_value(json_object_get(root, "status"));
	if (status == NULL || strcmp(status, "success") != 0) {
		const char *msg = json_string_value(json_object_get(root, "error"));

		ret = error_set(err, ERR_PROTOCOL, "analysis: prometheus query failed: %s",
				msg != NULL ? msg : "no status \"success\"");
		goto out;
	}
	data = json_object_get(root, "data");
	type = json_string_value(json_object_get(data, "resultType"));
	result = json_object_get(data, "result");
	if (type == NULL || result == NULL) {
		ret = error_set(err, ERR_PROTOCOL, "analysis: prometheus answer has no data.resultType and data.result");
		goto out;
	}
	if (strcmp(type, "scalar") == 0) {
		ret = sample_value(result, value, err);
	} else if (strcmp(type, "vector") == 0 && json_is_array(result)) {
		if (json_array_size(result) == 0)
			ret = 0;
		else if (json_array_size(result) > 1)
			ret = error_set(err, ERR_PROTOCOL,
					"analysis: prometheus query returned %zu series; it must return one (aggregate it)",
					json_array_size(result));
		else
			ret = sample_value(json_object_get(json_array_get(result, 0), "value"), value, err);
	} else {
		ret = error_set(err, ERR_PROTOCOL, "analysis: prometheus result type '%s' is not scalar or vector", type);
	}
out:
	json_decref(root);
	return ret;
}
