package httpx

import (
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"
)

// Credentials go only where scheme, host and port are those of the
// request they were meant for. The rows come from the two rules this one
// replaced: calendar's sameOrigin (ICS), which also let an http to https
// upgrade keep them, and sameAuthority (CalDAV), which let any subdomain
// have them; both are other origins now.
func TestSameOrigin(t *testing.T) {
	tests := []struct {
		from, to string
		want     bool
	}{
		{"https://dav.example.com/a.ics", "https://dav.example.com/b.ics", true},
		{"https://dav.example.com/a.ics", "https://DAV.example.com:443/b.ics", true},
		{"HTTPS://dav.example.com/", "https://dav.example.com/x/", true},
		{"http://127.0.0.1:5232/", "http://127.0.0.1:5232/alice/", true},
		{"http://[::1]:5232/", "http://[::1]:5232/alice/", true},
		{"http://dav.example.com/a.ics", "https://dav.example.com/a.ics", false},
		{"https://dav.example.com/a.ics", "http://dav.example.com/a.ics", false},
		{"https://dav.example.com/a.ics", "https://dav.example.com:8443/a.ics", false},
		{"http://dav.example.com:8080/a.ics", "https://dav.example.com/a.ics", false},
		{"https://dav.example.com/a.ics", "https://cdn.example.com/a.ics", false},
		{"https://example.com/a.ics", "https://dav.example.com/a.ics", false},
		{"https://example.com/", "https://p01.example.com/", false},
		{"https://dav.example.com/", "https://evil.example.org/", false},
		{"https://dav.example.com/", "https://dav.example.com.evil.org/", false},
		{"http://127.0.0.1:8080/a", "http://127.0.0.1:8081/a", false},
	}
	for _, tt := range tests {
		from, _ := url.Parse(tt.from)
		to, _ := url.Parse(tt.to)
		if got := SameOrigin(from, to); got != tt.want {
			t.Errorf("SameOrigin(%s, %s) = %v, want %v", tt.from, tt.to, got, tt.want)
		}
	}
	if SameOrigin(nil, &url.URL{}) {
		t.Error("SameOrigin(nil, ...) = true, want false")
	}
}

