#!/usr/bin/env bash
# Installs every Debian package needed to build, test and run the demo. Idempotent, and quiet
# when everything is already there.
set -euo pipefail

pkgs=(
	# build
	build-essential pkg-config libgit2-dev libyaml-dev libjansson-dev libcurl4-openssl-dev
	libssl-dev libmicrohttpd-dev libcmocka-dev
	# lint and fuzz
	cppcheck clang-tidy clang libclang-rt-14-dev
	# the real parts tests run against
	docker.io git nginx prometheus openssh-server openssh-client fcgiwrap
	# load, tools the scripts use
	wrk apache2-utils curl jq iproute2 procps psmisc debootstrap openssl uuid-runtime time
	# the PyYAML peer of the spec benchmark (Debian's python3, not whatever is first on PATH)
	python3-yaml
	# the fake Docker daemon of the error-matrix test
	python3
	# the status page's end-to-end test: headless Chromium driven by a Node script over DevTools
	chromium nodejs fonts-dejavu-core
)

missing=()
for p in "${pkgs[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	sudo=sudo
else
	sudo=
fi
echo "deps.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian starts these on install where it can; the tests start their own instances.
for svc in nginx prometheus ssh; do
	$sudo service "$svc" stop >/dev/null 2>&1 || true
done
