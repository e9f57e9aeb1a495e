package ics

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

	"github.com/calpresence/calpresence/calendar"
)

// TestFetchErrorWording: transport failures read in our words, name the
// feed, and keep their cause for errors.Is.
func TestFetchErrorWording(t *testing.T) {
	zone, _ := time.LoadLocation("Europe/Berlin")
	block := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-block }))
	defer slow.Close()
	defer close(block)
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer tlsSrv.Close()
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "maintenance", http.StatusServiceUnavailable)
	}))
	defer down.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + ln.Addr().String() + "/a.ics"
	ln.Close()

	tests := []struct {
		name, url string
		client    *http.Client
		want      string // prefix
		is        error
	}{
		{"refused", refused, nil,
			"ics " + refused + ": connection refused (is the server running, and is the port right?): dial tcp", syscall.ECONNREFUSED},
		{"timeout", slow.URL + "/a.ics", &http.Client{Timeout: 50 * time.Millisecond},
			"ics " + slow.URL + "/a.ics: the server did not answer in time: ", nil},
		{"unknown authority", tlsSrv.URL + "/a.ics", nil,
			"ics " + tlsSrv.URL + "/a.ics: TLS: the server's certificate is signed by an authority we do not trust (give its CA in ca_file): tls: failed to verify certificate: x509:", nil},
		{"5xx", down.URL + "/a.ics", nil,
			"ics " + down.URL + "/a.ics: server answered HTTP 503 Service Unavailable", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(Options{URL: tt.url, HTTPClient: tt.client, Parse: calendar.ParseOptions{Zone: zone}})
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = s.Fetch(context.Background())
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("Fetch() = %v\nwant %q…", err, tt.want)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.is)
			}
			var fe *FetchError
			if !errors.As(err, &fe) || fe.Input {
				t.Errorf("Fetch() = %#v, want a *FetchError not blamed on the input", err)
			}
		})
	}
}
