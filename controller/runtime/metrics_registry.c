/* A generic Prometheus metrics registry: counters, gauges and histograms with labels, rendered as text 0.0.4. */
#include "runtime/metrics_registry.h"

#include "buf.h"
#include "error.h"
#include "strmap.h"
#include "strv.h"
#include "util.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum metric_type { METRIC_COUNTER, METRIC_GAUGE, METRIC_HISTOGRAM };

/*
 * A series' strings are one allocation (lv's block): its values' pointers,
 * the values, then lbl. A family holds up to METRICS_MAX_SERIES of them (a
 * gauge a deployment), so each is one malloc rather than three or more.
 */
struct series {
	char **lv;		/* nlabels values */
	char *lbl;		/* the label pairs as exposed, escaped, without braces: a="x",b="y" */
	double value;		/* counter, gauge; histogram count */
	double sum;		/* histogram */
	uint64_t *counts;	/* histogram: per bucket, not cumulative; nbuckets + 1 (+Inf) */
};

struct metric {
	struct metrics *reg;
	enum metric_type type;
	char *name;
	char *help;
	char **labels;
	size_t nlabels;
	double *buckets;
	char **le;		/* histogram: each bound as its le label value, formatted once */
	size_t nbuckets;
	struct series *series;
	size_t nseries, cap;
	struct strmap index;	/* label values joined by US -> index into series */
	unsigned long dropped;
	/*
	 * The family's exposition text as last rendered (NULL before the first
	 * scrape), and whether a series changed since. A scrape renders again
	 * only the families that changed (during a rollout, a few of them) and
	 * holds the others' texts as they are, so the answer is always current
	 * and costs no copy of it.
	 */
	struct metric_text *text;
	int dirty;
};

/*
 * A family's text. While a scrape holds it (refs above 1) it is not changed:
 * a newer rendering goes into a text of its own, which replaces it in the
 * family. Held by the family alone, it is rendered again where it is. refs
 * is changed under the registry's lock.
 */
struct metric_text {
	unsigned refs;
	struct buf b;
};

static void text_drop(struct metric_text *t)
{
	if (t == NULL || --t->refs > 0)
		return;
	buf_release(&t->b);
	free(t);
}

struct metrics {
	pthread_mutex_t lock;
	struct metric **fam;
	size_t nfam, cap;
};

static int valid_name(const char *s, int label)
{
	const char *p;

	if (!s || !*s || (*s >= '0' && *s <= '9'))
		return 0;
	if (label && s[0] == '_' && s[1] == '_')
		return 0;
	for (p = s; *p; p++) {
		int ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			 (*p >= '0' && *p <= '9') || *p == '_' || (!label && *p == ':');
		if (!ok)
			return 0;
	}
	return 1;
}

static void fmt_double(char *out, size_t n, double v);
static int put_escaped(struct buf *b, const char *s, int quote);

struct metrics *metrics_new(void)
{
	struct metrics *r = xcalloc(1, sizeof(*r));

	pthread_mutex_init(&r->lock, NULL);
	return r;
}

static void series_release(struct series *s)
{
	FREE_ALL(s->lv, s->counts);
	memset(s, 0, sizeof(*s));
}

static void metric_free(struct metric *m)
{
	size_t i;

	for (i = 0; i < m->nseries; i++)
		series_release(&m->series[i]);
	strv_free_n(m->labels, m->nlabels);
	free(m->series);
	strmap_clear(&m->index);
	strv_free_n(m->le, m->nbuckets);
	text_drop(m->text);
	FREE_ALL(m->buckets, m->name, m->help);
	free(m);
}

void metrics_free(struct metrics *r)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; i < r->nfam; i++)
		metric_free(r->fam[i]);
	free(r->fam);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

