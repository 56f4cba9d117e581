#!/usr/bin/env bash
# The offline workshop bundle: every image the stack needs, in one file.
#
#   scripts/bundle.sh save statelab-images.tar.gz   # where images can be had
#   scripts/bundle.sh load statelab-images.tar.gz   # at the venue, offline
#
# save packs the lab image and the Redis image compose would use
# (STATELAB_IMAGE, STATELAB_REDIS_IMAGE, or compose.yaml's defaults); build
# or pull them first (docker compose build && docker compose pull redis,
# or scripts/images.sh without a registry).
source "$(dirname "$0")/common.sh"

usage() { say "usage: scripts/bundle.sh save|load FILE"; exit 2; }
[ $# -eq 2 ] || usage

lab=${STATELAB_IMAGE:-statelab:0.1}
redis=${STATELAB_REDIS_IMAGE:-redis:7}

case "$1" in
save)
	for img in "$lab" "$redis"; do
		docker image inspect "$img" >/dev/null 2>&1 || {
			say "image $img is not here: docker compose build && docker compose pull redis, or scripts/images.sh"
			exit 1
		}
	done
	tmp=$(mktemp "$2.XXXXXX")
	trap 'rm -f "$tmp"' EXIT
	docker save "$lab" "$redis" | gzip -1 >"$tmp"
	chmod 644 "$tmp"
	mv "$tmp" "$2"
	trap - EXIT
	say "saved $lab and $redis to $2 ($(du -h "$2" | cut -f1))"
	if [ "$redis" != "redis:7" ]; then
		say "at the venue, before docker compose: export STATELAB_IMAGE=$lab STATELAB_REDIS_IMAGE=$redis"
	fi
	;;
load)
	[ -r "$2" ] || { say "cannot read $2"; exit 1; }
	docker load -i "$2" >&2
	;;
*)
	usage
	;;
esac
