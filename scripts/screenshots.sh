#!/usr/bin/env bash
# Regenerate the README's screenshots, docs/screenshots/*.png: the browser
# tests drive every page in headless Chromium (Debian's chromium package)
# and save each page as they leave it (shop pages before and after a kill,
# the live page after kill-instance, the status page after its buttons,
# each also at 390 px).
#
#   scripts/screenshots.sh
set -euo pipefail
cd "$(dirname "$0")/.."

found="${STATELAB_CHROMIUM:-}"
for b in chromium chromium-browser google-chrome headless-shell; do
	[ -n "$found" ] && break
	found="$(command -v "$b" || true)"
done
if [ -z "$found" ]; then
	echo "screenshots.sh: no Chromium on PATH: apt-get install chromium (or set STATELAB_CHROMIUM)" >&2
	exit 1
fi
out=docs/screenshots
rm -rf "$out.new"
mkdir -p "$out.new"
# CI=true: a browser test that cannot start Chromium fails instead of skipping.
STATELAB_SCREENSHOTS="$PWD/$out.new" CI=true go test -count=1 -run Browser ./internal/browsertest
rm -rf "$out"
mv "$out.new" "$out"
ls -1 "$out"