static struct metric *declare(struct metrics *r, enum metric_type type, const char *name,
			      const char *help, const char *const *labels)
{
	struct metric *m;
	size_t i, n = 0;

	if (!valid_name(name, 0))
		BUG("bad metric name '%s'", name ? name : "(null)");
	while (labels && labels[n]) {
		if (!valid_name(labels[n], 1) || strcmp(labels[n], "le") == 0)
			BUG("bad label name '%s' for metric '%s'", labels[n], name);
		n++;
	}
	m = xcalloc(1, sizeof(*m));
	m->reg = r;
	m->type = type;
	m->name = xstrdup(name);
	m->help = xstrdup(help);
	m->nlabels = n;
	m->labels = xcalloc(n ? n : 1, sizeof(char *));
	for (i = 0; i < n; i++)
		m->labels[i] = xstrdup(labels[i]);
	m->dirty = 1;
	pthread_mutex_lock(&r->lock);
	for (i = 0; i < r->nfam; i++)
		if (strcmp(r->fam[i]->name, name) == 0)
			BUG("metric '%s' declared twice", name);
	XGROW(r->fam, r->cap, r->nfam + 1); /* NOLINT(bugprone-sizeof-expression): an array of pointers */
	r->fam[r->nfam++] = m;
	pthread_mutex_unlock(&r->lock);
	return m;
}

struct metric *metrics_counter(struct metrics *r, const char *name, const char *help,
			       const char *const *labels)
{
	return declare(r, METRIC_COUNTER, name, help, labels);
}

struct metric *metrics_gauge(struct metrics *r, const char *name, const char *help,
			     const char *const *labels)
{
	return declare(r, METRIC_GAUGE, name, help, labels);
}

struct metric *metrics_histogram(struct metrics *r, const char *name, const char *help,
				 const char *const *labels, const double *buckets, size_t nbuckets)
{
	struct metric *m;
	size_t i;

	for (i = 1; i < nbuckets; i++)
		if (!(buckets[i] > buckets[i - 1]))
			BUG("buckets of '%s' are not increasing", name);
	m = declare(r, METRIC_HISTOGRAM, name, help, labels);
	m->buckets = xcalloc(nbuckets ? nbuckets : 1, sizeof(double));
	m->le = xcalloc(nbuckets ? nbuckets : 1, sizeof(char *));
	for (i = 0; i < nbuckets; i++) {
		char le[40];

		m->buckets[i] = buckets[i];
		fmt_double(le, sizeof(le), buckets[i]);
		m->le[i] = xstrdup(le);
	}
	m->nbuckets = nbuckets;
	return m;
}

static size_t count_lv(const char *const *lv)
{
	size_t n = 0;

	while (lv && lv[n])
		n++;
	return n;
}

static int series_match(const struct metric *m, const struct series *s, const char *const *lv,
			size_t skip)
{
	size_t i;

	for (i = 0; i < m->nlabels; i++)
		if (i != skip && strcmp(s->lv[i], lv[i]) != 0)
			return 0;
	return 1;
}

/* The index key of a series: its label values joined by the unit separator (never in a value we set). */
static void series_key(struct buf *k, const struct metric *m, const char *const *lv)
{
	size_t i;

	buf_init(k, 1 << 20);
	buf_puts(k, "=");	/* a family without labels still has a non-empty key */
	for (i = 0; i < m->nlabels; i++) {
		buf_puts(k, lv[i]);
		buf_puts(k, "\x1f");
	}
}

/* s's lv and lbl as one block: the n values' pointers, the values, then lbl's text. */
static void series_strings(struct series *s, size_t n, const char *const *lv, const struct buf *lbl)
{
	size_t i, size = n * sizeof(char *) + lbl->len + 1;
	char *at;

	for (i = 0; i < n; i++)
		size += strlen(lv[i]) + 1;
	s->lv = xmalloc(size);
	at = (char *)(s->lv + n);
	for (i = 0; i < n; i++) {
		size_t len = strlen(lv[i]) + 1;

		s->lv[i] = memcpy(at, lv[i], len);
		at += len;
	}
	s->lbl = at;
	memcpy(at, lbl->len ? lbl->data : "", lbl->len);
	at[lbl->len] = '\0';
}

/* Finds or creates the series; NULL when the family is full. Called with the lock held. */
static struct series *find(struct metric *m, const char *const *lv, int create)
{
	struct series *s;
	struct buf k;
	size_t i, at;
	int known;

