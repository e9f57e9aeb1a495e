package httpx_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/calpresence/calpresence/internal/httpx"
)

// get fetches url with client and returns the transport error, without
// the *url.Error wrapper, as the calendar sources see it.
func get(t *testing.T, client *http.Client, url string) error {
	t.Helper()
	resp, err := client.Get(url)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("GET %s: no error", url)
	}
	return httpx.UnwrapURLError(err)
}

func TestExplain(t *testing.T) {
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer tlsSrv.Close()
	block := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-block }))
	defer slow.Close()
	defer close(block)
	hangup := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		c, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			c.Close()
		}
	}))
	defer hangup.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + ln.Addr().String() + "/"
	ln.Close()

	tests := []struct {
		name string
		err  func() error
		want string // prefix of the message
		is   error  // errors.Is must still find it
	}{
		{"unknown authority", func() error { return get(t, &http.Client{}, tlsSrv.URL) },
			"TLS: the server's certificate is signed by an authority we do not trust (give its CA in ca_file): tls: failed to verify certificate: x509:", nil},
		{"not TLS", func() error { return tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"} },
			"TLS handshake failed: the server does not speak TLS on this port (http:// rather than https://?): ", nil},
		{"refused", func() error { return get(t, &http.Client{}, refused) },
			"connection refused (is the server running, and is the port right?): dial tcp ", syscall.ECONNREFUSED},
		{"client timeout", func() error { return get(t, &http.Client{Timeout: 50 * time.Millisecond}, slow.URL) },
			"the server did not answer in time: ", nil},
		{"context deadline", func() error {
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, slow.URL, nil)
			_, err := http.DefaultClient.Do(req)
			return httpx.UnwrapURLError(err)
		}, "the server did not answer in time: context deadline exceeded", context.DeadlineExceeded},
		{"hang-up", func() error { return get(t, &http.Client{}, hangup.URL) },
			"the server closed the connection before answering: ", nil},
		{"no such host", func() error { return &net.DNSError{Err: "no such host", Name: "cal.example", IsNotFound: true} },
			"host cal.example not found (is the name right?): lookup cal.example: no such host", nil},
		{"hostname", func() error { return x509.HostnameError{Certificate: &x509.Certificate{}, Host: "cal.example"} },
			"TLS: the server's certificate is not valid for cal.example (wrong host name in the URL?): x509:", nil},
		{"expired", func() error { return x509.CertificateInvalidError{Reason: x509.Expired} },
			"TLS: the server's certificate has expired or is not valid yet (is the clock right?): x509:", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cause := tt.err()
			got := httpx.Explain(cause)
			if !strings.HasPrefix(got.Error(), tt.want) {
				t.Errorf("Explain:\n got %q\nwant %q…", got, tt.want)
			}
			if !errors.Is(got, cause) {
				t.Errorf("errors.Is(Explain(err), err) = false")
			}
			if tt.is != nil && !errors.Is(got, tt.is) {
				t.Errorf("errors.Is(%q, %v) = false", got, tt.is)
			}
		})
	}
}

func TestExplainLeavesOthers(t *testing.T) {
	for _, err := range []error{nil, context.Canceled, errors.New("gzip: invalid header")} {
		if got := httpx.Explain(err); got != err {
			t.Errorf("Explain(%v) = %v, want it unchanged", err, got)
		}
	}
}
