// Package capool reads a ca_file: the extra CA certificates that the SIP
// client (publisher) and the calendar sources' HTTP client trust besides the
// system's. It is the one reader, so that `calpresence check` refuses exactly
// what the clients would.
package capool

import (
	"crypto/x509"
	"fmt"
	"os"
)

// Error is a ca_file that cannot be used.
type Error struct {
	File   string
	Reason string // "not a readable file" or "no PEM certificates in it"
	Err    error  // the file system's error, if any
}

func (e *Error) Error() string { return fmt.Sprintf("ca_file %s: %s", e.File, e.Reason) }

// Unwrap returns the file system's error.
func (e *Error) Unwrap() error { return e.Err }

// Load returns the system's roots plus the certificates of the PEM file.
func Load(file string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, &Error{File: file, Reason: "not a readable file", Err: err}
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, &Error{File: file, Reason: "no PEM certificates in it"}
	}
	return pool, nil
}

// Check reports what Load would refuse, without keeping the pool.
func Check(file string) error {
	_, err := Load(file)
	return err
}
