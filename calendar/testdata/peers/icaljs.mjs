// Parse and expand one ICS file over [FROM, TO) with ical.js, timing it.
// usage: node icaljs.mjs FILE FROM TO   (run where ical.js is installed)
import fs from 'node:fs';
import ICAL from 'ical.js';

const [file, fromArg, toArg] = process.argv.slice(2);
const data = fs.readFileSync(file, 'utf8');
const t0 = performance.now();
const root = new ICAL.Component(ICAL.parse(data));
for (const tz of root.getAllSubcomponents('vtimezone')) {
  ICAL.TimezoneService.register(tz);
}
const from = ICAL.Time.fromJSDate(new Date(fromArg), true);
const to = ICAL.Time.fromJSDate(new Date(toArg), true);
const masters = new Map();
const exceptions = [];
for (const v of root.getAllSubcomponents('vevent')) {
  const ev = new ICAL.Event(v);
  if (ev.isRecurrenceException()) exceptions.push(ev);
  else masters.set(ev.uid, ev);
}
for (const ex of exceptions) {
  const m = masters.get(ex.uid);
  if (m) m.relateException(ex);
}
let count = 0;
for (const ev of masters.values()) {
  if (!ev.isRecurring()) {
    if (ev.startDate.compare(to) < 0 && ev.endDate.compare(from) > 0) count++;
    continue;
  }
  const it = ev.iterator();
  for (let next = it.next(); next && next.compare(to) < 0; next = it.next()) {
    const d = ev.getOccurrenceDetails(next);
    if (d.endDate.compare(from) > 0) count++;
  }
}
const secs = (performance.now() - t0) / 1000;
console.log(`ical.js 2.2.1  ${file}: ${secs.toFixed(2)} s, ${count} occurrences`);
