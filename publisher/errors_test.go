package publisher

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/calpresence/calpresence/publisher/publishertest"
)

// TestErrorWording: sipgo's and the network's errors read in our words,
// name the server and transport, and keep their cause for errors.Is.
func TestErrorWording(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, refused := net.Dial("tcp", addr)
	if refused == nil {
		t.Skip("a closed port accepted a connection")
	}

	tests := []struct {
		name string
		err  error
		want string
		is   error
	}{
		{"transaction timeout", fmt.Errorf("timer_b fired. %w", sip.ErrTransactionTimeout),
			"to 127.0.0.1:5060/udp: no answer within 5s (is the presence server running, and is the address right?): timer_b fired. transaction timeout", sip.ErrTransactionTimeout},
		{"deadline", context.DeadlineExceeded,
			"to 127.0.0.1:5060/udp: no answer within 5s (is the presence server running, and is the address right?): context deadline exceeded", context.DeadlineExceeded},
		{"refused", fmt.Errorf("%w. %w", refused, sip.ErrTransactionTransport),
			"to 127.0.0.1:5060/udp: connection refused (is the presence server running, and listening there?): dial tcp " + addr, syscall.ECONNREFUSED},
		{"unknown authority", x509.UnknownAuthorityError{},
			"to 127.0.0.1:5060/udp: TLS: the server's certificate is signed by an authority we do not trust (give its CA in ca_file): x509:", nil},
		{"other transport", fmt.Errorf("write: broken. %w", sip.ErrTransactionTransport),
			"to 127.0.0.1:5060/udp: the request could not be sent: write: broken. transaction transport error", sip.ErrTransactionTransport},
		{"unknown", errors.New("something else"),
			"to 127.0.0.1:5060/udp: something else", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &publishertest.Doer{Handler: func(*sip.Request, int) (*sip.Response, error) { return nil, tt.err }}
			p := New(d, Options{AOR: "sip:alice@example.com", Proxy: "sip:127.0.0.1:5060;transport=udp", Timeout: 5 * time.Second})
			_, err := p.Ping(context.Background())
			if want := "sip options " + tt.want; err == nil || !strings.HasPrefix(err.Error(), want) {
				t.Errorf("Ping() = %v\nwant %q…", err, want)
			}
			if !errors.Is(err, tt.err) || tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("Ping() = %v, which errors.Is no longer finds the cause in", err)
			}
		})
	}
}

// TestPublishErrorWording: a PUBLISH no target answered reads in our
// words too, with the AOR, the last target and the bound waited for.
func TestPublishErrorWording(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := &publishertest.Doer{Handler: func(*sip.Request, int) (*sip.Response, error) {
			return nil, fmt.Errorf("timer_e fired. %w", sip.ErrTransactionTimeout)
		}}
		p, cancel, done := start(t, d, Options{Timeout: 5 * time.Second})
		p.SetTimeline([]Entry{{Start: time.Now().Add(-time.Minute), Body: []byte("A")}})
		synctest.Wait()
		const want = "sip publish for sip:alice@example.com: to 127.0.0.1:5060/udp: no answer within 5s (is the presence server running, and is the address right?): timer_e fired. transaction timeout"
		if err := p.LastError(); err == nil || err.Error() != want || !errors.Is(err, sip.ErrTransactionTimeout) {
			t.Errorf("LastError() = %v\nwant %q", err, want)
		}
		cancel()
		<-done
	})
}
