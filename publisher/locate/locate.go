package locate

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/miekg/dns"
)

// Target is one place a request can be sent: a transport and an address.
type Target struct {
	Transport string // "UDP", "TCP" or "TLS"
	Addr      string // "ip:port"
	Host      string // the name the address was found for (TLS server name)
}

// NAPTR is a NAPTR record (RFC 3403) as RFC 3263 §4.1 uses it.
type NAPTR struct {
	Order, Preference uint16
	Flags, Service    string
	Replacement       string
}

// SRV is an SRV record (RFC 2782).
type SRV struct {
	Priority, Weight, Port uint16
	Target                 string
}

// Resolver answers the DNS questions RFC 3263 asks. A name that does not
// exist or has no records of the type answers with no records and no error.
type Resolver interface {
	LookupNAPTR(ctx context.Context, name string) ([]NAPTR, error)
	LookupSRV(ctx context.Context, name string) ([]SRV, error)
	LookupIP(ctx context.Context, host string) ([]netip.Addr, error)
}

// DNSResolver is a Resolver that asks the DNS server at Server
// ("host:port"); with Server empty it asks the servers of /etc/resolv.conf
// for NAPTR and SRV and the system resolver (which honours /etc/hosts) for
// addresses.
type DNSResolver struct {
	Server  string
	Timeout time.Duration // per query; default 2s
}

func (r *DNSResolver) servers() ([]string, error) {
	if r.Server != "" {
		return []string{r.Server}, nil
	}
	cc, err := dns.ClientConfigFromFile("/etc/resolv.conf")
	if err != nil {
		return nil, fmt.Errorf("read resolv.conf: %w", err)
	}
	if len(cc.Servers) == 0 {
		return nil, errors.New("no nameserver in resolv.conf")
	}
	out := make([]string, len(cc.Servers))
	for i, s := range cc.Servers {
		out[i] = net.JoinHostPort(s, cc.Port)
	}
	return out, nil
}

func (r *DNSResolver) query(ctx context.Context, name string, qtype uint16) ([]dns.RR, error) {
	servers, err := r.servers()
	if err != nil {
		return nil, err
	}
	timeout := cmp.Or(r.Timeout, 2*time.Second)
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	m.RecursionDesired = true
	var lastErr error
	for _, s := range servers {
		c := &dns.Client{Net: "udp", Timeout: timeout}
		in, _, err := c.ExchangeContext(ctx, m, s)
		if err == nil && in.Truncated {
			c.Net = "tcp"
			in, _, err = c.ExchangeContext(ctx, m, s)
		}
		if err != nil {
			lastErr = err
			continue
		}
		switch in.Rcode {
		case dns.RcodeSuccess, dns.RcodeNameError:
			return in.Answer, nil
		default:
			lastErr = errors.New(dns.RcodeToString[in.Rcode])
		}
	}
	return nil, fmt.Errorf("dns query %s %s: %w", dns.TypeToString[qtype], name, lastErr)
}

// LookupNAPTR implements Resolver.
func (r *DNSResolver) LookupNAPTR(ctx context.Context, name string) ([]NAPTR, error) {
	rrs, err := r.query(ctx, name, dns.TypeNAPTR)
	if err != nil {
		return nil, err
	}
	var out []NAPTR
	for _, rr := range rrs {
		if n, ok := rr.(*dns.NAPTR); ok {
			out = append(out, NAPTR{Order: n.Order, Preference: n.Preference, Flags: n.Flags, Service: n.Service, Replacement: n.Replacement})
		}
	}
	return out, nil
}

// LookupSRV implements Resolver.
func (r *DNSResolver) LookupSRV(ctx context.Context, name string) ([]SRV, error) {
	rrs, err := r.query(ctx, name, dns.TypeSRV)
	if err != nil {
		return nil, err
	}
	var out []SRV
	for _, rr := range rrs {
		if s, ok := rr.(*dns.SRV); ok {
			out = append(out, SRV{Priority: s.Priority, Weight: s.Weight, Port: s.Port, Target: s.Target})
		}
	}
	return out, nil
}

