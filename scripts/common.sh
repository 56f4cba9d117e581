# Shared by the instructor scripts; sourced, not run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

say() { printf '%s: %s\n' "$(basename "$0")" "$*" >&2; }

# compose runs Docker Compose v2, the one the stack is written for.
compose() {
	if ! docker compose version >/dev/null 2>&1; then
		say "docker compose (v2) is missing: scripts/images.sh installs it"
		exit 1
	fi
	docker compose "$@"
}

# token reads the admin token from the environment or .env.
token() {
	if [ -n "${STATELAB_ADMIN_TOKEN:-}" ]; then
		echo "$STATELAB_ADMIN_TOKEN"
	else
		sed -n 's/^STATELAB_ADMIN_TOKEN=//p' .env
	fi
}
