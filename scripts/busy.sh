#!/usr/bin/env bash
# Run the whole catalogue on a busy machine, as a workshop laptop is, and
# count what the lab said:
#
#   scripts/busy.sh                 # 10 runs, 3 CPU-bound loops, Redis paused 0.33 s every 3 s
#   scripts/busy.sh -n 3 -l 0 -p 0  # 3 runs on a quiet machine
#   scripts/busy.sh -s "cost long-lived" -k /tmp/kept   # two scenarios; keep failed runs
#
# Each run is `lab run all --json J` (local processes), with LOOPS busy
# loops beside it and, with -p, the lab's own redis-server stopped
# (SIGSTOP) for PAUSE seconds every EVERY seconds. Every run must exit 0
# (every expectation holds) or 3 (inconclusive: the machine was too busy,
# and the lab said so); 1 (a FAILS) is a wrong verdict. Each journal is
# also checked: a user whose login failed is never counted refused or lost.
# -s runs only the named scenarios; -k DIR keeps the journal and output
# of every run that did not exit 0 or 3. Arguments after -- go to lab
# run. Everything it starts, it ends.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=10 loops=3 pause=0.33 every=3 names=all keep=""
while getopts "n:l:p:e:s:k:h" opt; do
	case $opt in
	n) runs=$OPTARG ;;
	l) loops=$OPTARG ;;
	p) pause=$OPTARG ;;
	e) every=$OPTARG ;;
	s) names=$OPTARG ;;
	k) keep=$OPTARG ;;
	*) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ "${1:-}" = "--" ] && shift

dir=$(mktemp -d)
pids=()
cleanup() {
	[ ${#pids[@]} -gt 0 ] && kill "${pids[@]}" 2>/dev/null || true
	rm -rf "$dir"
}
trap cleanup EXIT
go build -o "$dir/lab" ./cmd/lab

for _ in $(seq 1 "$loops"); do
	sh -c 'while :; do :; done' &
	pids+=($!)
done
echo "busy.sh: $runs runs of lab run $names; $loops CPU-bound loops; Redis paused ${pause} s every ${every} s (0: never)"

held=0 inconclusive=0 failed=0
for i in $(seq 1 "$runs"); do
	# shellcheck disable=SC2086 # names is a list of scenario names
	"$dir/lab" run $names --json "$dir/j$i.json" "$@" >"$dir/o$i.txt" 2>&1 &
	lab=$!
	pauser=""
	if [ "$pause" != 0 ]; then
		(
			while kill -0 "$lab" 2>/dev/null; do
				r=$(pgrep -P "$lab" -x redis-server | head -n 1 || true)
				if [ -n "$r" ]; then
					kill -STOP "$r" 2>/dev/null || true
					sleep "$pause"
					kill -CONT "$r" 2>/dev/null || true
				fi
				sleep "$every"
			done
		) &
		pauser=$!
	fi
	rc=0
	wait "$lab" || rc=$?
	if [ -n "$pauser" ]; then kill "$pauser" 2>/dev/null || true; fi
	case $rc in
	0) held=$((held + 1)) ;;
	3) inconclusive=$((inconclusive + 1)) ;;
	*) failed=$((failed + 1)) ;;
	esac
	echo "run $i: exit $rc: $(tail -n 1 "$dir/o$i.txt")"
	if [ "$rc" != 0 ] && [ "$rc" != 3 ]; then
		grep -E "FAILS|FAILED" "$dir/o$i.txt" | head -n 5 | sed 's/^/    /' || true
		if [ -n "$keep" ]; then
			mkdir -p "$keep"
			cp "$dir/j$i.json" "$dir/o$i.txt" "$keep/" 2>/dev/null || true
			echo "    kept in $keep: j$i.json o$i.txt"
		fi
	fi
done

python3 - "$dir" "$runs" <<'PY'
import glob, json, sys
bad = 0
timedout = 0
for f in sorted(glob.glob(sys.argv[1] + "/j*.json")):
    j = json.load(open(f))
    for s in j.get("scenarios") or []:
        reqs = sorted(s.get("requests") or [], key=lambda r: r["t"])
        nologin = {}
        for r in reqs:
            key = (r["variant"], r["user"])
            if r["path"] == "/login":
                nologin[key] = r["status"] != 200
            elif r["path"] == "/me" and r.get("outcome") in ("refused", "lost") and nologin.get(key):
                bad += 1
            if r.get("timed_out"):
                timedout += 1
print(f"journals: {bad} answers counted refused or lost for users whose login failed; "
      f"{timedout} answers timed out with no fault injected")
sys.exit(1 if bad else 0)
PY
echo "busy.sh: $held held, $inconclusive inconclusive, $failed failed (of $runs)"
[ "$failed" = 0 ]
