#!/usr/bin/env bash
# Measure statelab: the balancer against nginx and HAProxy on the same pool,
# the cost of each variant, failover, and a scenario with many users.
#
#   scripts/bench.sh [--install] [lab bench flags...]
#
# --install first installs nginx and HAProxy from Debian's packages (without
# them the balancer table says they were skipped). The tables go to stdout,
# each measurement to stderr as it is taken.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = "--install" ]; then
	shift
	as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
	for pkg in nginx-light haproxy; do
		dpkg -s "$pkg" >/dev/null 2>&1 && continue
		as_root apt-get update -qq
		as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nginx-light haproxy >&2
		break
	done
fi
mkdir -p bin
go build -o bin/lab ./cmd/lab
exec bin/lab bench "$@"
