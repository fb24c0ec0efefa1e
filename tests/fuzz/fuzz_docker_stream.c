/* libFuzzer target: any bytes as a Docker attach/logs stream, fed to the demultiplexer in chunks the input chooses. */
#include "buf.h"
#include "docker/docker.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct docker_demux m;
	struct buf out = BUF_INIT_MAX(64 * 1024), err = BUF_INIT_MAX(64 * 1024);
	size_t off, chunk;

	if (size < 1)
		return 0;
	/* The first byte is the chunk size (0: the whole rest at once); the rest is the stream. */
	chunk = data[0];
	data++;
	size--;
	docker_demux_init(&m);
	for (off = 0; off < size;) {
		size_t n = chunk == 0 || chunk > size - off ? size - off : chunk;

		if (docker_demux_feed(&m, (const char *)data + off, n, &out, &err) < 0)
			break;
		off += n;
	}
	(void)docker_demux_complete(&m);
	if (out.len > 64 * 1024 || err.len > 64 * 1024)
		abort();
	buf_release(&out);
	buf_release(&err);
	return 0;
}
