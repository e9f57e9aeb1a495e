#!/bin/sh
# Whole-process benchmark of `calpresence events -json` against its peers,
# all in the same run on the same file: ical.js 2.2.1 (npm) and
# python3-recurring-ical-events (Debian). Each command runs RUNS times
# (default 5); the median wall time of the whole process (start-up, read,
# parse, expand and, for calpresence, writing the JSON to /dev/null) is
# reported, and the peers' medians as multiples of calpresence's.
#
# usage: calendar/testdata/peers/bench.sh            (or: make bench-peers)
#        BENCH_EVENTS=50000 ... bench.sh             another generated size
#        RUNS=9 ... bench.sh
#
# Installs what is missing: ical.js with npm into a cache directory
# (${XDG_CACHE_HOME:-$HOME/.cache}/calpresence-peers, kept between runs;
# nothing goes into the repository) and the Debian package
# python3-recurring-ical-events with apt-get (as root, or with sudo).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
runs=${RUNS:-5}
events=${BENCH_EVENTS:-5000}
from=2026-01-01T00:00:00Z
to=2027-01-01T00:00:00Z
zone=Europe/Berlin
cache=${XDG_CACHE_HOME:-$HOME/.cache}/calpresence-peers
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM

echo "== $events events, $from to $to, $zone; median of $runs whole-process runs"
(cd "$repo" && CALPRESENCE_BENCH_DIR="$work" go test -count=1 -run '^TestWriteBenchCalendars$' ./calendar >/dev/null)
file="$work/bench-$events.ics"
if [ ! -f "$file" ]; then
	echo "no generated file for $events events (TestWriteBenchCalendars writes 5000 and 50000)" >&2
	exit 2
fi
(cd "$repo" && go build -o "$work/calpresence" ./cmd/calpresence)

if [ ! -f "$cache/node_modules/ical.js/package.json" ]; then
	echo "== installing ical.js 2.2.1 into $cache"
	mkdir -p "$cache"
	(cd "$cache" && { [ -f package.json ] || npm init -y >/dev/null; } &&
		npm install --silent --no-audit --no-fund ical.js@2.2.1 >/dev/null)
fi
cp "$here/icaljs.mjs" "$cache/"

py=/usr/bin/python3
if ! "$py" -c 'import recurring_ical_events' 2>/dev/null; then
	echo "== installing python3-recurring-ical-events"
	sudo=""
	[ "$(id -u)" = 0 ] || sudo=sudo
	$sudo apt-get install -y -q python3-recurring-ical-events >/dev/null
fi

# median RUNS CMD...: runs CMD RUNS times, prints the median wall time in
# seconds; CMD's standard output goes to /dev/null, its last line of
# standard error (if it failed) to ours.
median() {
	n=$1
	shift
	i=0
	: >"$work/times"
	while [ "$i" -lt "$n" ]; do
		t0=$(date +%s%N)
		if ! "$@" >/dev/null 2>"$work/err"; then
			tail -n 1 "$work/err" >&2
			echo "failed: $*" >&2
			return 1
		fi
		t1=$(date +%s%N)
		echo $(((t1 - t0) / 1000)) >>"$work/times"
		i=$((i + 1))
	done
	sort -n "$work/times" | awk -v n="$n" '{ t[NR] = $1 } END { printf "%.3f\n", t[int((n + 1) / 2)] / 1e6 }'
}

go_s=$(median "$runs" "$work/calpresence" events -ics "$file" -from "$from" -to "$to" -tz "$zone" -json)
occ=$("$work/calpresence" events -ics "$file" -from "$from" -to "$to" -tz "$zone" -json | grep -c '"uid"')
js_s=$(cd "$cache" && median "$runs" node --max-old-space-size="${PEERS_NODE_HEAP_MB:-8192}" icaljs.mjs "$file" "$from" "$to") || js_s=""
py_s=$(median "$runs" "$py" "$here/recurring.py" "$file" "$zone" "$from" "$to") || py_s=""

ratio() { [ -n "$1" ] && awk -v a="$1" -v b="$go_s" 'BEGIN { printf "%.1fx", a / b }' || echo "-"; }
printf '%-34s %10s %8s\n' "tool" "median s" "vs go"
printf '%-34s %10s %8s\n' "calpresence events -json ($occ occ.)" "$go_s" "1x"
printf '%-34s %10s %8s\n' "ical.js 2.2.1 (parse+expand)" "${js_s:--}" "$(ratio "$js_s")"
printf '%-34s %10s %8s\n' "recurring-ical-events (parse+exp.)" "${py_s:--}" "$(ratio "$py_s")"
