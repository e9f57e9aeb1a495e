package locate

import (
	"context"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/miekg/dns"
)

// startDNS serves zone (records in master-file syntax) on 127.0.0.1 UDP and
// returns its address.
func startDNS(t *testing.T, zone ...string) string {
	t.Helper()
	var rrs []dns.RR
	for _, z := range zone {
		rr, err := dns.NewRR(z)
		if err != nil {
			t.Fatalf("dns.NewRR(%q): %v", z, err)
		}
		rrs = append(rrs, rr)
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mux := dns.NewServeMux()
	mux.HandleFunc(".", func(w dns.ResponseWriter, q *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(q)
		found := false
		for _, rr := range rrs {
			h := rr.Header()
			if strings.EqualFold(h.Name, q.Question[0].Name) {
				found = true
				if h.Rrtype == q.Question[0].Qtype {
					m.Answer = append(m.Answer, rr)
				}
			}
		}
		if !found {
			m.Rcode = dns.RcodeNameError
		}
		w.WriteMsg(m)
	})
	srv := &dns.Server{PacketConn: pc, Handler: mux}
	started := make(chan struct{})
	srv.NotifyStartedFunc = func() { close(started) }
	go srv.ActivateAndServe()
	<-started
	t.Cleanup(func() { srv.Shutdown() })
	return pc.LocalAddr().String()
}

func uri(t *testing.T, s string) sip.Uri {
	t.Helper()
	var u sip.Uri
	if err := sip.ParseUri(s, &u); err != nil {
		t.Fatalf("ParseUri(%q): %v", s, err)
	}
	return u
}

func TestLocate(t *testing.T) {
	server := startDNS(t,
		// naptr.test: NAPTR prefers TCP over UDP; TLS not offered.
		`naptr.test. 60 IN NAPTR 10 50 "s" "SIP+D2U" "" _sip._udp.naptr.test.`,
		`naptr.test. 60 IN NAPTR 5 50 "s" "SIP+D2T" "" _sip._tcp.naptr.test.`,
		`_sip._tcp.naptr.test. 60 IN SRV 10 0 5070 pbx1.naptr.test.`,
		`_sip._udp.naptr.test. 60 IN SRV 10 0 5080 pbx1.naptr.test.`,
		`pbx1.naptr.test. 60 IN A 192.0.2.1`,
		`pbx1.naptr.test. 60 IN AAAA 2001:db8::1`,
		// srv.test: no NAPTR; priorities 10 and 20.
		`_sip._udp.srv.test. 60 IN SRV 20 0 5060 backup.srv.test.`,
		`_sip._udp.srv.test. 60 IN SRV 10 0 5060 primary.srv.test.`,
		`primary.srv.test. 60 IN A 192.0.2.10`,
		`backup.srv.test. 60 IN A 192.0.2.20`,
		`_sips._tcp.srv.test. 60 IN SRV 10 0 5061 tls.srv.test.`,
		`tls.srv.test. 60 IN A 192.0.2.30`,
		// plain.test: only A.
		`plain.test. 60 IN A 192.0.2.40`,
		// dot.test: SRV "." means no service.
		`_sip._tcp.dot.test. 60 IN SRV 0 0 0 .`,
		`dot.test. 60 IN A 192.0.2.50`,
	)
	r := &DNSResolver{Server: server, Timeout: time.Second}
	for _, tc := range []struct {
		uri  string
		want []string // "TRANSPORT addr"
	}{
		{"sip:alice@naptr.test", []string{"TCP 192.0.2.1:5070", "TCP [2001:db8::1]:5070", "UDP 192.0.2.1:5080", "UDP [2001:db8::1]:5080"}},
		{"sip:alice@srv.test", []string{"TLS 192.0.2.30:5061", "UDP 192.0.2.10:5060", "UDP 192.0.2.20:5060"}},
		{"sips:alice@srv.test", []string{"TLS 192.0.2.30:5061"}},
		{"sip:alice@srv.test;transport=udp", []string{"UDP 192.0.2.10:5060", "UDP 192.0.2.20:5060"}},
		{"sip:alice@plain.test", []string{"UDP 192.0.2.40:5060"}},
		{"sip:alice@plain.test;transport=tcp", []string{"TCP 192.0.2.40:5060"}},
		{"sips:alice@plain.test", []string{"TLS 192.0.2.40:5061"}},
		{"sip:pbx1.naptr.test:5099", []string{"UDP 192.0.2.1:5099", "UDP [2001:db8::1]:5099"}},
		{"sip:127.0.0.1:5070;transport=tcp", []string{"TCP 127.0.0.1:5070"}},
		{"sip:[::1]", []string{"UDP [::1]:5060"}},
		{"sip:alice@dot.test;transport=tcp", []string{"TCP 192.0.2.50:5060"}},
	} {
		ts, err := Targets(context.Background(), r, uri(t, tc.uri))
		if err != nil {
			t.Errorf("Targets(%s) error %v", tc.uri, err)
			continue
		}
		var got []string
		for _, x := range ts {
			got = append(got, x.Transport+" "+x.Addr)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("Targets(%s) = %q, want %q", tc.uri, got, tc.want)
		}
	}
	if _, err := Targets(context.Background(), r, uri(t, "sip:alice@missing.test")); err == nil {
		t.Errorf("Targets(sip:alice@missing.test) = nil error, want one")
	}
}

func TestOrderSRVWeights(t *testing.T) {
	srvs := []SRV{{Priority: 1, Weight: 90, Target: "heavy"}, {Priority: 1, Weight: 10, Target: "light"}, {Priority: 0, Weight: 0, Target: "first"}}
	heavyFirst := 0
	const n = 2000
	for range n {
		o := orderSRV(srvs)
		if o[0].Target != "first" || len(o) != 3 {
			t.Fatalf("orderSRV = %v, want priority 0 first", o)
		}
		if o[1].Target == "heavy" {
			heavyFirst++
		}
	}
	// Weight 90 of 100: first about 90% of the time.
	if heavyFirst < n*80/100 || heavyFirst > n*97/100 {
		t.Errorf("weight 90 vs 10 picked first %d of %d times, want about 90%%", heavyFirst, n)
	}
}