// A private feed's token in the query or the path never reaches a message
// or a log, nor does userinfo.
func TestRedact(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://h/a.ics", "https://h/a.ics"},
		{"https://u:hunter2@h/a.ics", "https://h/a.ics"},
		{"https://bob@h/a.ics#frag", "https://h/a.ics"},
		{"https://outlook.example.com/owa/calendar/reachcalendar.ics?token=s3cret&lang=en", "https://outlook.example.com/owa/calendar/reachcalendar.ics?lang=redacted&token=redacted"},
		{"webcal://h/feed?key=s3cret", "webcal://h/feed?key=redacted"},
		{"/home/alice/cal.ics", "/home/alice/cal.ics"},
		{"https://calendar.google.com/calendar/ical/alice%40example.com/private-0123456789abcdef0123456789abcdef/basic.ics",
			"https://calendar.google.com/calendar/ical/alice@example.com/redacted/basic.ics"},
		{"webcal://p01-caldav.icloud.com/published/2/MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIz",
			"webcal://p01-caldav.icloud.com/published/2/redacted"},
		{"https://example.com/calendars/team-holidays-2026/feed.ics", "https://example.com/calendars/team-holidays-2026/feed.ics"},
		{"https://dav.example.com/dav/calendars/alice/work/", "https://dav.example.com/dav/calendars/alice/work/"},
		{"https://u:secret1@exa mple.com/", "https://exa mple.com/"},
	}
	for _, tt := range tests {
		if got := Redact(tt.in); got != tt.want {
			t.Errorf("Redact(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	u, _ := url.Parse("https://u:pw@h/x/private-abc?t=1")
	if got, want := RedactURL(u), "https://h/x/redacted?t=redacted"; got != want {
		t.Errorf("RedactURL(%s) = %q, want %q", u, got, want)
	}
	if got, want := RedactPath("/cal/0123456789abcdef0123/work/"), "/cal/redacted/work/"; got != want {
		t.Errorf("RedactPath() = %q, want %q", got, want)
	}
	if u.User == nil || u.RawQuery != "t=1" {
		t.Errorf("RedactURL modified its argument: %s", u)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"120", 2 * time.Minute},
		{" 5 ", 5 * time.Second},
		{"-5", 0},
		{"99999999", 24 * time.Hour},
		{"Mon, 02 Mar 2026 08:10:00 GMT", 10 * time.Minute},
		{"Mon, 02 Mar 2026 07:10:00 GMT", 0},
		{"soon", 0},
	}
	for _, tt := range tests {
		if got := ParseRetryAfter(tt.in, now); got != tt.want {
			t.Errorf("ParseRetryAfter(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestStatusError(t *testing.T) {
	now := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	u, _ := url.Parse("https://bob:pw@dav.example.com/cal/?token=s3cret")
	tests := []struct {
		code        int
		creds       bool
		retry       string
		clientFault bool
		msg         string // with the request's method and URL
		bare        string // without, as an ICS feed's FetchError wraps it
	}{
		{401, true, "", true, "wrong credentials for https://dav.example.com/cal/?token=redacted", "HTTP 401 Unauthorized"},
		{401, false, "", true, "wrong credentials for https://dav.example.com/cal/?token=redacted", "the feed needs credentials (HTTP 401 Unauthorized)"},
		{403, false, "", true, "access to https://dav.example.com/cal/?token=redacted forbidden (403)", "server answered HTTP 403 Forbidden"},
		{404, false, "", true, "https://dav.example.com/cal/?token=redacted not found (404)", "server answered HTTP 404 Not Found"},
		{408, false, "", false, "PROPFIND https://dav.example.com/cal/?token=redacted: 408 Request Timeout", "server answered HTTP 408 Request Timeout"},
		{429, false, "7", false, "PROPFIND https://dav.example.com/cal/?token=redacted: 429 Too Many Requests", "server answered HTTP 429 Too Many Requests"},
		{503, false, "120", false, "PROPFIND https://dav.example.com/cal/?token=redacted: 503 Service Unavailable", "server answered HTTP 503 Service Unavailable"},
	}
	for _, tt := range tests {
		resp := &http.Response{StatusCode: tt.code, Status: http.StatusText(tt.code), Header: http.Header{},
			Request: &http.Request{Method: "PROPFIND", URL: u}}
		resp.Status = strconv.Itoa(tt.code) + " " + http.StatusText(tt.code)
		if tt.retry != "" {
			resp.Header.Set("Retry-After", tt.retry)
		}
		e := NewStatusError(resp, tt.creds, now)
		if got := e.ClientFault(); got != tt.clientFault {
			t.Errorf("%d: ClientFault() = %v, want %v", tt.code, got, tt.clientFault)
		}
		if got := e.Error(); got != tt.msg {
			t.Errorf("%d: Error() = %q, want %q", tt.code, got, tt.msg)
		}
		bare := &StatusError{Code: tt.code, Status: resp.Status, Credentials: tt.creds}
		if got := bare.Error(); got != tt.bare {
			t.Errorf("%d without URL: Error() = %q, want %q", tt.code, got, tt.bare)
		}
		want := ParseRetryAfter(tt.retry, now)
		if got := e.RetryAfter(); got != want {
			t.Errorf("%d: RetryAfter() = %v, want %v", tt.code, got, want)
		}
	}
}

func TestAuthorization(t *testing.T) {
	if got, want := Authorization("", "tok"), "Bearer tok"; got != want {
		t.Errorf(`Authorization("", "tok") = %q, want %q`, got, want)
	}
	if got, want := Authorization("alice", "pw"), "Basic YWxpY2U6cHc="; got != want {
		t.Errorf(`Authorization("alice", "pw") = %q, want %q`, got, want)
	}
}
