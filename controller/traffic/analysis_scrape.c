/* Direct scrape analysis: selectors over the Prometheus text format, summed per scrape. */
#include <math.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "traffic/analysis.h"
#include "util.h"

#define MAX_LABELS 32
#define MAX_LABEL_NAME 128
#define MAX_LABEL_VALUE 1024
#define MAX_MATCHERS 16

enum match_op { M_EQ, M_NE, M_RE, M_NRE };

struct matcher {
	char *label;
	enum match_op op;
	char *value;
	regex_t re;		/* for M_RE and M_NRE */
};

struct part {
	char *name;
	struct matcher m[MAX_MATCHERS];
	size_t n;
};

struct analysis_selector {
	struct part p[2];
	int ratio;
};

static int name_start(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
}

static int name_char(char c)
{
	return name_start(c) || (c >= '0' && c <= '9');
}

static const char *skip_ws(const char *s)
{
	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	return s;
}

/* Reads a double-quoted string with \\, \" and \n escapes into out (bounded); returns the end or NULL. */
static const char *quoted(const char *s, char *out, size_t size)
{
	size_t n = 0;

	if (*s != '"')
		return NULL;
	for (s++; *s != '"'; s++) {
		char c = *s;

		if (c == '\0')
			return NULL;
		if (c == '\\') {
			s++;
			if (*s == 'n')
				c = '\n';
			else if (*s == '\\' || *s == '"')
				c = *s;
			else
				return NULL;
		}
		if (n + 1 >= size)
			return NULL;
		out[n++] = c;
	}
	out[n] = '\0';
	return s + 1;
}

static void part_release(struct part *p)
{
	size_t i;

	for (i = 0; i < p->n; i++) {
		if (p->m[i].op == M_RE || p->m[i].op == M_NRE)
			regfree(&p->m[i].re);
		free(p->m[i].label);
		free(p->m[i].value);
	}
	free(p->name);
	memset(p, 0, sizeof(*p));
}

static int part_parse(const char *text, const char **s, struct part *p, struct error **err)
{
	const char *q = skip_ws(*s), *start = q;

	if (!name_start(*q))
		return error_set(err, ERR_INVALID, "analysis: scrape metric '%s': a metric name expected at column %zu",
				 text, (size_t)(q - text) + 1);
	while (name_char(*q))
		q++;
	p->name = xstrndup(start, (size_t)(q - start));
	q = skip_ws(q);
	if (*q == '{') {
		q = skip_ws(q + 1);
		while (*q != '}') {
			char value[MAX_LABEL_VALUE];
			struct matcher *m;
			const char *ls = q;

			if (p->n == MAX_MATCHERS)
				return error_set(err, ERR_INVALID, "analysis: scrape metric '%s': over %d label matchers",
						 text, MAX_MATCHERS);
			if (!name_start(*q))
				return error_set(err, ERR_INVALID, "analysis: scrape metric '%s': a label name expected at column %zu",
						 text, (size_t)(q - text) + 1);
			while (name_char(*q))
				q++;
			m = &p->m[p->n];
			m->label = xstrndup(ls, (size_t)(q - ls));
			q = skip_ws(q);
			if (q[0] == '=' && q[1] == '~') {
				m->op = M_RE;
				q += 2;
			} else if (q[0] == '!' && q[1] == '~') {
				m->op = M_NRE;
				q += 2;
			} else if (q[0] == '!' && q[1] == '=') {
				m->op = M_NE;
				q += 2;
			} else if (q[0] == '=') {
				m->op = M_EQ;
				q++;
			} else {
				free(m->label);
				m->label = NULL;
				return error_set(err, ERR_INVALID, "analysis: scrape metric '%s': =, !=, =~ or !~ expected at column %zu",
						 text, (size_t)(q - text) + 1);
			}
			q = quoted(skip_ws(q), value, sizeof(value));
			if (q == NULL) {
				free(m->label);
				m->label = NULL;
				return error_set(err, ERR_INVALID, "analysis: scrape metric '%s': a quoted label value expected",
						 text);
			}
			m->value = xstrdup(value);
			if (m->op == M_RE || m->op == M_NRE) {
				/* Compiled as written; full_match() anchors it without rewriting the pattern. */
				if (regcomp(&m->re, value, REG_EXTENDED) != 0) {
					free(m->label);
					free(m->value);
					m->label = m->value = NULL;
					return error_set(err, ERR_INVALID, "analysis: scrape metric '%s': bad regular expression '%s'",
							 text, value);
				}
			}
			p->n++;
			q = skip_ws(q);
			if (*q == ',')
				q = skip_ws(q + 1);
			else if (*q != '}')
				return error_set(err, ERR_INVALID, "analysis: scrape metric '%s': ',' or '}' expected at column %zu",
						 text, (size_t)(q - text) + 1);
		}
		q++;
	}
	*s = skip_ws(q);
	return 0;
}

