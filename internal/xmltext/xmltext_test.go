package xmltext

import (
	"encoding/xml"
	"strings"
	"testing"
)

func TestText(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain", "plain"},
		{`<a href="x">&'`, "&lt;a href=&quot;x&quot;&gt;&amp;&apos;"},
		{"tab\tnl\ncr\r", "tab&#x9;nl&#xA;cr&#xD;"},
		{"bad\xffutf8", "bad\uFFFDutf8"},
		{"nul\x00ctl\x1bffff\uFFFF", "nulctlffff"},
		{"emoji 📅", "emoji 📅"},
	} {
		var b Buffer
		b.Text(tc.in)
		if got := b.String(); got != tc.want {
			t.Errorf("Text(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// FuzzText: whatever the text, an element and an attribute holding it parse
// back as well-formed XML.
func FuzzText(f *testing.F) {
	for _, s := range []string{"", "a<b", "\x00\xff", "]]>", "&#0;"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var b Buffer
		b.WriteString("<e")
		b.Attr("a", s)
		b.WriteString(">")
		b.Text(s)
		b.WriteString("</e>")
		d := xml.NewDecoder(strings.NewReader(b.String()))
		for {
			_, err := d.Token()
			if err != nil {
				if err.Error() == "EOF" {
					return
				}
				t.Fatalf("Text(%q) gave %q, not well-formed: %v", s, b.String(), err)
			}
		}
	})
}
