// Package pidf implements the Presence Information Data Format (RFC 3863),
// its data model of persons, services and devices (RFC 4479) and the Rich
// Presence Extensions (RPID, RFC 4480): a model of presence documents and
// their XML encoding and decoding.
//
// It is a leaf of calpresence: it depends on no other package of the
// project.
package pidf