	if (count_lv(lv) != m->nlabels)
		BUG("metric '%s' takes %zu label values, got %zu", m->name, m->nlabels, count_lv(lv));
	series_key(&k, m, lv);
	known = strmap_get_index(&m->index, k.data, &at);
	if (known || !create || m->nseries >= METRICS_MAX_SERIES) {
		buf_release(&k);
		if (known)
			return &m->series[at];
		if (create)
			m->dropped++;
		return NULL;
	}
	strmap_put_index(&m->index, k.data, m->nseries);
	buf_release(&k);
	XGROW(m->series, m->cap, m->nseries + 1);
	s = &m->series[m->nseries++];
	memset(s, 0, sizeof(*s));
	/* The label pairs never change, so they are escaped once here rather than on every scrape. */
	buf_init(&k, SIZE_MAX);
	for (i = 0; i < m->nlabels; i++) {
		if (i)
			buf_putc(&k, ',');
		buf_puts(&k, m->labels[i]);
		buf_puts(&k, "=\"");
		put_escaped(&k, lv[i], 1);
		buf_putc(&k, '"');
	}
	series_strings(s, m->nlabels, lv, &k);
	buf_release(&k);
	if (m->type == METRIC_HISTOGRAM)
		s->counts = xcalloc(m->nbuckets + 1, sizeof(uint64_t));
	m->dirty = 1;
	return s;
}

static void update(struct metric *m, enum metric_type want, const char *const *lv, double v, int op)
{
	struct series *s;

	if (m->type != want)
		BUG("metric '%s' updated as the wrong type", m->name);
	pthread_mutex_lock(&m->reg->lock);
	s = find(m, lv, 1);
	if (s) {
		switch (op) {
		case 0:
			if (v > 0) {
				s->value += v;
				m->dirty = 1;
			}
			break;
		case 1:
			/*
			 * A gauge set to the value it has (most of them, on most
			 * passes) changes no text; 0 to -0 and NaN to NaN are
			 * changes (the text may differ).
			 */
			if (s->value != v || signbit(s->value) != signbit(v))
				m->dirty = 1;
			s->value = v;
			break;
		default: {
			size_t i = 0;

			while (i < m->nbuckets && v > m->buckets[i])
				i++;
			s->counts[i]++;
			s->value += 1;
			s->sum += v;
			m->dirty = 1;
			break;
		}
		}
	}
	pthread_mutex_unlock(&m->reg->lock);
}

void metric_add(struct metric *m, const char *const *lv, double delta)
{
	update(m, METRIC_COUNTER, lv, delta, 0);
}

void metric_inc(struct metric *m, const char *const *lv)
{
	update(m, METRIC_COUNTER, lv, 1, 0);
}

void metric_set(struct metric *m, const char *const *lv, double v)
{
	update(m, METRIC_GAUGE, lv, v, 1);
}

void metric_observe(struct metric *m, const char *const *lv, double v)
{
	update(m, METRIC_HISTOGRAM, lv, v, 2);
}

void metric_set_state(struct metric *m, const char *const *lv, size_t state_label)
{
	struct series *cur;
	size_t i;

	if (m->type != METRIC_GAUGE || state_label >= m->nlabels)
		BUG("metric '%s' is not a state set on label %zu", m->name, state_label);
	pthread_mutex_lock(&m->reg->lock);
	cur = find(m, lv, 1);
	for (i = 0; i < m->nseries; i++) {
		if (series_match(m, &m->series[i], lv, state_label) && m->series[i].value != 0 &&
		    &m->series[i] != cur) {
			m->series[i].value = 0;
			m->dirty = 1;
		}
	}
	if (cur && cur->value != 1) {
		cur->value = 1;
		m->dirty = 1;
	}
	pthread_mutex_unlock(&m->reg->lock);
}

void metric_forget(struct metric *m, size_t label, const char *value)
{
	size_t i = 0;

	if (label >= m->nlabels)
		BUG("metric '%s' has no label %zu", m->name, label);
	pthread_mutex_lock(&m->reg->lock);
	while (i < m->nseries) {
		if (strcmp(m->series[i].lv[label], value) == 0) {
			struct buf k;

			series_key(&k, m, (const char *const *)m->series[i].lv);
			strmap_del(&m->index, k.data);
			buf_release(&k);
			series_release(&m->series[i]);
			if (i + 1 < m->nseries) {
				m->series[i] = m->series[m->nseries - 1];
				series_key(&k, m, (const char *const *)m->series[i].lv);
				strmap_put_index(&m->index, k.data, i);
				buf_release(&k);
			}
			m->nseries--;
			m->dirty = 1;
		} else {
			i++;
		}
	}
	pthread_mutex_unlock(&m->reg->lock);
}

