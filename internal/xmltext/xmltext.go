// Package xmltext writes XML 1.0 text that is always well-formed: the one
// escaper of the documents calpresence publishes (pidf, dialoginfo), so
// that no calendar text can break a document.
package xmltext

import (
	"bytes"
	"unicode/utf8"
)

// Buffer is a bytes.Buffer that also writes escaped text and attributes.
type Buffer struct{ bytes.Buffer }

// Attr writes ` name="value"`, value escaped.
func (w *Buffer) Attr(name, value string) {
	w.WriteString(" " + name + `="`)
	w.Text(value)
	w.WriteString(`"`)
}

// Text writes s escaped for both character data and attribute values.
// Invalid UTF-8 becomes U+FFFD; characters XML 1.0 §2.2 does not allow are
// dropped; CR, LF and TAB are written as references so that they survive
// attribute-value and end-of-line normalization.
func (w *Buffer) Text(s string) {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == utf8.RuneError && size == 1:
			w.WriteString("\uFFFD")
		case r == '<':
			w.WriteString("&lt;")
		case r == '>':
			w.WriteString("&gt;")
		case r == '&':
			w.WriteString("&amp;")
		case r == '"':
			w.WriteString("&quot;")
		case r == '\'':
			w.WriteString("&apos;")
		case r == '\t':
			w.WriteString("&#x9;")
		case r == '\n':
			w.WriteString("&#xA;")
		case r == '\r':
			w.WriteString("&#xD;")
		case !IsChar(r):
			// dropped: no XML 1.0 document may contain it, not even as a reference
		default:
			w.WriteRune(r)
		}
	}
}

// IsChar reports whether XML 1.0 §2.2 allows r.
func IsChar(r rune) bool {
	return r == 0x9 || r == 0xA || r == 0xD ||
		(r >= 0x20 && r <= 0xD7FF) ||
		(r >= 0xE000 && r <= 0xFFFD) ||
		(r >= 0x10000 && r <= 0x10FFFF)
}