// LookupIP implements Resolver: AAAA and A records, IPv4 first.
func (r *DNSResolver) LookupIP(ctx context.Context, host string) ([]netip.Addr, error) {
	if r.Server == "" {
		ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		if err != nil {
			var dnsErr *net.DNSError
			if errors.As(err, &dnsErr) && dnsErr.IsNotFound {
				return nil, nil
			}
			return nil, fmt.Errorf("lookup %s: %w", host, err)
		}
		return sortIPs(ips), nil
	}
	var out []netip.Addr
	for _, t := range []uint16{dns.TypeA, dns.TypeAAAA} {
		rrs, err := r.query(ctx, host, t)
		if err != nil {
			return nil, err
		}
		for _, rr := range rrs {
			switch a := rr.(type) {
			case *dns.A:
				if ip, ok := netip.AddrFromSlice(a.A.To4()); ok {
					out = append(out, ip)
				}
			case *dns.AAAA:
				if ip, ok := netip.AddrFromSlice(a.AAAA); ok {
					out = append(out, ip)
				}
			}
		}
	}
	return sortIPs(out), nil
}

func sortIPs(ips []netip.Addr) []netip.Addr {
	for i, ip := range ips {
		ips[i] = ip.Unmap()
	}
	slices.SortStableFunc(ips, func(a, b netip.Addr) int {
		return cmp.Compare(b4(a), b4(b))
	})
	return ips
}

// naptrTransports maps the NAPTR services of RFC 3263 §4.1 to transports.
var naptrTransports = map[string]string{"SIPS+D2T": "TLS", "SIP+D2T": "TCP", "SIP+D2U": "UDP"}

// srvPrefixes are the SRV names of RFC 3263 §4.1 by transport.
var srvPrefixes = map[string]string{"TLS": "_sips._tcp.", "TCP": "_sip._tcp.", "UDP": "_sip._udp."}