int analysis_selector_parse(const char *text, struct analysis_selector **out, struct error **err)
{
	struct analysis_selector *sel = xcalloc(1, sizeof(*sel));
	const char *s = text != NULL ? text : "";
	int ret;

	ret = part_parse(s, &s, &sel->p[0], err);
	if (ret == 0 && *s == '/') {
		s++;
		sel->ratio = 1;
		ret = part_parse(text, &s, &sel->p[1], err);
	}
	if (ret == 0 && *s != '\0')
		ret = error_set(err, ERR_INVALID, "analysis: scrape metric '%s': unexpected '%c' at column %zu", text, *s,
				(size_t)(s - text) + 1);
	if (ret < 0) {
		analysis_selector_free(sel);
		return ret;
	}
	*out = sel;
	return 0;
}

size_t analysis_scrape_check(const struct spec_set *set, struct spec_diags *diags)
{
	size_t i, j, n = 0;

	for (i = 0; i < set->n_analysis_templates; i++) {
		const struct spec_analysis_template *a = set->analysis_templates[i];

		for (j = 0; !a->meta.invalid && j < a->n_metrics; j++) {
			const struct spec_metric *m = &a->metrics[j];
			struct analysis_selector *sel = NULL;
			struct error *err = NULL;
			struct spec_pos pos;
			char path[80];

			if (m->provider != SPEC_METRIC_SCRAPE || m->scrape_metric == NULL)
				continue;
			if (analysis_selector_parse(m->scrape_metric, &sel, &err) == 0) {
				analysis_selector_free(sel);
				continue;
			}
			pos = a->meta.pos;
			if (m->scrape_metric_pos.line > 0)
				pos = (struct spec_pos){ a->meta.pos.file, m->scrape_metric_pos.line, m->scrape_metric_pos.col };
			snprintf(path, sizeof(path), "spec.metrics[%zu].provider.scrape.metric", j);
			spec_diags_add(diags, &pos, "AnalysisTemplate", a->meta.name, path, "%s", error_msg(err));
			error_free(err);
			n++;
		}
	}
	return n;
}

void analysis_selector_free(struct analysis_selector *s)
{
	if (s == NULL)
		return;
	part_release(&s->p[0]);
	part_release(&s->p[1]);
	free(s);
}

int analysis_selector_is_ratio(const struct analysis_selector *s)
{
	return s->ratio;
}

/* One sample line, parsed. */
struct sample {
	char name[MAX_LABEL_NAME];
	char label[MAX_LABELS][MAX_LABEL_NAME];
	char value[MAX_LABELS][MAX_LABEL_VALUE];
	size_t n;
	double v;
};

