#!/usr/bin/env bash
# Measure statelab: the balancer against nginx and HAProxy on the same pool,
# the cost of each variant, failover, and a scenario with many users.
#
#   scripts/bench.sh [--install] [lab bench flags...]
#
# --install first installs nginx, HAProxy and wrk from Debian's packages when
# they are missing (without nginx or HAProxy the balancer table says they
# were skipped; without wrk the lab's own load generator is used). The
# tables go to stdout, each measurement to stderr as it is taken.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = "--install" ]; then
	shift
	as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
	missing=()
	have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ]; }
	have nginx || missing+=(nginx-light)
	have haproxy || missing+=(haproxy)
	have wrk || missing+=(wrk)
	if [ ${#missing[@]} -gt 0 ]; then
		as_root apt-get update -qq
		as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
	fi
fi
mkdir -p bin
go build -o bin/lab ./cmd/lab
exec bin/lab bench "$@"
