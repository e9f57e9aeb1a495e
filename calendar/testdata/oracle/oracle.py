#!/usr/bin/env python3
"""Expand ICS files with python3-recurring-ical-events, the oracle of
calendar's TestOracle.

usage: oracle.py ZONE FROM TO FILE...   (FROM/TO: RFC 3339 instants)

Prints one JSON object per file: {"file": ..., "occurrences": [...]} or
{"file": ..., "error": ...}. Each occurrence has uid, start, end (RFC 3339
instants in UTC) and status. Floating times and dates are read in ZONE.
"""
import datetime
import json
import sys

import icalendar
import pytz
import recurring_ical_events


def instant(value, zone, end_of=False):
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = zone.localize(value, is_dst=True)
        return value.astimezone(pytz.utc)
    # a date: midnight in the user's zone
    return zone.localize(datetime.datetime(value.year, value.month, value.day), is_dst=True).astimezone(pytz.utc)


def main():
    zone = pytz.timezone(sys.argv[1])
    start = datetime.datetime.fromisoformat(sys.argv[2].replace("Z", "+00:00"))
    stop = datetime.datetime.fromisoformat(sys.argv[3].replace("Z", "+00:00"))
    for path in sys.argv[4:]:
        try:
            with open(path, "rb") as f:
                data = f.read()
            # icalendar 4.0.3 cannot read a UTF-8 byte order mark; the BOM is
            # a parsing matter that calendar's own tests cover, so the
            # oracle still gets to check the expansion.
            data = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
            # Several VCALENDAR objects in one file (concatenated feeds):
            # icalendar reads them only as a list; the oracle expands the
            # union of their components.
            cals = icalendar.Calendar.from_ical(data, multiple=True)
            cal = cals[0]
            for other in cals[1:]:
                for sub in other.subcomponents:
                    cal.add_component(sub)
            events = recurring_ical_events.of(cal).between(start, stop)
            out = []
            for ev in events:
                s = ev["DTSTART"].dt
                if "DTEND" in ev:
                    e = ev["DTEND"].dt
                elif "DURATION" in ev:
                    e = s + ev["DURATION"].dt
                elif isinstance(s, datetime.datetime):
                    e = s
                else:
                    e = s + datetime.timedelta(days=1)  # RFC 5545 §3.6.1
                out.append({
                    "uid": str(ev.get("UID", "")),
                    "start": instant(s, zone).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "end": instant(e, zone).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "status": str(ev.get("STATUS", "")).lower(),
                })
            print(json.dumps({"file": path, "occurrences": out}))
        except Exception as exc:  # report, let the test decide
            print(json.dumps({"file": path, "error": "%s: %s" % (type(exc).__name__, exc)}))


if __name__ == "__main__":
    main()
