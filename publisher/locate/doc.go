// Package locate finds where to send a SIP request per RFC 3263, "Locating
// SIP Servers": the transport (§4.1: an explicit transport parameter, else
// NAPTR, else SRV), then port and addresses (§4.2: SRV records ordered by
// priority and weighted at random within a priority per RFC 2782, else
// A/AAAA records on the default port). sips: URIs yield TLS targets only.
//
// sipgo resolves A records first and uses only the first SRV record, so the
// publisher locates the server itself with [Targets] and hands sipgo IP
// addresses, failing over along the returned list (RFC 3263 §4.3).
package locate
