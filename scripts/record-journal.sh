#!/usr/bin/env bash
# Record examples/journals/run-all.json.gz: a real `lab run all` on local
# processes (no Docker), its journal compressed. lab replay plays it, for a
# class whose laptops cannot run the lab or to prepare a workshop, and
# lab replay --html turns it into the page students keep. The journal is
# replaced only when the run held every expectation.
#
#   scripts/record-journal.sh
set -euo pipefail
cd "$(dirname "$0")/.."
out=examples/journals/run-all.json.gz
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/lab" ./cmd/lab
if ! "$tmp/lab" run all --json "$tmp/run-all.json.gz" >"$tmp/run.txt"; then
	tail -5 "$tmp/run.txt" >&2
	echo "record-journal.sh: the run did not hold every expectation; $out is unchanged" >&2
	exit 1
fi
mkdir -p "$(dirname "$out")"
mv "$tmp/run-all.json.gz" "$out"
echo "$out: $(tail -1 "$tmp/run.txt")"
"$tmp/lab" replay "$out" --html "$tmp/report.html" >/dev/null
echo "lab replay $out --html report.html: $(wc -c <"$tmp/report.html") bytes"