/* Parses "name{l="v",...} value [timestamp]"; returns 0 or -1. */
static int sample_parse(const char *line, struct sample *smp)
{
	const char *q = line, *start = line;
	char *end;

	smp->n = 0;
	if (!name_start(*q))
		return -1;
	while (name_char(*q))
		q++;
	if ((size_t)(q - start) >= sizeof(smp->name))
		return -1;
	memcpy(smp->name, start, (size_t)(q - start));
	smp->name[q - start] = '\0';
	if (*q == '{') {
		q++;
		while (*q != '}') {
			const char *ls = q;

			if (smp->n == MAX_LABELS || !name_start(*q))
				return -1;
			while (name_char(*q))
				q++;
			if ((size_t)(q - ls) >= MAX_LABEL_NAME || *q != '=')
				return -1;
			memcpy(smp->label[smp->n], ls, (size_t)(q - ls));
			smp->label[smp->n][q - ls] = '\0';
			q = quoted(q + 1, smp->value[smp->n], MAX_LABEL_VALUE);
			if (q == NULL)
				return -1;
			smp->n++;
			if (*q == ',')
				q++;
			else if (*q != '}')
				return -1;
		}
		q++;
	}
	if (*q != ' ' && *q != '\t')
		return -1;
	q = skip_ws(q);
	smp->v = strtod(q, &end);
	if (end == q || (*end != '\0' && *end != ' ' && *end != '\t'))
		return -1;
	return 0;
}

/*
 * PromQL anchors label regular expressions at both ends. POSIX matching is
 * leftmost-longest, so the string matches as a whole exactly when the match
 * found starts at 0 and runs to the end.
 */
static int full_match(const regex_t *re, const char *v)
{
	regmatch_t m[1];

	return regexec(re, v, 1, m, 0) == 0 && m[0].rm_so == 0 && (size_t)m[0].rm_eo == strlen(v);
}

static int part_matches(const struct part *p, const struct sample *smp)
{
	size_t i, j;

	if (strcmp(p->name, smp->name) != 0)
		return 0;
	for (i = 0; i < p->n; i++) {
		const struct matcher *m = &p->m[i];
		const char *v = "";
		int hit;

		for (j = 0; j < smp->n; j++)
			if (strcmp(smp->label[j], m->label) == 0)
				v = smp->value[j];
		if (m->op == M_EQ || m->op == M_NE)
			hit = strcmp(v, m->value) == 0;
		else
			hit = full_match(&m->re, v);
		if (hit != (m->op == M_EQ || m->op == M_RE))
			return 0;
	}
	return 1;
}

int analysis_scrape_sum(const struct analysis_selector *s, int which, const char *body, size_t len,
			double *sum, size_t *matched, struct error **err)
{
	const struct part *p = &s->p[which != 0 && s->ratio ? 1 : 0];
	struct sample *smp = xmalloc(sizeof(*smp));
	const char *q = body, *e = body + len;
	char line[4096];
	size_t lineno = 0;
	int ret = 0;

	*sum = 0;
	*matched = 0;
	while (q < e) {
		const char *nl = memchr(q, '\n', (size_t)(e - q));
		size_t n = (size_t)((nl != NULL ? nl : e) - q);

		lineno++;
		if (n > 0 && q[n - 1] == '\r')
			n--;
		if (n >= sizeof(line)) {
			ret = error_set(err, ERR_PROTOCOL, "analysis: scrape line %zu: over %zu bytes", lineno, sizeof(line));
			break;
		}
		memcpy(line, q, n);
		line[n] = '\0';
		q = nl != NULL ? nl + 1 : e;
		if (line[skip_ws(line) - line] == '\0' || line[0] == '#')
			continue;
		if (sample_parse(line, smp) < 0) {
			ret = error_set(err, ERR_PROTOCOL, "analysis: scrape line %zu: not a Prometheus sample: '%.80s'",
					lineno, line);
			break;
		}
		if (part_matches(p, smp) && !isnan(smp->v)) {
			*sum += smp->v;
			(*matched)++;
		}
	}
	free(smp);
	return ret;
}
