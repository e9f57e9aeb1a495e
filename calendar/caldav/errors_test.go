package caldav_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/calpresence/calpresence/calendar/caldav"
)

// TestErrorWording: transport failures read in our words, name the
// calendar and the request, and keep their cause for errors.Is.
func TestErrorWording(t *testing.T) {
	block := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-block }))
	defer slow.Close()
	defer close(block)
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer tlsSrv.Close()
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "oops", http.StatusInternalServerError)
	}))
	defer down.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + ln.Addr().String() + "/dav/"
	ln.Close()

	tests := []struct {
		name, url string
		mod       func(*caldav.Options)
		want      []string // in this order
		is        error
	}{
		{"refused", refused, nil,
			[]string{`caldav "work": `, "PROPFIND " + refused + ": connection refused (is the server running, and is the port right?): dial tcp"}, syscall.ECONNREFUSED},
		{"timeout", slow.URL + "/dav/", func(o *caldav.Options) { o.Timeout = 50 * time.Millisecond },
			[]string{`caldav "work": `, "PROPFIND " + slow.URL + "/dav/: the server did not answer within 50ms: "}, context.DeadlineExceeded},
		{"unknown authority", tlsSrv.URL + "/dav/", nil,
			[]string{`caldav "work": `, "PROPFIND " + tlsSrv.URL + "/dav/: TLS: the server's certificate is signed by an authority we do not trust (give its CA in ca_file): tls: failed to verify certificate: x509:"}, nil},
		{"5xx", down.URL + "/dav/", nil,
			[]string{`caldav "work": `, "PROPFIND " + down.URL + "/dav/: 500 Internal Server Error"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSource(t, tt.url, tt.mod)
			_, _, err := s.Fetch(context.Background())
			if err == nil {
				t.Fatal("Fetch() = nil error")
			}
			t.Log(err)
			msg := err.Error()
			for _, w := range tt.want {
				i := strings.Index(msg, w)
				if i < 0 {
					t.Fatalf("Fetch() = %q\nwant it to hold %q", err, w)
				}
				msg = msg[i+len(w):]
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.is)
			}
		})
	}
}
