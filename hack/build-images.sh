#!/usr/bin/env bash
# Builds the demo node's images locally (no registry, nothing pulled): auriga-demo-node:<tag>.
#
#   hack/build-images.sh          build what changed; quiet when every image is up to date
#   hack/build-images.sh --list   print the image names, one a line
#
# DEMO_NODE_BIN and DEMO_NODE_REPO (default hack/demo-node/demo-node and auriga-demo-node) build
# another binary under another name, e.g. to check that the tests catch a broken node.
#
# Each image is FROM scratch and holds /demo-node plus exactly the shared libraries `ldd` lists
# and the loader (a fully static link is impossible: see hack/demo-node/README.md). Every image
# carries a label with a hash of those files and of its Dockerfile, so a run that finds the same
# hash on an existing image leaves it alone. The variants differ only in their baked-in ENV.
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin=${DEMO_NODE_BIN:-$top/hack/demo-node/demo-node}
repo=${DEMO_NODE_REPO:-auriga-demo-node}
hash_label=io.auriga.demo-node.hash
user=65534:65534

# tag and the ENV it bakes in.
variants=(
	"v1|DEMO_VERSION=v1"
	"v2|DEMO_VERSION=v2"
	"v3|DEMO_VERSION=v3"
	"never-ready|DEMO_VERSION=never-ready DEMO_NEVER_READY=1"
	"flaky|DEMO_VERSION=flaky DEMO_ERROR_RATE=0.2"
	"slow-start|DEMO_VERSION=slow-start DEMO_START_DELAY_MS=5000"
)

if [ "${1:-}" = "--list" ]; then
	for v in "${variants[@]}"; do echo "$repo:${v%%|*}"; done
	exit 0
elif [ $# -ne 0 ]; then
	echo "usage: $0 [--list]" >&2
	exit 2
fi

die() { echo "build-images: $*" >&2; exit 1; }

command -v docker >/dev/null || die "docker is not installed (run hack/deps.sh)"
if [ -z "${DEMO_NODE_BIN:-}" ]; then
	make --no-print-directory -q -C "$top/hack/demo-node" demo-node 2>/dev/null ||
		make --no-print-directory -s -C "$top/hack/demo-node" demo-node
fi
[ -x "$bin" ] || die "no demo node binary at $bin"

# Several test runs may build at once against the same engine: one at a time.
exec 9>"${TMPDIR:-/tmp}/auriga-build-images.lock"
flock 9

# The binary's libraries and its loader, as ldd resolves them on this machine.
libs=()
while read -r line; do
	case $line in
	*"not found"*) die "ldd: $line" ;;
	*"=> /"*) p=${line#*=> }; libs+=("${p%% (*}") ;;
	/*) libs+=("${line%% (*}") ;;
	esac
done < <(ldd "$bin")
[ ${#libs[@]} -gt 0 ] || die "ldd lists no libraries for $bin"
# Of the files' bytes alone, not their paths: two checkouts of the same sources build the same images.
files_hash=$(for f in "$bin" "${libs[@]}"; do sha256sum <"$f"; done | sha256sum | cut -c1-64)

dockerfile() { # ENV assignments
	cat <<-EOF
	FROM scratch
	COPY rootfs/ /
	ENV $1
	EXPOSE 9003
	USER $user
	HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \\
	  CMD ["/demo-node", "probe", "/q/health/ready"]
	ENTRYPOINT ["/demo-node"]
	EOF
}

ctx=
cleanup() { [ -n "$ctx" ] && rm -rf "$ctx"; return 0; }
trap cleanup EXIT

for v in "${variants[@]}"; do
	tag=${v%%|*} env=${v#*|}
	image=$repo:$tag
	df=$(dockerfile "$env")
	want=$( { echo "$files_hash"; echo "$df"; } | sha256sum | cut -c1-64)
	have=$(docker image inspect -f "{{index .Config.Labels \"$hash_label\"}}" "$image" 2>/dev/null || true)
	[ "$have" = "$want" ] && continue

	if [ -z "$ctx" ]; then
		ctx=$(mktemp -d "${TMPDIR:-/tmp}/auriga-images.XXXXXX")
		install -D -m 0755 "$bin" "$ctx/rootfs/demo-node"
		for l in "${libs[@]}"; do
			case $l in */ld-linux*) mode=0755 ;; *) mode=0644 ;; esac
			install -D -m "$mode" "$(readlink -f "$l")" "$ctx/rootfs$l"
		done
	fi
	old=$(docker image inspect -f '{{.Id}}' "$image" 2>/dev/null || true)
	{
		echo "$df"
		echo "LABEL $hash_label=$want org.opencontainers.image.title=$repo org.opencontainers.image.version=$tag"
	} >"$ctx/Dockerfile.$tag"
	if ! out=$(docker build -q --network none -t "$image" -f "$ctx/Dockerfile.$tag" "$ctx" 2>&1); then
		echo "$out" >&2
		die "cannot build $image"
	fi
	echo "build-images: built $image"
	# The image this one replaces, once it has no tag left, is only clutter.
	if [ -n "$old" ] && [ "$old" != "$(docker image inspect -f '{{.Id}}' "$image")" ] &&
		[ "$(docker image inspect -f '{{len .RepoTags}}' "$old" 2>/dev/null)" = 0 ]; then
		docker rmi "$old" >/dev/null 2>&1 || true
	fi
done
