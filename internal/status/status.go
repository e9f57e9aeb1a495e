// Package status serves the agent's status page: every user's presence in
// force (what is published: basic status, activities and note, never an
// event's private text), the rule that decided it, the next change and the
// health of each calendar, searchable and paged for thousands of users;
// /user/AOR draws the user's day as a timeline chart (SVG); /api/status
// and /api/user/AOR give the same as JSON. The pages are rendered on the
// server (html/template) and need no JavaScript.
package status

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/calpresence/calpresence/internal/agent"
	"github.com/calpresence/calpresence/internal/timechart"
)

// Source is what the page reads of the agent.
type Source interface {
	Stats() agent.Stats
	Timeline(id string) (agent.UserTimeline, bool)
}

// Options tune the pages; each zero value is a default.
type Options struct {
	// Now is the time the pages show as current; nil is time.Now. The
	// agent's clock belongs here when it runs on another.
	Now func() time.Time
	// PerPage is how many users a page of / lists by default.
	PerPage int // default 100
}

// MaxPerPage bounds per_page.
const MaxPerPage = 1000

//go:embed templates/*.html
var templateFS embed.FS

var templates = template.Must(template.New("").Funcs(template.FuncMap{
	"colour": func(class string) string { return timechart.Colours[class] },
}).ParseFS(templateFS, "templates/*.html"))

type handler struct {
	src  Source
	opts Options
}

// Handler serves GET /, /user/{aor}, /api/status and /api/user/{aor}.
func Handler(src Source, opts Options) http.Handler {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.PerPage <= 0 {
		opts.PerPage = 100
	}
	h := &handler{src: src, opts: opts}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", h.index)
	mux.HandleFunc("GET /user/{aor...}", h.user)
	mux.HandleFunc("GET /api/status", h.apiStatus)
	mux.HandleFunc("GET /api/user/{aor...}", h.apiUser)
	return mux
}

// User is one user as the pages and /api/status show it.
type User struct {
	AOR      string    `json:"aor"`
	Zone     string    `json:"zone"`
	Presence *Presence `json:"presence"` // null before the first timeline
	// Requests counts PUBLISH requests by result ("error", "2xx", ...).
	Requests  map[string]uint64 `json:"requests"`
	Calendars []Calendar        `json:"calendars"`
	loc       *time.Location
}

// Presence is a published state and when it holds.
type Presence struct {
	Basic      string    `json:"basic"`
	Activities []string  `json:"activities"`
	Note       string    `json:"note"`
	Rule       string    `json:"rule"`     // "" for the default presence
	Override   bool      `json:"override"` // the user's own status (calpresence set), Rule the state chosen
	Since      time.Time `json:"since"`
	Until      time.Time `json:"until"` // the next change, as far as the timeline reaches
	Class      string    `json:"-"`
}

// Calendar is the health of one calendar.
type Calendar struct {
	Name        string     `json:"name"`
	LastSuccess *time.Time `json:"last_success"` // the last good poll; null: none
	LastGood    *time.Time `json:"last_good"`    // when the data in use was fetched (survives restarts)
	LastError   string     `json:"last_error"`   // the last poll's error; "" after a success
	Failures    int        `json:"failures"`     // consecutive failed polls
	NextPoll    *time.Time `json:"next_poll"`
	Polls       uint64     `json:"polls"`
	Errors      uint64     `json:"errors"`
	Stale       bool       `json:"stale"`
}

// Summary counts users by what they show.
type Summary struct {
	Users      int `json:"users"`
	Available  int `json:"available"`
	Busy       int `json:"busy"`
	Closed     int `json:"closed"`
	NoPresence int `json:"no_presence"`
	Stale      int `json:"stale_calendars"`
	Failing    int `json:"failing_calendars"`
}

var resultNames = [7]string{"error", "1xx", "2xx", "3xx", "4xx", "5xx", "6xx"}

// Local is t on the user's clock, for the pages.
func (u User) Local(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.In(u.loc).Format("Mon 2 Jan 15:04:05 MST")
}

