#!/usr/bin/env bash
# Regenerate the README's screenshots, docs/screenshots/*.png: the browser
# tests drive every page in headless Chromium (Debian's chromium package)
# and save each page as they leave it (shop pages before and after a kill,
# the live page after kill-instance, the status page after its buttons,
# each also at 390 px), then the grid that ends `lab run all` at 80
# columns, as a terminal shows it (grid-80.png).
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
STATELAB_SCREENSHOTS="$PWD/$out.new" CI=true go test -count=1 -run Browser ./internal/browsertest ./cli

# The grid: the lines from "summary" to the end of a real run at 80
# columns, in a monospace page of 80 columns, photographed.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/lab" ./cmd/lab
COLUMNS=80 "$tmp/lab" run all >"$tmp/run.txt"
python3 - "$tmp/run.txt" "$tmp/grid.html" "$tmp/height" <<'PY'
import html, sys
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
start = max(i for i, l in enumerate(lines) if l.startswith("summary"))
text = html.escape("\n".join(lines[start:]))
open(sys.argv[2], "w", encoding="utf-8").write(
    '<!doctype html><meta charset="utf-8"><body style="margin:0;background:#111;color:#eee">'
    '<pre style="font:15px/1.35 DejaVu Sans Mono,monospace;margin:12px;width:80ch">' + text + '</pre>')
# The window's height: every line (15 px at 1.35) and the margins.
print(int(len(lines[start:]) * 15 * 1.35 + 30), file=open(sys.argv[3], "w"))
PY
"$found" --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=780,"$(cat "$tmp/height")" \
	--screenshot="$PWD/$out.new/grid-80.png" "file://$tmp/grid.html" 2>/dev/null
rm -rf "$out"
mv "$out.new" "$out"
ls -1 "$out"
