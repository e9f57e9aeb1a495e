package caldav

import (
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestDecodeMultistatus(t *testing.T) {
	// Radicale puts the sync-token first, Xandikos last and with ns0
	// prefixes; a property the server lacks comes in a 404 propstat.
	tests := []struct {
		name      string
		body      string
		wantToken string
		want      []string // href etag ctag data status
	}{
		{"radicale", `<?xml version='1.0' encoding='utf-8'?>
<multistatus xmlns="DAV:"><sync-token>http://radicale.org/ns/sync/1</sync-token><response><href>/alice/w/a.ics</href><propstat><prop><getetag>"e1"</getetag></prop><status>HTTP/1.1 200 OK</status></propstat></response></multistatus>`,
			"http://radicale.org/ns/sync/1", []string{`/alice/w/a.ics "e1" <nil> <nil> 0`}},
		{"xandikos", `<ns0:multistatus xmlns:ns0="DAV:" xmlns:ns1="urn:ietf:params:xml:ns:caldav"><ns0:response><ns0:href>/u/c/a.ics</ns0:href><ns0:propstat><ns0:status>HTTP/1.1 200 OK</ns0:status><ns0:prop><ns0:getetag>"x"</ns0:getetag><ns1:calendar-data>BEGIN:VCALENDAR
END:VCALENDAR
</ns1:calendar-data></ns0:prop></ns0:propstat></ns0:response><ns0:response><ns0:href>/u/c/gone.ics</ns0:href><ns0:status>HTTP/1.1 404 Not Found</ns0:status></ns0:response><ns0:sync-token>tok2</ns0:sync-token></ns0:multistatus>`,
			"tok2", []string{"/u/c/a.ics \"x\" <nil> BEGIN:VCALENDAR\nEND:VCALENDAR\n 0", "/u/c/gone.ics <nil> <nil> <nil> 404"}},
		{"404 propstat is no value", `<d:multistatus xmlns:d="DAV:" xmlns:cs="http://calendarserver.org/ns/"><d:response><d:href>/c/</d:href>
<d:propstat><d:prop><cs:getctag>"c1"</cs:getctag></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat>
<d:propstat><d:prop><d:getetag/></d:prop><d:status>HTTP/1.1 404 Not Found</d:status></d:propstat></d:response></d:multistatus>`,
			"", []string{`/c/ <nil> "c1" <nil> 0`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			token, err := decodeMultistatus(strings.NewReader(tt.body), func(r *davResponse) error {
				p := r.props()
				got = append(got, strings.Join([]string{r.href(), str(p.GetETag), str(p.GetCTag), str(p.CalendarData),
					itoa(statusCode(r.Status))}, " "))
				return nil
			})
			if err != nil {
				t.Fatalf("decodeMultistatus(%s) error = %v", tt.name, err)
			}
			if token != tt.wantToken || !slices.Equal(got, tt.want) {
				t.Errorf("decodeMultistatus(%s) = %q, %q; want %q, %q", tt.name, token, got, tt.wantToken, tt.want)
			}
		})
	}
}

func TestDecodeMultistatusRejects(t *testing.T) {
	for _, body := range []string{"", "<html><body>login</body></html>", `<d:multistatus xmlns:d="DAV:"><d:response>`} {
		if _, err := decodeMultistatus(strings.NewReader(body), func(*davResponse) error { return nil }); err == nil {
			t.Errorf("decodeMultistatus(%q) error = nil, want one", body)
		}
	}
}

func str(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestScanUID(t *testing.T) {
	tests := []struct{ in, want string }{
		{"BEGIN:VEVENT\r\nUID:abc@x\r\nEND:VEVENT\r\n", "abc@x"},
		{"BEGIN:VEVENT\nuid;X-P=1:def\n", "def"},
		{"BEGIN:VEVENT\nUIDX:no\nSUMMARY:UID:no\n", ""},
	}
	for _, tt := range tests {
		if got := scanUID([]byte(tt.in)); got != tt.want {
			t.Errorf("scanUID(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzDecodeMultistatus(f *testing.F) {
	f.Add(`<multistatus xmlns="DAV:"><sync-token>t</sync-token><response><href>/a.ics</href><propstat><prop><getetag>"e"</getetag></prop><status>HTTP/1.1 200 OK</status></propstat></response></multistatus>`)
	f.Add(`<d:multistatus xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:response><d:href>/b.ics</d:href><d:status>HTTP/1.1 404 Not Found</d:status></d:response></d:multistatus>`)
	f.Fuzz(func(t *testing.T, body string) {
		n := 0
		token, err := decodeMultistatus(strings.NewReader(body), func(r *davResponse) error {
			n++
			r.props()
			r.href()
			statusCode(r.Status)
			return nil
		})
		if err != nil && (token != "") {
			t.Errorf("decodeMultistatus(%q) = token %q with error %v, want no token on error", body, token, err)
		}
	})
}
