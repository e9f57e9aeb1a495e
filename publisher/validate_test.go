package publisher

import (
	"context"
	"testing"

	"github.com/emiago/sipgo/sip"
)

func TestValidate(t *testing.T) {
	pw := func(context.Context) (string, error) { return "", nil }
	for _, tc := range []struct {
		opts Options
		ok   bool
	}{
		{Options{AOR: "sip:alice@example.com"}, true},
		{Options{AOR: "sips:alice@example.com", Proxy: "sip:10.0.0.1:5060;transport=tcp"}, true},
		{Options{AOR: "sip:alice@example.com", Username: "alice", Password: pw}, true},
		{Options{AOR: "alice@example.com"}, false},
		{Options{AOR: "sip:example.com"}, false},
		{Options{AOR: "tel:+4930123456"}, false},
		{Options{AOR: "sip:alice@example.com", Proxy: "http://pbx"}, false},
		{Options{AOR: "sip:alice@example.com", Proxy: "sip:pbx;transport=sctp"}, false},
		{Options{AOR: "sip:alice@example.com", Username: "alice"}, false},
	} {
		if err := tc.opts.Validate(); (err == nil) != tc.ok {
			t.Errorf("Options{AOR: %q, Proxy: %q, Username: %q}.Validate() = %v, want ok=%v", tc.opts.AOR, tc.opts.Proxy, tc.opts.Username, err, tc.ok)
		}
	}
}

// FuzzPickChallenge feeds arbitrary WWW-Authenticate values to the
// challenge parser: it must never panic, and what it accepts must be a
// challenge it can answer.
func FuzzPickChallenge(f *testing.F) {
	for _, s := range []string{
		`Digest realm="example.com", nonce="abc", qop="auth", algorithm=MD5`,
		`Digest realm="example.com", nonce="abc", qop="auth,auth-int", algorithm=SHA-256, stale=true`,
		`Digest realm="x", nonce="n"`,
		`Basic realm="x"`,
		`Digest realm="x", nonce="n", qop="auth-int"`,
		`Digest realm="x", nonce="n", algorithm=SHA-512-256, qop=" auth"`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		req := sip.NewRequest(sip.PUBLISH, sip.Uri{Scheme: "sip", User: "a", Host: "b"})
		res := sip.NewResponseFromRequest(req, 401, "Unauthorized", nil)
		res.AppendHeader(sip.NewHeader("WWW-Authenticate", v))
		chal, header, err := pickChallenge(res)
		if err != nil {
			return
		}
		if header != "Authorization" || algorithmRank(chal.Algorithm) == 0 || (len(chal.QOP) > 0 && !chal.SupportsQOP("auth")) {
			t.Fatalf("pickChallenge(%q) = %+v, %q: not a challenge it can answer", v, chal, header)
		}
		d := &digestState{}
		if err := d.accept(context.Background(), chal, header, "alice", func(context.Context) (string, error) { return "pw", nil }); err != nil {
			t.Fatalf("accept(%q): %v", v, err)
		}
		if err := d.apply(req, "alice"); err != nil {
			t.Fatalf("apply(%q): %v", v, err)
		}
	})
}
