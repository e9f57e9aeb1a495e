// Package dialoginfo implements the dialog information format of the SIP
// INVITE-initiated dialog event package (RFC 4235): documents of
// Content-Type application/dialog-info+xml, their XML encoding and
// decoding, and a timeline of the documents that light a phone's BLF
// (busy lamp field) key while its user is in a meeting.
//
// calpresence publishes these documents (PUBLISH with Event: dialog, RFC
// 3903) beside its PIDF presence, so that desk phones whose BLF keys
// subscribe to the dialog package — not to presence — show the lamp red
// during meetings. It publishes a dialog of its own, with an id that is
// stable per user and distinct from the phone's own dialogs; the presence
// server aggregates both (Kamailio's presence_dialoginfo does).
//
// It is a leaf of calpresence: it depends on no other package of the
// project. Its Entry has the shape of publisher.Entry, so the agent
// converts with publisher.Entry(e).
package dialoginfo