// LocalP is Local of an optional time.
func (u User) LocalP(t *time.Time) string {
	if t == nil {
		return "never"
	}
	return u.Local(*t)
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// userOf is what the pages show of u.
func userOf(u *agent.UserStats) User {
	loc := u.Zone
	if loc == nil {
		loc = time.UTC
	}
	out := User{AOR: u.ID, Zone: loc.String(), Requests: map[string]uint64{}, loc: loc, Calendars: []Calendar{}}
	for i, n := range u.Requests {
		if n > 0 {
			out.Requests[resultNames[i]] = n
		}
	}
	if u.HasPresence {
		out.Presence = presenceOf(u.Current, loc)
	}
	for _, c := range u.Calendars {
		cal := Calendar{Name: c.Name, LastSuccess: optTime(c.Poll.LastOK), LastGood: optTime(c.LastGood),
			Failures: c.Poll.Failures, NextPoll: optTime(c.Poll.Next), Polls: c.Poll.Polls, Errors: c.Poll.Errors, Stale: c.Stale}
		if c.Poll.LastErr != nil {
			cal.LastError = c.Poll.LastErr.Error()
		}
		out.Calendars = append(out.Calendars, cal)
	}
	return out
}

func presenceOf(s agent.Segment, loc *time.Location) *Presence {
	p := &Presence{Basic: s.Basic, Activities: []string{}, Note: s.Note, Rule: s.Rule, Override: s.Override, Since: s.Start.In(loc), Until: s.End.In(loc)}
	if s.Activities != "" {
		p.Activities = strings.Split(s.Activities, ",")
	}
	p.Class = timechart.ClassOf(timechart.Span{Basic: s.Basic, Activities: s.Activities})
	return p
}

// matches reports whether u is found by the search q (lower case): a
// substring of the AOR, the note, the rule, the basic status or an
// activity, or "stale"/"error" for users with such a calendar.
func matches(u *agent.UserStats, q string) bool {
	if q == "" || strings.Contains(strings.ToLower(u.ID), q) {
		return true
	}
	if u.HasPresence {
		c := u.Current
		if strings.Contains(strings.ToLower(c.Note), q) || strings.Contains(strings.ToLower(c.Rule), q) ||
			c.Basic == q || strings.Contains(c.Activities, q) {
			return true
		}
	}
	for _, c := range u.Calendars {
		if (q == "stale" && c.Stale) || (q == "error" && c.Poll.LastErr != nil) {
			return true
		}
	}
	return false
}

// query is a parsed search and page request.
type query struct {
	Q             string
	Page, PerPage int
}

func parseQuery(r *http.Request, perPage int) (query, error) {
	q := query{Q: strings.TrimSpace(r.URL.Query().Get("q")), Page: 1, PerPage: perPage}
	for _, p := range []struct {
		name string
		v    *int
	}{{"page", &q.Page}, {"per_page", &q.PerPage}} {
		if s := r.URL.Query().Get(p.name); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 1 {
				return q, fmt.Errorf("%s=%q: want a positive number", p.name, s)
			}
			*p.v = n
		}
	}
	q.PerPage = min(q.PerPage, MaxPerPage)
	return q, nil
}

// listing is one page of the users that match.
type listing struct {
	Summary Summary
	Matched int
	First   int // 1-based index of the first user on the page; 0 if none
	Users   []User
}

// list filters and pages the agent's users; all: no paging.
func (h *handler) list(q query, all bool) listing {
	st := h.src.Stats()
	var l listing
	l.Summary.Users = len(st.Users)
	needle := strings.ToLower(q.Q)
	from := (q.Page - 1) * q.PerPage
	for i := range st.Users {
		u := &st.Users[i]
		switch {
		case !u.HasPresence:
			l.Summary.NoPresence++
		case u.Current.Basic == "closed":
			l.Summary.Closed++
		case u.Current.Activities != "":
			l.Summary.Busy++
		default:
			l.Summary.Available++
		}
		for _, c := range u.Calendars {
			if c.Stale {
				l.Summary.Stale++
			}
			if c.Poll.LastErr != nil {
				l.Summary.Failing++
			}
		}
		if !matches(u, needle) {
			continue
		}
		if all || (l.Matched >= from && l.Matched < from+q.PerPage) {
			l.Users = append(l.Users, userOf(u))
		}
		l.Matched++
	}
	if len(l.Users) > 0 {
		l.First = from + 1
		if all {
			l.First = 1
		}
	}
	return l
}

func (h *handler) index(w http.ResponseWriter, r *http.Request) {
	q, err := parseQuery(r, h.opts.PerPage)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	l := h.list(q, false)
	pages := max(1, (l.Matched+q.PerPage-1)/q.PerPage)
	link := func(page int) string {
		v := url.Values{}
		if q.Q != "" {
			v.Set("q", q.Q)
		}
		if q.PerPage != h.opts.PerPage {
			v.Set("per_page", strconv.Itoa(q.PerPage))
		}
		v.Set("page", strconv.Itoa(page))
		return "/?" + v.Encode()
	}
	data := map[string]any{
		"Now": h.opts.Now(), "Query": q, "Listing": l, "Pages": pages,
		"Last": l.First + len(l.Users) - 1,
	}
	if q.Page > 1 {
		data["Prev"] = link(q.Page - 1)
	}
	if q.Page < pages {
		data["Next"] = link(q.Page + 1)
	}
	render(w, "index.html", data)
}

