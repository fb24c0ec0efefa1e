/* Docker's stream formats, pure: the multiplexed stdout/stderr framing and the JSON of one event. */
#include "docker/docker.h"
#include "docker/docker_internal.h"
#include "util.h"

#include <string.h>

void docker_demux_init(struct docker_demux *m)
{
	memset(m, 0, sizeof(*m));
}

/* A frame header: stream 0 (stdin, echoed), 1 (stdout) or 2 (stderr), then three zero bytes. */
static int header_valid(const unsigned char *h)
{
	return h[0] <= 2 && h[1] == 0 && h[2] == 0 && h[3] == 0;
}

int docker_demux_feed(struct docker_demux *m, const char *data, size_t len, struct buf *out, struct buf *err)
{
	while (len > 0) {
		if (m->raw)
			return buf_append(out, data, len) < 0 ? ERR_TOOBIG : 0;
		if (m->remaining == 0) {
			size_t take = sizeof(m->hdr) - m->hdr_len;

			if (take > len)
				take = len;
			memcpy(m->hdr + m->hdr_len, data, take);
			m->hdr_len += take;
			data += take;
			len -= take;
			if (!m->started && m->hdr_len >= 4 && !header_valid(m->hdr)) {
				/* Not multiplexed: what was held back is output too. */
				m->raw = 1;
				m->started = 1;
				if (buf_append(out, m->hdr, m->hdr_len) < 0)
					return ERR_TOOBIG;
				m->hdr_len = 0;
				continue;
			}
			if (m->hdr_len < sizeof(m->hdr))
				return 0;
			if (!header_valid(m->hdr))
				return ERR_PROTOCOL;
			m->started = 1;
			m->stream = m->hdr[0];
			m->remaining = (size_t)m->hdr[4] << 24 | (size_t)m->hdr[5] << 16 |
				       (size_t)m->hdr[6] << 8 | (size_t)m->hdr[7];
			m->hdr_len = 0;
			continue;
		}
		{
			size_t take = m->remaining < len ? m->remaining : len;
			struct buf *dst = m->stream == 2 ? err : out;

			if (buf_append(dst, data, take) < 0)
				return ERR_TOOBIG;
			data += take;
			len -= take;
			m->remaining -= take;
		}
	}
	return 0;
}

int docker_demux_complete(const struct docker_demux *m)
{
	return m->raw || (m->remaining == 0 && m->hdr_len == 0);
}

int docker_event_parse(json_t *root, struct docker_event *ev, struct kv **attrs, struct error **err)
{
	json_t *actor, *tn, *a;
	size_t n = 0;

	memset(ev, 0, sizeof(*ev));
	*attrs = NULL;
	if (!json_is_object(root))
		return error_set(err, ERR_PROTOCOL, "an event is not a JSON object");
	ev->type = json_string_value(json_object_get(root, "Type"));
	ev->action = json_string_value(json_object_get(root, "Action"));
	if (ev->type == NULL || ev->action == NULL)
		return error_set(err, ERR_PROTOCOL, "an event lacks 'Type' or 'Action'");
	actor = json_object_get(root, "Actor");
	if (actor != NULL && !json_is_object(actor))
		return error_set(err, ERR_PROTOCOL, "an event's 'Actor' is not an object");
	ev->id = json_string_value(json_object_get(actor, "ID"));
	if (ev->id == NULL)
		ev->id = json_string_value(json_object_get(root, "id"));
	if (ev->id == NULL)
		ev->id = "";
	tn = json_object_get(root, "timeNano");
	if (json_is_integer(tn)) {
		ev->time_ns = json_integer_value(tn);
	} else if (json_is_integer(json_object_get(root, "time"))) {
		ev->time_ns = json_integer_value(json_object_get(root, "time")) * 1000000000LL;
	} else {
		return error_set(err, ERR_PROTOCOL, "an event lacks 'timeNano'");
	}
	a = json_object_get(actor, "Attributes");
	if (json_is_object(a) && json_object_size(a) > 0) {
		const char *k;
		json_t *v;

		*attrs = xcalloc(json_object_size(a), sizeof(**attrs));
		json_object_foreach(a, k, v) {
			if (!json_is_string(v))
				continue;
			/* Borrowed from root, which outlives the event. */
			(*attrs)[n].key = (char *)k;
			(*attrs)[n].value = (char *)json_string_value(v);
			n++;
		}
	}
	ev->attributes = *attrs;
	ev->n_attributes = n;
	return 0;
}
