#!/usr/bin/env python3
"""Parse and expand one ICS file over [FROM, TO) with recurring-ical-events,
timing it. usage: recurring.py FILE ZONE FROM TO"""
import datetime
import sys
import time

import icalendar
import pytz
import recurring_ical_events

path, zone, start, stop = sys.argv[1:5]
zone = pytz.timezone(zone)
start = datetime.datetime.fromisoformat(start.replace("Z", "+00:00"))
stop = datetime.datetime.fromisoformat(stop.replace("Z", "+00:00"))
with open(path, "rb") as f:
    data = f.read()
t0 = time.perf_counter()
cal = icalendar.Calendar.from_ical(data)
events = recurring_ical_events.of(cal).between(start, stop)
secs = time.perf_counter() - t0
print("recurring-ical-events %s  %s: %.2f s, %d occurrences" % (
    getattr(recurring_ical_events, "__version__", "2.0.x"), path, secs, len(events)))
