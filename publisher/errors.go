package publisher

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/calpresence/calpresence/publisher/locate"
)

// explain puts a failed request to target t, whose answer was awaited for
// at most timeout, in our words: which server, over what, what went wrong
// and what to check. The cause stays wrapped for errors.Is and errors.As;
// nil comes back as it is.
func explain(t locate.Target, timeout time.Duration, err error) error {
	if err == nil {
		return err
	}
	var (
		unknownCA x509.UnknownAuthorityError
		hostname  x509.HostnameError
		invalid   x509.CertificateInvalidError
		verify    *tls.CertificateVerificationError
		record    tls.RecordHeaderError
		ne        net.Error
	)
	var why string
	switch {
	case errors.As(err, &unknownCA):
		why = "TLS: the server's certificate is signed by an authority we do not trust (give its CA in ca_file)"
	case errors.As(err, &hostname):
		why = "TLS: the server's certificate is not valid for " + hostname.Host
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
		why = "TLS: the server's certificate has expired or is not valid yet (is the clock right?)"
	case errors.As(err, &invalid), errors.As(err, &verify):
		why = "TLS: the server's certificate was refused"
	case errors.As(err, &record):
		why = "TLS handshake failed: the server does not speak TLS on this port"
	case errors.Is(err, syscall.ECONNREFUSED):
		why = "connection refused (is the presence server running, and listening there?)"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		why = "the server closed the connection before answering"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, sip.ErrTransactionTimeout), errors.As(err, &ne) && ne.Timeout():
		why = fmt.Sprintf("no answer within %s (is the presence server running, and is the address right?)", timeout)
	case errors.Is(err, sip.ErrTransactionTransport):
		why = "the request could not be sent"
	}
	where := t.Addr + "/" + strings.ToLower(t.Transport)
	if why == "" {
		return fmt.Errorf("to %s: %w", where, err)
	}
	return fmt.Errorf("to %s: %s: %w", where, why, err)
}
