// Package rules is the second step of calpresence's flow: it decides, from
// a user's occurrences and the mapping rules an admin wrote in TOML, what
// the user's presence is at every moment of a window.
//
// A rules file is a list of [[rule]] tables, each a [rule.match] (every
// condition written must hold: regular expressions on summary, location,
// description, calendar and categories; all-day, free, status, class,
// reply, attendees, organizer, duration, weekdays, time of day) and either
// ignore = true or a [rule.presence] (basic status, RPID activities in
// publishing order, a note template, mood, place type, privacy, sphere,
// and blf: whether BLF lamps show busy, published as RFC 4235 dialog-info).
// The first rule an event fits decides it. Overlapping events rank by
// priority, then by their rule's place in the file, then the one that
// started last wins. [default] is the presence when no event applies and
// [working_hours] an optional presence outside them. rules.example.toml at
// the repository root documents every key for admins.
//
// Evaluation is a pure function of (occurrences, rules, window): the result
// is a timeline of contiguous segments, each carrying the PIDF/RPID state
// (RFC 3863, RFC 4480) to publish during it. Private and confidential
// events' text never reaches a note unless a rule opts in with
// show_private = true. The package knows nothing of where occurrences come
// from or how presence is published.
package rules
