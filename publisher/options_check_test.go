package publisher

import "testing"

func TestCheckAORAndProxy(t *testing.T) {
	for _, tt := range []struct {
		aor, proxy string
		ok         bool
	}{
		{"sip:alice@example.com", "", true},
		{"sips:alice@example.com", "sip:127.0.0.1:5060;transport=tcp", true},
		{"<sip:alice@example.com>", "sip:pbx.example.com;transport=TLS", true},
		{"alice@example.com", "", false},
		{"sip:example.com", "", false},
		{"tel:+4930123", "", false},
		{"sip:alice@example.com", "http://pbx", false},
		{"sip:alice@example.com", "sip:127.0.0.1;transport=sctp", false},
	} {
		err := CheckAOR(tt.aor)
		if tt.proxy != "" && err == nil {
			err = CheckProxy(tt.proxy)
		}
		if (err == nil) != tt.ok {
			t.Errorf("CheckAOR(%q)/CheckProxy(%q) = %v, want ok %v", tt.aor, tt.proxy, err, tt.ok)
		}
		if verr := (Options{AOR: tt.aor, Proxy: tt.proxy}).Validate(); (verr == nil) != tt.ok {
			t.Errorf("Options{%q, %q}.Validate() = %v, want ok %v", tt.aor, tt.proxy, verr, tt.ok)
		}
	}
}
