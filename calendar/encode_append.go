package calendar

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// AppendContractJSON appends the `events -json` form of o, times in zone
// (nil: as they are), to b: the bytes encoding/json writes for
// o.JSON(zone).Contract() with HTML escaping off, indented as an element of
// a top-level array indented by two spaces (json.Encoder.SetIndent("", "  ")).
// It writes straight into b, without reflection or an OccurrenceJSON, so
// that the JSON of a year of a big calendar costs less than expanding it.
// TestAppendContractJSON holds it to encoding/json.
func (o *Occurrence) AppendContractJSON(b []byte, zone *time.Location) []byte {
	in := func(t time.Time) time.Time {
		if zone != nil {
			return t.In(zone)
		}
		return t
	}
	b = append(b, "  {\n    \"calendar\": "...)
	b = appendJSONString(b, o.Calendar)
	b = append(b, ",\n    \"uid\": "...)
	b = appendJSONString(b, o.UID)
	b = append(b, ",\n    \"recurrence_id\": \""...)
	if !o.RecurrenceID.IsZero() {
		b = o.RecurrenceID.UTC().AppendFormat(b, time.RFC3339Nano)
	}
	b = append(b, "\",\n    \"summary\": "...)
	b = appendJSONString(b, o.Summary)
	b = append(b, ",\n    \"location\": "...)
	b = appendJSONString(b, o.Location)
	b = append(b, ",\n    \"start\": \""...)
	b = in(o.Start).AppendFormat(b, time.RFC3339Nano)
	b = append(b, "\",\n    \"end\": \""...)
	b = in(o.End).AppendFormat(b, time.RFC3339Nano)
	b = append(b, "\",\n    \"all_day\": "...)
	b = strconv.AppendBool(b, o.AllDay)
	b = append(b, ",\n    \"status\": "...)
	b = appendJSONString(b, string(o.Status))
	b = append(b, ",\n    \"transparent\": "...)
	b = strconv.AppendBool(b, o.Transparent)
	b = append(b, ",\n    \"class\": "...)
	if o.Class == "" {
		b = appendJSONString(b, string(ClassPublic))
	} else {
		b = appendJSONString(b, string(o.Class))
	}
	b = append(b, ",\n    \"response\": "...)
	b = appendJSONString(b, strings.ToLower(o.Response))
	b = append(b, ",\n    \"attendees\": "...)
	b = strconv.AppendInt(b, int64(o.Attendees), 10)
	b = append(b, ",\n    \"categories\": ["...)
	for i, c := range o.Categories {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, "\n      "...)
		b = appendJSONString(b, c)
	}
	if len(o.Categories) > 0 {
		b = append(b, "\n    "...)
	}
	return append(b, "]\n  }"...)
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as encoding/json writes a string with HTML
// escaping off: quotes, backslashes and control characters escaped,
// invalid UTF-8 as \ufffd, U+2028 and U+2029 escaped.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
