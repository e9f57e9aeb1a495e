package httpx

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
)

// Explain puts a transport error of net/http (a timeout, a refused or
// reset connection, a name that does not resolve, a TLS failure) in our
// words, with a hint at what to check, and wraps it with %w so that
// errors.Is and errors.As still find the cause. Other errors, nil and
// context.Canceled (a shutdown, not a fault) come back as they are. The
// caller adds what was being fetched; Explain names no URL.
func Explain(err error) error {
	if err == nil || errors.Is(err, context.Canceled) {
		return err
	}
	if why := explain(err); why != "" {
		return fmt.Errorf("%s: %w", why, err)
	}
	return err
}

func explain(err error) string {
	var (
		unknownCA x509.UnknownAuthorityError
		hostname  x509.HostnameError
		invalid   x509.CertificateInvalidError
		verify    *tls.CertificateVerificationError
		record    tls.RecordHeaderError
		dns       *net.DNSError
		ne        net.Error
	)
	switch {
	case errors.As(err, &unknownCA):
		return "TLS: the server's certificate is signed by an authority we do not trust (give its CA in ca_file)"
	case errors.As(err, &hostname):
		return "TLS: the server's certificate is not valid for " + hostname.Host + " (wrong host name in the URL?)"
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
		return "TLS: the server's certificate has expired or is not valid yet (is the clock right?)"
	case errors.As(err, &invalid), errors.As(err, &verify):
		return "TLS: the server's certificate was refused"
	case errors.As(err, &record):
		return "TLS handshake failed: the server does not speak TLS on this port (http:// rather than https://?)"
	case errors.As(err, &dns):
		if dns.IsNotFound {
			return "host " + dns.Name + " not found (is the name right?)"
		}
		return "cannot resolve host " + dns.Name + " (is DNS reachable?)"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused (is the server running, and is the port right?)"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return "the server closed the connection before answering"
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return "no route to the server (is the network up?)"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "the server did not answer in time"
	}
	return ""
}