double metric_value(struct metric *m, const char *const *lv)
{
	struct series *s;
	double v = 0;

	pthread_mutex_lock(&m->reg->lock);
	s = find(m, lv, 0);
	if (s)
		v = s->value;
	pthread_mutex_unlock(&m->reg->lock);
	return v;
}

double metric_sum(struct metric *m, const char *const *lv)
{
	struct series *s;
	double v = 0;

	pthread_mutex_lock(&m->reg->lock);
	s = find(m, lv, 0);
	if (s && m->type == METRIC_HISTOGRAM)
		v = s->sum;
	pthread_mutex_unlock(&m->reg->lock);
	return v;
}

/* HELP text escapes backslash and newline; label values also escape the double quote. */
static int put_escaped(struct buf *b, const char *s, int quote)
{
	int rc = 0;

	for (; *s && rc == 0; s++) {
		if (*s == '\\')
			rc = buf_puts(b, "\\\\");
		else if (*s == '\n')
			rc = buf_puts(b, "\\n");
		else if (quote && *s == '"')
			rc = buf_puts(b, "\\\"");
		else
			rc = buf_putc(b, *s);
	}
	return rc;
}

/* The shortest of %.15g and %.17g that reads back as the same double. */
static void fmt_double(char *out, size_t n, double v)
{
	snprintf(out, n, "%.15g", v);
	if (strtod(out, NULL) != v)
		snprintf(out, n, "%.17g", v);
}

