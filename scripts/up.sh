#!/usr/bin/env bash
# Start the workshop stack and wait until every service is healthy.
source "$(dirname "$0")/common.sh"

start=$(date +%s)
compose up -d --wait
say "healthy in $(($(date +%s) - start)) s"
cat >&2 <<TXT
  memory  http://localhost:8081
  redis   http://localhost:8082
  jwt     http://localhost:8083
  cookie  http://localhost:8084
  balancer status page: http://localhost:9000 (paste the admin token from .env when the page asks)
  a scenario:           docker compose run --rm lab run kill-instance
TXT