// Targets returns the targets for uri in the order they are to be tried,
// per RFC 3263: an explicit transport or port, else NAPTR, else SRV
// (_sips._tcp, _sip._tcp, _sip._udp) ordered by priority and weighted at
// random within a priority (RFC 2782), else A/AAAA on the default port.
// sips: URIs only yield TLS targets.
func Targets(ctx context.Context, r Resolver, uri sip.Uri) ([]Target, error) {
	secure := strings.EqualFold(uri.Scheme, "sips")
	transport := ""
	if uri.UriParams != nil {
		if v, ok := uri.UriParams.Get("transport"); ok {
			transport = strings.ToUpper(v)
		}
	}
	switch transport {
	case "", "UDP", "TCP", "TLS":
	default:
		return nil, fmt.Errorf("locate %s: unsupported transport %q", uri.Host, transport)
	}
	if secure {
		if transport == "UDP" {
			return nil, fmt.Errorf("locate %s: sips: over udp is not allowed", uri.Host)
		}
		transport = "TLS"
	}
	host := strings.Trim(uri.Host, "[]")
	ip, ipErr := netip.ParseAddr(host)
	if ipErr == nil || uri.Port != 0 {
		// RFC 3263 §4.1/§4.2: a numeric address or an explicit port means
		// no NAPTR/SRV; UDP by default (TLS for sips:).
		transport = cmp.Or(transport, "UDP")
		port := uri.Port
		if port == 0 {
			port = defaultPort(transport)
		}
		var ips []netip.Addr
		if ipErr == nil {
			ips = []netip.Addr{ip.Unmap()}
		} else {
			var err error
			if ips, err = r.LookupIP(ctx, host); err != nil {
				return nil, fmt.Errorf("locate %s: %w", host, err)
			}
		}
		if len(ips) == 0 {
			return nil, fmt.Errorf("locate %s: no address records", host)
		}
		return expand(nil, transport, host, port, ips), nil
	}

	type srvName struct{ name, transport string }
	var names []srvName
	if transport == "" {
		naptrs, err := r.LookupNAPTR(ctx, host)
		if err != nil {
			return nil, fmt.Errorf("locate %s: %w", host, err)
		}
		slices.SortStableFunc(naptrs, func(a, b NAPTR) int {
			return cmp.Or(cmp.Compare(a.Order, b.Order), cmp.Compare(a.Preference, b.Preference))
		})
		for _, n := range naptrs {
			tr, ok := naptrTransports[strings.ToUpper(n.Service)]
			if !ok || !strings.EqualFold(n.Flags, "s") || (secure && tr != "TLS") {
				continue
			}
			names = append(names, srvName{strings.TrimSuffix(n.Replacement, "."), tr})
		}
		if len(names) == 0 {
			trs := []string{"TLS", "TCP", "UDP"}
			if secure {
				trs = trs[:1]
			}
			for _, tr := range trs {
				names = append(names, srvName{srvPrefixes[tr] + host, tr})
			}
		}
	} else {
		names = []srvName{{srvPrefixes[transport] + host, transport}}
	}

	var out []Target
	for _, n := range names {
		srvs, err := r.LookupSRV(ctx, n.name)
		if err != nil {
			return nil, fmt.Errorf("locate %s: %w", host, err)
		}
		for _, s := range orderSRV(srvs) {
			target := strings.TrimSuffix(s.Target, ".")
			if target == "" {
				continue // "." means the service is not offered here
			}
			ips, err := r.LookupIP(ctx, target)
			if err != nil {
				continue // a broken target is skipped, the next one may do
			}
			out = expand(out, n.transport, target, int(s.Port), ips)
		}
	}
	if len(out) > 0 {
		return out, nil
	}
	// RFC 3263 §4.2: no SRV records, use the address records of the host.
	transport = cmp.Or(transport, "UDP")
	ips, err := r.LookupIP(ctx, host)
	if err != nil {
		return nil, fmt.Errorf("locate %s: %w", host, err)
	}
	out = expand(nil, transport, host, defaultPort(transport), ips)
	if len(out) == 0 {
		return nil, fmt.Errorf("locate %s: no NAPTR, SRV or address records", host)
	}
	return out, nil
}

func expand(out []Target, transport, host string, port int, ips []netip.Addr) []Target {
	for _, ip := range ips {
		out = append(out, Target{Transport: transport, Addr: netip.AddrPortFrom(ip, uint16(port)).String(), Host: host})
	}
	return out
}

func defaultPort(transport string) int {
	if transport == "TLS" {
		return 5061
	}
	return 5060
}

// orderSRV orders records by priority and, within a priority, by RFC 2782's
// weighted random selection.
func orderSRV(srvs []SRV) []SRV {
	srvs = slices.Clone(srvs)
	slices.SortStableFunc(srvs, func(a, b SRV) int { return cmp.Compare(a.Priority, b.Priority) })
	out := make([]SRV, 0, len(srvs))
	for i := 0; i < len(srvs); {
		j := i
		for j < len(srvs) && srvs[j].Priority == srvs[i].Priority {
			j++
		}
		group := srvs[i:j]
		// Zero-weight records first so that they get a small chance (RFC 2782).
		slices.SortStableFunc(group, func(a, b SRV) int { return cmp.Compare(a.Weight, b.Weight) })
		for len(group) > 0 {
			total := 0
			for _, s := range group {
				total += int(s.Weight)
			}
			pick := 0
			if total > 0 {
				n := rand.IntN(total + 1)
				sum := 0
				for k, s := range group {
					sum += int(s.Weight)
					if sum >= n {
						pick = k
						break
					}
				}
			}
			out = append(out, group[pick])
			group = slices.Delete(group, pick, pick+1)
		}
		i = j
	}
	return out
}

// b4 ranks IPv4 before IPv6.
func b4(a netip.Addr) int {
	if a.Is4() {
		return 0
	}
	return 1
}
