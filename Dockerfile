# The controller's image. Builds without registry access once hack/base-image.sh has made
# debian:bookworm-slim locally; `make image` does both. The runtime stage holds only the
# binary, the shared libraries it loads, CA certificates and the accounts it runs as.

FROM debian:bookworm-slim AS build
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	build-essential pkg-config ca-certificates libgit2-dev libyaml-dev libjansson-dev \
	libcurl4-openssl-dev libssl-dev libmicrohttpd-dev >/dev/null
WORKDIR /src
COPY Makefile VERSION ./
COPY api api
COPY controller controller
COPY crds crds
COPY hack hack
RUN make -j"$(nproc)" B=/build /build/auriga && strip /build/auriga
# Gather the binary and every shared object it loads, at the paths the loader expects.
RUN set -e; mkdir -p /rootfs/usr/bin /rootfs/etc/ssl/certs /rootfs/tmp /rootfs/var/lib/auriga; \
	cp /build/auriga /rootfs/usr/bin/auriga; \
	for lib in $(ldd /build/auriga | awk '/=>/ { print $3 } !/=>/ && /^\t\// { print $1 }'); do \
		mkdir -p "/rootfs$(dirname "$lib")"; cp -L "$lib" "/rootfs$lib"; \
	done; \
	cp /etc/ssl/certs/ca-certificates.crt /rootfs/etc/ssl/certs/; \
	cp /etc/nsswitch.conf /rootfs/etc/; \
	printf 'root:x:0:0::/root:/sbin/nologin\nauriga:x:10001:10001::/var/lib/auriga:/sbin/nologin\n' >/rootfs/etc/passwd; \
	printf 'root:x:0:\nauriga:x:10001:\n' >/rootfs/etc/group; \
	chmod 1777 /rootfs/tmp; chown 10001:10001 /rootfs/var/lib/auriga

FROM scratch
COPY --from=build /rootfs /
# Inside a container the server must listen on every address for a published port to reach it;
# publish it on the host's loopback only (-p 127.0.0.1:8080:8080). `auriga healthcheck` reads
# AURIGA_LISTEN too, so the HEALTHCHECK follows a changed port.
ENV AURIGA_LISTEN=:8080 AURIGA_STATE_DIR=/var/lib/auriga HOME=/var/lib/auriga
# Not root: give the container the docker socket's group (--group-add <gid of the socket>), or run
# it as root (--user 0) only where the socket is owned by root:root with mode 0600.
USER 10001:10001
# The clone of the specs repository and the engine's state survive restarts in this volume.
VOLUME /var/lib/auriga
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
	CMD ["/usr/bin/auriga", "healthcheck"]
ENTRYPOINT ["/usr/bin/auriga"]
CMD ["run"]
