#!/usr/bin/env bash
# Makes the base image `debian:bookworm-slim` locally, because no registry can be reached:
# debootstrap a minimal bookworm and `docker import` it. Does nothing when the image exists.
set -euo pipefail

image=${BASE_IMAGE:-debian:bookworm-slim}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

if docker image inspect "$image" >/dev/null 2>&1; then
	exit 0
fi
command -v debootstrap >/dev/null || { echo "base-image.sh: debootstrap missing (run hack/deps.sh)" >&2; exit 1; }

root=$(mktemp -d "${TMPDIR:-/tmp}/auriga-rootfs.XXXXXX")
trap 'rm -rf "$root"' EXIT
echo "base-image.sh: debootstrap bookworm into a temporary root (about 30 s)" >&2
debootstrap --variant=minbase bookworm "$root" "$mirror" >"$root.log" 2>&1 || {
	tail -n 20 "$root.log" >&2
	rm -f "$root.log"
	exit 1
}
rm -f "$root.log"
# Keep the image small, as the slim image does: no apt lists, caches, docs or man pages.
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/usr/share/doc/* \
	"$root"/usr/share/man/* "$root"/usr/share/info/*
cat >"$root/etc/apt/sources.list" <<SRC
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
SRC
tar -C "$root" -c . | docker import --change 'CMD ["bash"]' - "$image" >/dev/null
echo "base-image.sh: made $image" >&2
