#!/usr/bin/env bash
# Bring the stack back to a clean state between scenarios or groups:
# every container recreated as compose.yaml says (memory emptied, keys and
# settings as configured, containers a scenario added removed, the
# balancer's policies back to its defaults), then Redis emptied.
source "$(dirname "$0")/common.sh"

start=$(date +%s)
compose up -d --force-recreate --remove-orphans --wait
compose exec -T redis redis-cli FLUSHALL >/dev/null
say "clean and healthy in $(($(date +%s) - start)) s"
