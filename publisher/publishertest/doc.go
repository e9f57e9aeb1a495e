// Package publishertest provides a scripted, recording [publisher.Doer] for
// tests of code that publishes presence, in the spirit of sipgo's siptest:
// no network, every request recorded with the time it was sent, every
// answer chosen by a script.
//
// A [Doer] answers each PUBLISH through its Handler (by default 200 OK with
// a fresh SIP-ETag and the requested Expires, as RFC 3903 §6 servers do).
// Handlers are built from the response constructors [OK], [Status],
// [Challenge], [PreconditionFailed], [IntervalTooBrief] and [Unavailable],
// or [ErrTransport] for a failed transport, and chained per request with
// [Sequence]. Under testing/synctest, give Doer.Now the bubble's clock (the
// default time.Now already is) and [Doer.Wait] blocks durably.
package publishertest
