#!/usr/bin/env bash
# Builds the PostgreSQL image auriga-postgres:15 from deploy/postgres (Debian's postgresql-15
# on the locally made debian:bookworm-slim, no registry). The image carries a label with a hash of
# its build folder, so a run that finds the same hash leaves it alone; quiet when up to date.
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ctx=$top/deploy/postgres
image=${POSTGRES_IMAGE:-auriga-postgres:15}
hash_label=io.auriga.postgres.hash

die() { echo "build-postgres-image: $*" >&2; exit 1; }
command -v docker >/dev/null || die "docker is not installed (run hack/deps.sh)"

want=$(cd "$ctx" && sha256sum Dockerfile entrypoint.sh | sha256sum | cut -c1-64)
# Several runs may build at once against the same engine: one at a time.
exec 9>"${TMPDIR:-/tmp}/auriga-build-postgres.lock"
flock 9
have=$(docker image inspect -f "{{index .Config.Labels \"$hash_label\"}}" "$image" 2>/dev/null || true)
[ "$have" = "$want" ] && exit 0

"$top/hack/base-image.sh"
old=$(docker image inspect -f '{{.Id}}' "$image" 2>/dev/null || true)
if ! out=$(docker build -q --network host --label "$hash_label=$want" -t "$image" "$ctx" 2>&1); then
	echo "$out" >&2
	die "cannot build $image"
fi
echo "build-postgres-image: built $image"
# The image this one replaces, once it has no tag left, is only clutter.
if [ -n "$old" ] && [ "$old" != "$(docker image inspect -f '{{.Id}}' "$image")" ] &&
	[ "$(docker image inspect -f '{{len .RepoTags}}' "$old" 2>/dev/null)" = 0 ]; then
	docker rmi "$old" >/dev/null 2>&1 || true
fi
