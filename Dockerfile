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
USER 10001:10001
VOLUME /var/lib/auriga
ENTRYPOINT ["/usr/bin/auriga"]
CMD ["version"]
