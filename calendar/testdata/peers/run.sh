#!/bin/sh
# Benchmarks calendar's parse+expand against its peers on the same files:
# ical.js 2.2.1 (npm) and python3-recurring-ical-events (Debian).
#
# usage: calendar/testdata/peers/run.sh          5,000 and 50,000 events
#        PEERS_PYTHON_50K=1 ... run.sh           also python on 50,000 (slow)
#
# Needs go, node + npm (network for npm once), and a python3 that can
# import recurring_ical_events. Nothing is installed into the repository:
# ical.js goes to a temporary directory that is removed at the end.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM

from=2026-01-01T00:00:00Z
to=2027-01-01T00:00:00Z
zone=Europe/Berlin

echo "== generating calendars in $work"
(cd "$repo" && CALPRESENCE_BENCH_DIR="$work" go test -count=1 -run '^TestWriteBenchCalendars$' ./calendar >/dev/null)
ls -l "$work"/*.ics

echo "== calpresence (go test -bench, one year of parse+expand)"
(cd "$repo" && go test -run '^$' -bench 'ParseExpand(5k|50k)$' -benchtime 3x -count 1 ./calendar | grep -E '^Benchmark')

echo "== ical.js 2.2.1"
if command -v npm >/dev/null 2>&1; then
	(cd "$work" && npm init -y >/dev/null && npm install --silent --no-audit --no-fund ical.js@2.2.1 >/dev/null)
	cp "$here/icaljs.mjs" "$work/"
	# ical.js holds the whole jCal tree: 50,000 events need more than
	# node's default heap.
	for n in 5000 50000; do
		(cd "$work" && node --max-old-space-size="${PEERS_NODE_HEAP_MB:-8192}" icaljs.mjs "bench-$n.ics" "$from" "$to") ||
			echo "ical.js failed on bench-$n.ics"
	done
else
	echo "npm not found: skipped"
fi

echo "== python3 recurring-ical-events"
py=""
for cand in python3 /usr/bin/python3; do
	if "$cand" -c 'import recurring_ical_events' 2>/dev/null; then py=$cand; break; fi
done
if [ -z "$py" ]; then
	echo "recurring_ical_events not importable: skipped (apt-get install python3-recurring-ical-events)"
else
	sizes=5000
	[ "${PEERS_PYTHON_50K:-}" = 1 ] && sizes="5000 50000"
	for n in $sizes; do
		"$py" "$here/recurring.py" "$work/bench-$n.ics" "$zone" "$from" "$to" ||
			echo "recurring-ical-events failed on bench-$n.ics"
	done
fi
