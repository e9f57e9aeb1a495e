package publisher

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// selfSigned returns a certificate for 127.0.0.1 and the PEM file of its
// CA (itself).
func selfSigned(t *testing.T) (tls.Certificate, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "presence.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"presence.test"},
		IsCA: true, BasicConstraintsValid: true,
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, ca
}

func TestTLS(t *testing.T) {
	cert, caFile := selfSigned(t)
	ua, err := sipgo.NewUA()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ua.Close() })
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 10)
	srv.OnRequest(sip.PUBLISH, func(req *sip.Request, tx sip.ServerTransaction) {
		got <- req.Transport()
		tx.Respond(ok(req, 1))
	})
	l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go srv.ServeTLS(l)
	proxy := "sips:" + l.Addr().String()

	t.Run("trusted CA file", func(t *testing.T) {
		c, err := NewClient(ClientOptions{CAFile: caFile})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		p, stop := runPublisher(t, c, Options{AOR: "sips:alice@presence.test", Proxy: proxy})
		p.SetTimeline([]Entry{{Start: time.Now().Add(-time.Minute), Body: []byte("A")}})
		select {
		case tp := <-got:
			if tp != "TLS" {
				t.Errorf("PUBLISH arrived over %s, want TLS", tp)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no PUBLISH over TLS within 5s; LastError %v", p.LastError())
		}
		if err := stop(); err != nil {
			t.Errorf("Run() = %v, want nil", err)
		}
	})
	t.Run("unknown CA is refused", func(t *testing.T) {
		c := newClient(t) // system roots only
		p, _ := runPublisher(t, c, Options{AOR: "sips:alice@presence.test", Proxy: proxy, Timeout: time.Second})
		p.SetTimeline([]Entry{{Start: time.Now().Add(-time.Minute), Body: []byte("A")}})
		waitResult(t, p, 5*time.Second, func() bool { return p.LastError() != nil })
		var uerr x509.UnknownAuthorityError
		if err := p.LastError(); !errors.As(err, &uerr) {
			t.Errorf("LastError() = %v, want x509.UnknownAuthorityError", err)
		}
	})
	if _, err := NewClient(ClientOptions{CAFile: filepath.Join(t.TempDir(), "missing.pem")}); err == nil {
		t.Errorf("NewClient(missing CA file) = nil error, want one")
	}
}

// The User-Agent a Client is built with reaches the wire unless the
// Publisher sets its own.
func TestUserAgent(t *testing.T) {
	ua, err := sipgo.NewUA()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ua.Close() })
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 10)
	srv.OnRequest(sip.PUBLISH, func(req *sip.Request, tx sip.ServerTransaction) {
		if len(req.Body()) > 0 { // not a removal of the previous case
			got <- hdr(req, "User-Agent")
		}
		tx.Respond(ok(req, 1))
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go srv.ServeTCP(l)
	c, err := NewClient(ClientOptions{UserAgent: "calpresence/1.2.3"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, tc := range []struct{ opt, want string }{{"", "calpresence/1.2.3"}, {"other/1", "other/1"}} {
		p, stop := runPublisher(t, c, Options{AOR: "sip:alice@example.com", Proxy: "sip:" + l.Addr().String() + ";transport=tcp", UserAgent: tc.opt})
		p.SetTimeline([]Entry{{Start: time.Now().Add(-time.Minute), Body: []byte("A")}})
		select {
		case v := <-got:
			if v != tc.want {
				t.Errorf("Options.UserAgent %q: PUBLISH has User-Agent %q, want %q", tc.opt, v, tc.want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no PUBLISH within 5s; LastError %v", p.LastError())
		}
		stop()
	}
}
