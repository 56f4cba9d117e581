#!/usr/bin/env bash
# Build, without any registry, every image the workshop stack needs:
#   - the lab image, from a binary built here (Dockerfile.prebuilt);
#   - a Redis image made of Debian's redis-server and the libraries it links;
# install Docker Compose v2 when `docker compose` is missing, and print the
# export lines that make compose use these images:
#
#   eval "$(scripts/images.sh)" && docker compose up -d
#
# Progress goes to stderr; stdout carries only the export lines. Running it
# again rebuilds the images (fast: the layers are cached) and reinstalls
# nothing that is there.
set -euo pipefail
cd "$(dirname "$0")/.."

LAB_IMAGE=${STATELAB_IMAGE:-statelab:0.1}
COMPOSE_VERSION=v2.40.3

say() { printf 'images.sh: %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# ensure_docker starts the Docker engine if it does not answer, and waits.
ensure_docker() {
	if docker info >/dev/null 2>&1; then return; fi
	command -v dockerd >/dev/null || { say "Docker is not installed"; exit 1; }
	say "the Docker engine does not answer: starting dockerd"
	as_root sh -c 'nohup dockerd >/var/log/dockerd.log 2>&1 &'
	for _ in $(seq 1 60); do
		docker info >/dev/null 2>&1 && return
		sleep 1
	done
	say "dockerd did not come up within 60 s (see /var/log/dockerd.log)"
	exit 1
}

# ensure_compose installs Compose v2 as a Docker CLI plugin, built from the Go
# module proxy, when `docker compose` is missing. `go install ...@latest`
# refuses it (its go.mod has exclude directives), so it is built from a
# scratch module that requires it.
ensure_compose() {
	if docker compose version >/dev/null 2>&1; then return; fi
	say "docker compose (v2) is missing: building $COMPOSE_VERSION from the Go module proxy (about two minutes)"
	local dir plugins
	dir=$(mktemp -d)
	plugins=${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins
	mkdir -p "$plugins"
	(
		cd "$dir"
		printf 'module composebuild\n\ngo 1.26\n\nrequire github.com/docker/compose/v2 %s\n' "$COMPOSE_VERSION" >go.mod
		go mod tidy >/dev/null 2>&1 || true # its errors are expected and harmless
		GOFLAGS=-mod=mod go build -o "$plugins/docker-compose" github.com/docker/compose/v2/cmd
	) >&2
	rm -rf "$dir"
	docker compose version >&2
}

build_lab() {
	say "building the lab binary and $LAB_IMAGE"
	mkdir -p bin
	CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o bin/lab ./cmd/lab
	DOCKER_BUILDKIT=0 docker build --quiet -f Dockerfile.prebuilt -t "$LAB_IMAGE" . >&2
}

# build_redis packs Debian's redis-server, redis-cli and the libraries they
# link into an image from scratch. redis-server is a link to redis-check-rdb
# and picks its mode from its name, so the binary is copied as redis-server.
build_redis() {
	if ! command -v redis-server >/dev/null; then
		say "installing Debian's redis-server to pack it"
		as_root apt-get update -qq >&2
		as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server redis-tools >&2
	fi
	local version ctx server cli
	version=$(redis-server --version | sed -n 's/.*v=\([0-9.]*\).*/\1/p')
	REDIS_IMAGE=${STATELAB_REDIS_IMAGE:-statelab-redis:$version}
	say "building $REDIS_IMAGE from $(command -v redis-server) $version"
	ctx=$(mktemp -d)
	trap 'rm -rf "$ctx"' RETURN
	server=$(readlink -f "$(command -v redis-server)")
	cli=$(readlink -f "$(command -v redis-cli)")
	mkdir -p "$ctx/root/usr/local/bin" "$ctx/root/data"
	cp "$server" "$ctx/root/usr/local/bin/redis-server"
	cp "$cli" "$ctx/root/usr/local/bin/redis-cli"
	# ldd prints "name => /path (addr)" for libraries and "/path (addr)" for
	# the dynamic loader.
	for lib in $(ldd "$server" "$cli" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// && NF == 2 {print $1}' | sort -u); do
		mkdir -p "$ctx/root$(dirname "$lib")"
		cp -L "$lib" "$ctx/root$lib"
	done
	cat >"$ctx/Dockerfile" <<'DOCKERFILE'
FROM scratch
COPY root/ /
ENV PATH=/usr/local/bin:/usr/bin:/bin
WORKDIR /data
EXPOSE 6379
# The official image runs with protected mode off; so does this one.
ENTRYPOINT ["/usr/local/bin/redis-server", "--protected-mode", "no"]
DOCKERFILE
	DOCKER_BUILDKIT=0 docker build --quiet -t "$REDIS_IMAGE" "$ctx" >&2
}

ensure_docker
ensure_compose
build_lab
build_redis
echo "export STATELAB_IMAGE=$LAB_IMAGE"
echo "export STATELAB_REDIS_IMAGE=$REDIS_IMAGE"
