// Package rules is the second step of calpresence's flow: it decides, from
// a user's occurrences and the mapping rules an admin wrote in TOML, what
// the user's presence is at every moment of a window.
//
// Evaluation is a pure function of (occurrences, rules, window): the result
// is a timeline of contiguous segments, each carrying the PIDF/RPID state
// (RFC 3863, RFC 4480) to publish during it. The package knows nothing of
// where occurrences come from or how presence is published.
package rules
