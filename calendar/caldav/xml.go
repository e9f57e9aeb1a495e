package caldav

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// XML namespaces of WebDAV (RFC 4918), CalDAV (RFC 4791) and Apple's
// CalendarServer extensions (getctag).
const (
	nsDAV    = "DAV:"
	nsCalDAV = "urn:ietf:params:xml:ns:caldav"
	nsCS     = "http://calendarserver.org/ns/"
)

const xmlHeader = `<?xml version="1.0" encoding="utf-8"?>` + "\n"

// propfindProbe asks a URL what it is: a calendar (RFC 4791 §4.2), a
// principal with its calendar-home-set (§6.2.1), or something that knows the
// current-user-principal (RFC 5397 §3). getctag and sync-token (RFC 6578
// §4) tell a calendar's state.
const propfindProbe = xmlHeader + `<D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav" xmlns:CS="http://calendarserver.org/ns/">` +
	`<D:prop><D:resourcetype/><D:displayname/><D:current-user-principal/><C:calendar-home-set/>` +
	`<C:supported-calendar-component-set/><CS:getctag/><D:sync-token/></D:prop></D:propfind>`

// propfindState asks for a calendar's change tags, to learn which the
// server offers.
const propfindState = xmlHeader + `<D:propfind xmlns:D="DAV:" xmlns:CS="http://calendarserver.org/ns/">` +
	`<D:prop><CS:getctag/><D:sync-token/></D:prop></D:propfind>`

// propfindCTag and propfindSyncToken ask for one change tag: the body of an
// unchanged poll. One is enough, and each costs the server a pass over the
// calendar's items (Radicale: ~45 ms for getctag and ~90 ms for sync-token
// on 2,000 items), so polls ask for getctag where it exists.
const (
	propfindCTag = xmlHeader + `<D:propfind xmlns:D="DAV:" xmlns:CS="http://calendarserver.org/ns/">` +
		`<D:prop><CS:getctag/></D:prop></D:propfind>`
	propfindSyncToken = xmlHeader + `<D:propfind xmlns:D="DAV:">` +
		`<D:prop><D:sync-token/></D:prop></D:propfind>`
)

// propfindLastModified asks for a collection's DAV:getlastmodified (RFC
// 4918 §15.7): on Radicale, the newest modification time of the collection
// and its members, which it finds without reading them (see lastmod.go).
const propfindLastModified = xmlHeader + `<D:propfind xmlns:D="DAV:">` +
	`<D:prop><D:getlastmodified/></D:prop></D:propfind>`

// propfindETags lists a calendar's members with their ETags (RFC 4918
// §9.1, Depth 1); getcontentlength is not asked for, since not every server
// sends it.
const propfindETags = xmlHeader + `<D:propfind xmlns:D="DAV:">` +
	`<D:prop><D:resourcetype/><D:getetag/></D:prop></D:propfind>`

// syncCollectionBody is a sync-collection REPORT (RFC 6578 §3.2) asking for
// the ETags of members changed since token ("" for all).
func syncCollectionBody(token string) []byte {
	var b bytes.Buffer
	b.WriteString(xmlHeader)
	b.WriteString(`<D:sync-collection xmlns:D="DAV:"><D:sync-token>`)
	xml.EscapeText(&b, []byte(token))
	b.WriteString(`</D:sync-token><D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>`)
	return b.Bytes()
}

// multigetBody is a calendar-multiget REPORT (RFC 4791 §7.9) for hrefs,
// asking for each object's ETag and whole calendar-data.
func multigetBody(hrefs []string) []byte {
	var b bytes.Buffer
	b.WriteString(xmlHeader)
	b.WriteString(`<C:calendar-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">`)
	b.WriteString(`<D:prop><D:getetag/><C:calendar-data/></D:prop>`)
	for _, h := range hrefs {
		b.WriteString(`<D:href>`)
		xml.EscapeText(&b, []byte(h))
		b.WriteString(`</D:href>`)
	}
	b.WriteString(`</C:calendar-multiget>`)
	return b.Bytes()
}

// davResponse is one DAV:response of a multistatus (RFC 4918 §14.24).
type davResponse struct {
	Hrefs     []string      `xml:"DAV: href"`
	Status    string        `xml:"DAV: status"`
	Propstats []davPropstat `xml:"DAV: propstat"`
	Error     *struct {
		Inner string `xml:",innerxml"`
	} `xml:"DAV: error"`
}

// davPropstat is a DAV:propstat (RFC 4918 §14.22).
type davPropstat struct {
	Status string  `xml:"DAV: status"`
	Prop   davProp `xml:"DAV: prop"`
}

// davHref is an element holding one DAV:href, as current-user-principal
// (RFC 5397 §3) and calendar-home-set (RFC 4791 §6.2.1) do.
type davHref struct {
	Href string `xml:"DAV: href"`
}