/* Decimal digits of v, written backwards from end; returns where they begin. */
static char *fmt_u64(char *end, uint64_t v)
{
	*--end = '\0';
	do {
		*--end = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return end;
}

/*
 * Counts, replica numbers and timestamps are whole numbers: below 1e15 (where
 * %.15g would turn to an exponent) their digits are exactly what %.15g
 * prints, without printf's cost. Anything else goes through fmt_double.
 */
static int put_number(struct buf *b, double v)
{
	char num[40];

	if (isnan(v))
		return buf_puts(b, "NaN");
	if (isinf(v))
		return buf_puts(b, v > 0 ? "+Inf" : "-Inf");
	if (v > -1e15 && v < 1e15 && v == (double)(int64_t)v && !(v == 0 && signbit(v))) {
		char *p = fmt_u64(num + sizeof(num), (uint64_t)(v < 0 ? -v : v));

		if (v < 0)
			*--p = '-';
		return buf_puts(b, p);
	}
	fmt_double(num, sizeof(num), v);
	return buf_puts(b, num);
}

static int put_count(struct buf *b, uint64_t v)
{
	char num[24];

	return buf_puts(b, fmt_u64(num + sizeof(num), v));
}

/* Writes {a="x",b="y"[,le="..."]}; le is NULL outside histogram buckets. */
static int put_labels(struct buf *b, const struct metric *m, const struct series *s, const char *le)
{
	int rc = 0;

	if (m->nlabels == 0 && !le)
		return 0;
	rc |= buf_putc(b, '{');
	rc |= buf_puts(b, s->lbl);
	if (le) {
		rc |= buf_puts(b, m->nlabels ? ",le=\"" : "le=\"");
		rc |= buf_puts(b, le);
		rc |= buf_putc(b, '"');
	}
	rc |= buf_putc(b, '}');
	return rc ? ERR_TOOBIG : 0;
}

/* Appends the family name and a suffix ("_bucket", "_sum", "_count"). */
static int put_name(struct buf *b, const struct metric *m, const char *suffix)
{
	return buf_puts(b, m->name) | buf_puts(b, suffix);
}

static int render_family(struct buf *b, const struct metric *m)
{
	static const char *const type_names[] = { "counter", "gauge", "histogram" };
	size_t i, j;
	int rc = 0;

	rc |= buf_puts(b, "# HELP ");
	rc |= buf_puts(b, m->name);
	rc |= buf_putc(b, ' ');
	rc |= put_escaped(b, m->help, 0);
	rc |= buf_puts(b, "\n# TYPE ");
	rc |= buf_puts(b, m->name);
	rc |= buf_putc(b, ' ');
	rc |= buf_puts(b, type_names[m->type]);
	rc |= buf_putc(b, '\n');
	for (i = 0; i < m->nseries && rc == 0; i++) {
		const struct series *s = &m->series[i];
		uint64_t cum = 0;

		if (m->type != METRIC_HISTOGRAM) {
			rc |= buf_puts(b, m->name);
			rc |= put_labels(b, m, s, NULL);
			rc |= buf_putc(b, ' ');
			rc |= put_number(b, s->value);
			rc |= buf_putc(b, '\n');
			continue;
		}
		for (j = 0; j <= m->nbuckets; j++) {
			cum += s->counts[j];
			rc |= put_name(b, m, "_bucket");
			rc |= put_labels(b, m, s, j < m->nbuckets ? m->le[j] : "+Inf");
			rc |= buf_putc(b, ' ');
			rc |= put_count(b, cum);
			rc |= buf_putc(b, '\n');
		}
		rc |= put_name(b, m, "_sum");
		rc |= put_labels(b, m, s, NULL);
		rc |= buf_putc(b, ' ');
		rc |= put_number(b, s->sum);
		rc |= buf_putc(b, '\n');
		rc |= put_name(b, m, "_count");
		rc |= put_labels(b, m, s, NULL);
		rc |= buf_putc(b, ' ');
		rc |= put_count(b, cum);
		rc |= buf_putc(b, '\n');
	}
	return rc ? ERR_TOOBIG : 0;
}

/* Renders m again: into its text, or into a new one while a scrape still sends the old. 0, or ERR_TOOBIG. */
static int rerender(struct metric *m)
{
	struct metric_text *t = m->text;
	int rc;

	if (t == NULL || t->refs > 1) {
		t = xcalloc(1, sizeof(*t));
		t->refs = 1;
		buf_init(&t->b, SIZE_MAX);
		/* About the size it had: a family's text changes little from one scrape to the next. */
		if (m->text != NULL && buf_reserve(&t->b, m->text->b.len + m->text->b.len / 8) < 0) {
			text_drop(t);
			return ERR_TOOBIG;
		}
		text_drop(m->text);
		m->text = t;
	}
	buf_reset(&t->b);
	rc = render_family(&t->b, m);
	m->dirty = rc < 0;
	return rc;
}

struct metrics_snapshot {
	struct metrics *reg;
	struct metric_text **texts;	/* each family's, in declaration order */
	size_t n, total;
	size_t at, off;		/* the reader's place: the text, and the byte in it */
};

struct metrics_snapshot *metrics_snapshot(struct metrics *r)
{
	struct metrics_snapshot *sn = xcalloc(1, sizeof(*sn));
	size_t i;
	int rc = 0;

	sn->reg = r;
	pthread_mutex_lock(&r->lock);
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
	sn->texts = xcalloc(r->nfam ? r->nfam : 1, sizeof(*sn->texts));
	for (i = 0; i < r->nfam && rc == 0; i++) {
		struct metric *m = r->fam[i];

		if (m->dirty || m->text == NULL)
			rc = rerender(m);
		if (rc == 0) {
			m->text->refs++;
			sn->texts[sn->n++] = m->text;
			sn->total += m->text->b.len;
		}
	}
	pthread_mutex_unlock(&r->lock);
	if (rc < 0) {
		metrics_snapshot_free(sn);
		return NULL;
	}
	return sn;
}

size_t metrics_snapshot_size(const struct metrics_snapshot *sn)
{
	return sn->total;
}

size_t metrics_snapshot_read(struct metrics_snapshot *sn, char *out, size_t max)
{
	size_t n = 0;

	while (n < max && sn->at < sn->n) {
		const struct buf *t = &sn->texts[sn->at]->b;
		size_t k = t->len - sn->off < max - n ? t->len - sn->off : max - n;

		memcpy(out + n, t->data + sn->off, k);
		n += k;
		sn->off += k;
		if (sn->off == t->len) {
			sn->at++;
			sn->off = 0;
		}
	}
	return n;
}

void metrics_snapshot_free(struct metrics_snapshot *sn)
{
	size_t i;

	if (sn == NULL)
		return;
	pthread_mutex_lock(&sn->reg->lock);
	for (i = 0; i < sn->n; i++)
		text_drop(sn->texts[i]);
	pthread_mutex_unlock(&sn->reg->lock);
	free(sn->texts);
	free(sn);
}
