// Package publisher is the last step of calpresence's flow: it publishes a
// user's presence to a SIP presence server with PUBLISH (RFC 3903).
//
// A Publisher follows a timeline of documents, each with its start and end,
// and owns the timing of publications: it publishes each document when it
// starts, refreshes the publication before it expires, modifies it at each
// boundary and removes it on shutdown. It knows nothing of rules or
// calendars: documents are opaque bodies to it.
package publisher
