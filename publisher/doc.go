// Package publisher is the last step of calpresence's flow: it publishes a
// user's presence to a SIP presence server with PUBLISH (RFC 3903).
//
// A Publisher follows a timeline of documents, each with its start and end,
// and owns the timing of publications: it publishes each document when it
// starts, refreshes the publication before it expires, modifies it at each
// boundary and removes it on shutdown. It knows nothing of rules or
// calendars: documents are opaque bodies to it.
//
// Per RFC 3903 it keeps one entity tag per user and one request in flight;
// a document that changes while a request is in flight is sent once that
// request is answered, only in its latest version; an unchanged document is
// never re-sent, a refresh (SIP-If-Match, no body) keeps it alive. The
// lifetime it asks for ends Options.Grace after the current document stops
// being in force (capped by Options.Expires, at least 60s), so that a dead
// agent's state disappears soon after. The publication never lapses while
// its document is in force: the modification at the boundary stands in for
// a refresh only when the lifetime ends comfortably after the boundary;
// otherwise a refresh goes out well before the expiry, never just before
// the boundary.
// 412 publishes afresh, 423 raises Expires to Min-Expires, 401/407 answer
// with digest credentials (RFC 7616: SHA-256 or MD5, qop=auth) which are
// then sent pre-emptively with the same nonce and an incrementing nonce
// count, so a steady state costs one round trip per PUBLISH. Other failures
// back off exponentially with jitter, honouring Retry-After.
//
// The server is located per RFC 3263 (NAPTR, SRV by priority and weight,
// A/AAAA; see package locate) from Options.Proxy or the AOR's domain,
// failing over on timeouts and 503. A request goes over TCP instead of UDP
// only when its message, as it goes on the wire, exceeds RFC 3261
// §18.1.1's 1300 bytes.
//
// One Client (a sipgo user agent) serves any number of Publishers; see the
// Example, which runs against the scripted Doer of package publishertest.
package publisher