// davProp holds the properties this package asks for.
type davProp struct {
	ResourceType *struct {
		Collection *struct{} `xml:"DAV: collection"`
		Calendar   *struct{} `xml:"urn:ietf:params:xml:ns:caldav calendar"`
	} `xml:"DAV: resourcetype"`
	DisplayName          *string  `xml:"DAV: displayname"`
	CurrentUserPrincipal *davHref `xml:"DAV: current-user-principal"`
	CalendarHomeSet      *davHref `xml:"urn:ietf:params:xml:ns:caldav calendar-home-set"`
	// supported-calendar-component-set, RFC 4791 §5.2.3.
	SupportedComponents *struct {
		Comps []struct {
			Name string `xml:"name,attr"`
		} `xml:"urn:ietf:params:xml:ns:caldav comp"`
	} `xml:"urn:ietf:params:xml:ns:caldav supported-calendar-component-set"`
	GetCTag   *string `xml:"http://calendarserver.org/ns/ getctag"`
	SyncToken *string `xml:"DAV: sync-token"`
	GetETag   *string `xml:"DAV: getetag"`
	// getlastmodified, RFC 4918 §15.7: an HTTP-date.
	GetLastModified *string `xml:"DAV: getlastmodified"`
	// calendar-data, RFC 4791 §9.6: the object's iCalendar text.
	CalendarData *string `xml:"urn:ietf:params:xml:ns:caldav calendar-data"`
}

// href returns the response's first href.
func (r *davResponse) href() string {
	if len(r.Hrefs) == 0 {
		return ""
	}
	return strings.TrimSpace(r.Hrefs[0])
}

// props merges the properties of the response's 2xx propstats: a property
// the server could not give comes back in a 404 propstat as an empty
// element, which must not read as an empty value.
func (r *davResponse) props() davProp {
	var p davProp
	for _, ps := range r.Propstats {
		if c := statusCode(ps.Status); c < 200 || c > 299 {
			continue
		}
		q := ps.Prop
		if q.ResourceType != nil {
			p.ResourceType = q.ResourceType
		}
		if q.DisplayName != nil {
			p.DisplayName = q.DisplayName
		}
		if q.CurrentUserPrincipal != nil {
			p.CurrentUserPrincipal = q.CurrentUserPrincipal
		}
		if q.CalendarHomeSet != nil {
			p.CalendarHomeSet = q.CalendarHomeSet
		}
		if q.SupportedComponents != nil {
			p.SupportedComponents = q.SupportedComponents
		}
		if q.GetCTag != nil {
			p.GetCTag = q.GetCTag
		}
		if q.SyncToken != nil {
			p.SyncToken = q.SyncToken
		}
		if q.GetETag != nil {
			p.GetETag = q.GetETag
		}
		if q.CalendarData != nil {
			p.CalendarData = q.CalendarData
		}
		if q.GetLastModified != nil {
			p.GetLastModified = q.GetLastModified
		}
	}
	return p
}

// statusCode reads the code of a DAV:status line ("HTTP/1.1 200 OK"); 0 if
// there is none.
func statusCode(s string) int {
	f := strings.Fields(s)
	if len(f) < 2 {
		return 0
	}
	c, err := strconv.Atoi(f[1])
	if err != nil {
		return 0
	}
	return c
}

// decodeMultistatus streams a multistatus body (RFC 4918 §13), calling fn
// for each response, so that a calendar of thousands of objects is never
// held twice in memory. It returns the multistatus' sync-token (RFC 6578
// §6.2), if any.
func decodeMultistatus(r io.Reader, fn func(*davResponse) error) (syncToken string, err error) {
	d := xml.NewDecoder(r)
	depth := 0
	sawRoot := false
	for {
		tok, err := d.Token()
		if err == io.EOF {
			if !sawRoot {
				return "", fmt.Errorf("decode multistatus: no multistatus element")
			}
			return syncToken, nil
		}
		if err != nil {
			return "", fmt.Errorf("decode multistatus: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			if depth == 1 {
				if t.Name.Space != nsDAV || t.Name.Local != "multistatus" {
					return "", fmt.Errorf("decode multistatus: root element is %s, want DAV: multistatus", t.Name.Local)
				}
				sawRoot = true
				continue
			}
			if depth != 2 || t.Name.Space != nsDAV {
				continue
			}
			switch t.Name.Local {
			case "response":
				var resp davResponse
				if err := d.DecodeElement(&resp, &t); err != nil {
					return "", fmt.Errorf("decode multistatus: %w", err)
				}
				depth--
				if err := fn(&resp); err != nil {
					return "", err
				}
			case "sync-token":
				var s string
				if err := d.DecodeElement(&s, &t); err != nil {
					return "", fmt.Errorf("decode multistatus: %w", err)
				}
				depth--
				syncToken = strings.TrimSpace(s)
			}
		case xml.EndElement:
			depth--
		}
	}
}