// dayOf parses the day parameter in loc; "" is today.
func dayOf(s string, now time.Time, loc *time.Location) (time.Time, error) {
	if s == "" {
		y, m, d := now.In(loc).Date()
		return time.Date(y, m, d, 0, 0, 0, 0, loc), nil
	}
	t, err := time.ParseInLocation(time.DateOnly, s, loc)
	if err != nil {
		return t, fmt.Errorf("day=%q: want YYYY-MM-DD", s)
	}
	return t, nil
}

// findUser is the user's stats and timeline; false: no such user.
func (h *handler) findUser(id string) (User, agent.UserTimeline, bool) {
	tl, ok := h.src.Timeline(id)
	if !ok {
		return User{}, tl, false
	}
	st := h.src.Stats()
	for i := range st.Users {
		if st.Users[i].ID == id {
			return userOf(&st.Users[i]), tl, true
		}
	}
	return User{}, tl, false // removed in between
}

func (h *handler) user(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("aor")
	u, tl, ok := h.findUser(id)
	if !ok {
		http.Error(w, fmt.Sprintf("no user %q", id), http.StatusNotFound)
		return
	}
	now := h.opts.Now()
	day, err := dayOf(r.URL.Query().Get("day"), now, u.loc)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	next := day.AddDate(0, 0, 1)
	spans := make([]timechart.Span, 0, len(tl.Segments))
	type row struct {
		Start, End, Class string
		agent.Segment
	}
	var rows []row
	for _, s := range tl.Segments {
		sp := timechart.Span{Start: s.Start, End: s.End, Basic: s.Basic, Activities: s.Activities, Note: s.Note, Rule: s.Rule, Override: s.Override}
		spans = append(spans, sp)
		if s.End.After(day) && s.Start.Before(next) {
			rows = append(rows, row{Start: s.Start.In(u.loc).Format("Mon 2 Jan 15:04"), End: s.End.In(u.loc).Format("Mon 2 Jan 15:04"),
				Class: timechart.ClassOf(sp), Segment: s})
		}
	}
	var svg bytes.Buffer
	if err := timechart.Write(&svg, spans, day, next, timechart.Options{Zone: u.loc, Now: now}); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	userPath := "/user/" + (&url.URL{Path: id}).EscapedPath()
	render(w, "user.html", map[string]any{
		"Now": now, "User": u, "Day": day, "Rows": rows,
		// The chart's text is escaped as it is drawn.
		"Chart": template.HTML(svg.String()),
		"Prev":  userPath + "?day=" + day.AddDate(0, 0, -1).Format(time.DateOnly),
		"Next":  userPath + "?day=" + next.Format(time.DateOnly),
	})
}

// render executes a template into a buffer first, so that a failure is a
// 500, not half a page.
func render(w http.ResponseWriter, name string, data any) {
	var b bytes.Buffer
	if err := templates.ExecuteTemplate(&b, name, data); err != nil {
		http.Error(w, "status: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'")
	w.Write(b.Bytes())
}

// StatusJSON is the document of /api/status.
type StatusJSON struct {
	Generated time.Time `json:"generated"`
	Summary   Summary   `json:"summary"`
	Matched   int       `json:"matched"`
	Page      int       `json:"page"`
	PerPage   int       `json:"per_page"` // 0: every user that matched
	Users     []User    `json:"users"`
}

func (h *handler) apiStatus(w http.ResponseWriter, r *http.Request) {
	// Paging only when asked for: scripts want every user.
	all := r.URL.Query().Get("page") == "" && r.URL.Query().Get("per_page") == ""
	q, err := parseQuery(r, h.opts.PerPage)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	l := h.list(q, all)
	out := StatusJSON{Generated: h.opts.Now(), Summary: l.Summary, Matched: l.Matched, Page: q.Page, PerPage: q.PerPage, Users: l.Users}
	if all {
		out.Page, out.PerPage = 1, 0
	}
	if out.Users == nil {
		out.Users = []User{}
	}
	writeJSON(w, http.StatusOK, out)
}

// UserJSON is the document of /api/user/AOR: the user and the timeline's
// segments over the agent's whole window.
type UserJSON struct {
	User
	Segments []Presence `json:"segments"`
}

func (h *handler) apiUser(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("aor")
	u, tl, ok := h.findUser(id)
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": fmt.Sprintf("no user %q", id)})
		return
	}
	out := UserJSON{User: u, Segments: []Presence{}}
	for _, s := range tl.Segments {
		out.Segments = append(out.Segments, *presenceOf(s, u.loc))
	}
	writeJSON(w, http.StatusOK, out)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	w.Write(append(b, '\n'))
}
