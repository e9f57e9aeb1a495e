package httpx

import (
	"net/url"
	"slices"
	"strings"
)

// Redact formats a URL for messages and logs: the userinfo is dropped,
// every query value and every path segment that looks like a token (see
// looksLikeToken) reads "redacted", the fragment goes. Strings that are not
// URLs (file paths) are returned as they are; strings that do not parse as
// URLs lose what could be userinfo before an "@".
func Redact(raw string) string {
	if !strings.Contains(raw, "://") {
		return raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		if i, j := strings.Index(raw, "://"), strings.LastIndex(raw, "@"); j > i {
			return raw[:i+3] + raw[j+1:]
		}
		return raw
	}
	return RedactURL(u)
}

// RedactURL is [Redact] for a parsed URL; u is not modified.
func RedactURL(u *url.URL) string {
	if u == nil {
		return ""
	}
	c := *u
	c.User, c.Fragment, c.RawFragment = nil, "", ""
	// Private feed links carry their token in the path (Google's
	// private-<hex>, iCloud's published/2/<token>) or in the query
	// (?token=…, ?key=…): such path segments and every query value go, the
	// rest stays to tell calendars apart.
	if p := RedactPath(c.Path); p != c.Path {
		c.Path, c.RawPath = p, ""
	}
	if c.RawQuery != "" {
		q := c.Query()
		for k := range q {
			q[k] = []string{"redacted"}
		}
		c.RawQuery = q.Encode()
	}
	return c.String()
}

// RedactPath is the path part of [Redact]: token-like segments of p read
// "redacted". It serves paths shown without their URL, such as a CalDAV
// server's hrefs.
func RedactPath(p string) string {
	segs := strings.Split(p, "/")
	if !slices.ContainsFunc(segs, looksLikeToken) {
		return p
	}
	for i, seg := range segs {
		if looksLikeToken(seg) {
			segs[i] = "redacted"
		}
	}
	return strings.Join(segs, "/")
}

// looksLikeToken reports whether a URL path segment looks like a secret:
// Google's "private-…", or a long run of letters and digits (with - or _)
// that has both, unlike the words and file names of a path.
func looksLikeToken(seg string) bool {
	if strings.HasPrefix(seg, "private-") {
		return true
	}
	if len(seg) < 20 {
		return false
	}
	var letter, digit bool
	for _, r := range seg {
		switch {
		case r >= '0' && r <= '9':
			digit = true
		case r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z':
			letter = true
		case r == '-' || r == '_':
		default:
			return false
		}
	}
	return letter && digit
}
