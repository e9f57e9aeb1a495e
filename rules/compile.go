package rules

import (
	"errors"
	"fmt"
	"regexp"
	"regexp/syntax"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/calpresence/calpresence/internal/tomlpos"
	"github.com/calpresence/calpresence/pidf"
)

// pos is where something was written in the rules file.
type pos = tomlpos.Pos

// value is a value of the rules file as written, with its position.
type value = tomlpos.Value

// compiler turns the tree of a rules file into Rules, collecting every
// mistake instead of stopping at the first.
type compiler struct {
	file string
	errs []error
}

func (c *compiler) errorf(p pos, format string, args ...any) {
	c.errs = append(c.errs, tomlpos.Errorf(c.file, p, format, args...))
}

// fields walks the keys of a table, in the order written, handing each to
// its handler; keys without one are reported as unknown.
func (c *compiler) fields(t *tomlpos.Table, where string, handlers map[string]func(v *value)) {
	for _, k := range t.Keys() {
		v := t.Get(k)
		h, ok := handlers[k]
		if !ok {
			known := make([]string, 0, len(handlers))
			for name := range handlers {
				known = append(known, name)
			}
			slices.Sort(known)
			c.errorf(v.KeyPos, "unknown key %q in %s (known: %s)", k, where, strings.Join(known, ", "))
			continue
		}
		h(v)
	}
}

func (c *compiler) want(v *value, key string, k tomlpos.Kind) bool {
	if v.Kind != k {
		c.errorf(v.Pos, "%s must be %s, not %s", key, k, v.Kind)
		return false
	}
	return true
}

func (c *compiler) str(v *value, key string, dst *string) bool {
	if !c.want(v, key, tomlpos.KindString) {
		return false
	}
	*dst = v.Str
	return true
}

func (c *compiler) boolean(v *value, key string, dst **bool) {
	if c.want(v, key, tomlpos.KindBool) {
		b := v.Bool
		*dst = &b
	}
}

func (c *compiler) integer(v *value, key string, min int64) (int, bool) {
	if !c.want(v, key, tomlpos.KindInteger) {
		return 0, false
	}
	switch {
	case v.Int < min:
		c.errorf(v.Pos, "%s must be at least %d, not %d", key, min, v.Int)
		return 0, false
	case v.Int > 1<<31:
		c.errorf(v.Pos, "%s must be at most %d, not %d", key, 1<<31, v.Int)
		return 0, false
	}
	return int(v.Int), true
}

// strs reads an array of strings; each is checked by valid, which returns
// an error message or "".
func (c *compiler) strs(v *value, key string, valid func(s string) string) ([]string, bool) {
	if !c.want(v, key, tomlpos.KindArray) {
		return nil, false
	}
	out := make([]string, 0, len(v.Array))
	ok := true
	for _, e := range v.Array {
		if e.Kind != tomlpos.KindString {
			c.errorf(e.Pos, "%s must hold strings, not %s", key, e.Kind)
			ok = false
			continue
		}
		if msg := valid(e.Str); msg != "" {
			c.errorf(e.Pos, "%s", msg)
			ok = false
			continue
		}
		out = append(out, e.Str)
	}
	return out, ok
}

func oneOf(what string, names []string) func(string) string {
	return func(s string) string {
		if slices.Contains(names, s) {
			return ""
		}
		return fmt.Sprintf("unknown %s %q (one of: %s)", what, s, strings.Join(names, ", "))
	}
}

func (c *compiler) duration(v *value, key string) (time.Duration, bool) {
	var s string
	if !c.str(v, key, &s) {
		return 0, false
	}
	d, err := parseDuration(s)
	if err != nil {
		c.errorf(v.Pos, "%s: %v", key, err)
		return 0, false
	}
	return d, true
}

// parseDuration is time.ParseDuration that also knows days ("2d").
func parseDuration(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		if days, err := strconv.Atoi(n); err == nil && days >= 0 && days < 10000 {
			return time.Duration(days) * 24 * time.Hour, nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q (write e.g. \"5m\", \"1h30m\", \"2d\")", s)
	}
	if d < 0 {
		return 0, fmt.Errorf("invalid duration %q: must not be negative", s)
	}
	return d, nil
}

var weekdayNames = []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

func (c *compiler) weekdays(v *value, key string) (uint8, bool) {
	days, ok := c.strs(v, key, oneOf("weekday", weekdayNames))
	if !ok {
		return 0, false
	}
	var mask uint8
	for _, d := range days {
		mask |= 1 << slices.Index(weekdayNames, d)
	}
	if mask == 0 {
		c.errorf(v.Pos, "%s must name at least one day", key)
		return 0, false
	}
	return mask, true
}

// window is a daily time window [from, to) in minutes after midnight; to
// <= from means it runs past midnight.
type window struct{ from, to int }

func (w window) contains(min int) bool {
	if w.from < w.to {
		return min >= w.from && min < w.to
	}
	return min >= w.from || min < w.to
}

func (w window) String() string {
	return fmt.Sprintf("%02d:%02d-%02d:%02d", w.from/60, w.from%60, w.to/60, w.to%60)
}

func (c *compiler) window(v *value, key string) (*window, bool) {
	var s string
	if !c.str(v, key, &s) {
		return nil, false
	}
	a, b, ok := strings.Cut(s, "-")
	from, err1 := parseClock(strings.TrimSpace(a))
	to, err2 := parseClock(strings.TrimSpace(b))
	if !ok || err1 != nil || err2 != nil || from == to {
		c.errorf(v.Pos, "%s: invalid time window %q (write e.g. \"08:00-18:00\")", key, s)
		return nil, false
	}
	return &window{from, to}, true
}

func parseClock(s string) (int, error) {
	h, m, ok := strings.Cut(s, ":")
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if !ok || err1 != nil || err2 != nil || len(m) != 2 || hh < 0 || hh > 24 || mm < 0 || mm > 59 || hh == 24 && mm != 0 {
		return 0, errors.New("invalid clock time")
	}
	return hh*60 + mm, nil
}

func (c *compiler) regexp(v *value, key string, caseSensitive bool) *regexp.Regexp {
	var s string
	if !c.str(v, key, &s) {
		return nil
	}
	src := s
	if !caseSensitive {
		src = "(?i)" + s
	}
	re, err := regexp.Compile(src)
	if err != nil {
		if _, err2 := regexp.Compile(s); err2 != nil {
			err = err2 // report the expression as written
		}
		var se *syntax.Error
		msg := err.Error()
		if errors.As(err, &se) {
			msg = fmt.Sprintf("%s: %s", se.Code, se.Expr)
		}
		c.errorf(v.Pos, "%s: invalid regular expression: %s", key, msg)
		return nil
	}
	return re
}

// compile reads the whole file.
func (c *compiler) compile(root *tomlpos.Table) *Rules {
	r := &Rules{noteLimit: 64, def: presence{basic: pidf.Open}}
	c.fields(root, "the rules file", map[string]func(*value){
		"note_limit": func(v *value) {
			if n, ok := c.integer(v, "note_limit", 0); ok {
				r.noteLimit = n
			}
		},
		"lang": func(v *value) {
			if c.str(v, "lang", &r.lang) && !langRE.MatchString(r.lang) {
				c.errorf(v.Pos, "lang %q is not a language tag (write e.g. \"en\" or \"de-CH\")", r.lang)
			}
		},
		"default": func(v *value) {
			if c.want(v, "[default]", tomlpos.KindTable) {
				r.def = c.presence(v, "[default]")
			}
		},
		"working_hours": func(v *value) {
			if c.want(v, "[working_hours]", tomlpos.KindTable) {
				r.work = c.workingHours(v)
			}
		},
		"rule": func(v *value) {
			if v.Kind == tomlpos.KindTable {
				c.errorf(v.KeyPos, "rules are written [[rule]], with double brackets: there may be many")
				return
			}
			if !c.want(v, "rule", tomlpos.KindArray) {
				return
			}
			for _, e := range v.Array {
				if !c.want(e, "[[rule]]", tomlpos.KindTable) {
					continue
				}
				ru := c.rule(e, len(r.rules))
				r.rules = append(r.rules, ru)
			}
		},
	})
	names := map[string]pos{}
	for _, ru := range r.rules {
		if p, dup := names[ru.name]; dup && ru.name != "" {
			c.errorf(ru.pos, "rule name %q is already used at line %d", ru.name, p.Line)
		}
		names[ru.name] = ru.pos
	}
	return r
}

func (c *compiler) workingHours(v *value) *workingHours {
	w := &workingHours{days: 0b0111110}
	var haveHours, haveOutside bool
	c.fields(v.Table, "[working_hours]", map[string]func(*value){
		"days": func(v *value) {
			if m, ok := c.weekdays(v, "days"); ok {
				w.days = m
			}
		},
		"hours": func(v *value) {
			if win, ok := c.window(v, "hours"); ok {
				if win.to <= win.from {
					c.errorf(v.Pos, "hours: working hours must end on the day they start")
					return
				}
				w.hours, haveHours = *win, true
			}
		},
		"outside": func(v *value) {
			if c.want(v, "[working_hours.outside]", tomlpos.KindTable) {
				w.outside, haveOutside = c.presence(v, "[working_hours.outside]"), true
			}
		},
	})
	if !haveHours {
		c.errorf(v.KeyPos, "[working_hours] needs hours, e.g. hours = \"08:00-18:00\"")
	}
	if !haveOutside {
		c.errorf(v.KeyPos, "[working_hours] needs a [working_hours.outside] table: the presence outside them")
	}
	return w
}

func (c *compiler) rule(v *value, index int) *rule {
	ru := &rule{index: index, pos: v.Pos, name: fmt.Sprintf("rule %d", index+1)}
	var matchV, presenceV *value
	var ignore *bool
	c.fields(v.Table, "[[rule]]", map[string]func(*value){
		"name":     func(v *value) { c.str(v, "name", &ru.name) },
		"priority": func(v *value) { ru.priority, _ = c.integer(v, "priority", -1000000) },
		"ignore":   func(v *value) { c.boolean(v, "ignore", &ignore) },
		"show_private": func(v *value) {
			var b *bool
			c.boolean(v, "show_private", &b)
			ru.showPrivate = b != nil && *b
		},
		"lead": func(v *value) { ru.lead, _ = c.duration(v, "lead") },
		"lag":  func(v *value) { ru.lag, _ = c.duration(v, "lag") },
		"match": func(v *value) {
			if c.want(v, "[rule.match]", tomlpos.KindTable) {
				matchV = v
			}
		},
		"presence": func(v *value) {
			if c.want(v, "[rule.presence]", tomlpos.KindTable) {
				presenceV = v
			}
		},
	})
	ru.ignore = ignore != nil && *ignore
	if matchV != nil {
		ru.match = c.match(matchV)
	}
	switch {
	case ru.ignore && presenceV != nil:
		c.errorf(presenceV.KeyPos, "rule %q has ignore = true and a [rule.presence]: choose one", ru.name)
	case !ru.ignore && presenceV == nil:
		c.errorf(v.Pos, "rule %q needs a [rule.presence] table (or ignore = true)", ru.name)
	case presenceV != nil:
		ru.presence = c.presence(presenceV, "[rule.presence]")
	}
	return ru
}

func (c *compiler) match(v *value) matcher {
	var m matcher
	// case_sensitive applies to every expression of the table, wherever it is written.
	if cs := v.Table.Get("case_sensitive"); cs != nil && cs.Kind == tomlpos.KindBool {
		m.caseSensitive = cs.Bool
	}
	re := func(dst **regexp.Regexp, key string) func(*value) {
		return func(v *value) { *dst = c.regexp(v, key, m.caseSensitive) }
	}
	list := func(dst *[]string, key string, names []string) func(*value) {
		return func(v *value) { *dst, _ = c.strs(v, key, oneOf(strings.TrimSuffix(key, "es"), names)) }
	}
	c.fields(v.Table, "[rule.match]", map[string]func(*value){
		"case_sensitive": func(v *value) { c.want(v, "case_sensitive", tomlpos.KindBool) },
		"summary":        re(&m.summary, "summary"),
		"description":    re(&m.description, "description"),
		"location":       re(&m.location, "location"),
		"calendar":       re(&m.calendar, "calendar"),
		"categories":     re(&m.categories, "categories"),
		"all_day":        func(v *value) { c.boolean(v, "all_day", &m.allDay) },
		"transparent":    func(v *value) { c.boolean(v, "transparent", &m.transparent) },
		"organizer_is_me": func(v *value) {
			c.boolean(v, "organizer_is_me", &m.organizerIsMe)
		},
		"private": func(v *value) { c.boolean(v, "private", &m.private) },
		"status":  list(&m.status, "status", []string{"confirmed", "tentative", "cancelled", "none"}),
		"class":   list(&m.class, "class", []string{"public", "private", "confidential"}),
		"response": list(&m.response, "response", []string{"accepted", "declined", "tentative",
			"needs-action", "delegated", "none"}),
		"busy_status": list(&m.busyStatus, "busy_status", []string{"free", "tentative", "busy", "oof",
			"workingelsewhere", "none"}),
		"min_attendees": func(v *value) {
			if n, ok := c.integer(v, "min_attendees", 0); ok {
				m.minAttendees = &n
			}
		},
		"max_attendees": func(v *value) {
			if n, ok := c.integer(v, "max_attendees", 0); ok {
				m.maxAttendees = &n
			}
		},
		"min_duration": func(v *value) {
			if d, ok := c.duration(v, "min_duration"); ok {
				m.minDuration = &d
			}
		},
		"max_duration": func(v *value) {
			if d, ok := c.duration(v, "max_duration"); ok {
				m.maxDuration = &d
			}
		},
		"weekdays": func(v *value) { m.weekdays, _ = c.weekdays(v, "weekdays") },
		"time_of_day": func(v *value) {
			m.timeOfDay, _ = c.window(v, "time_of_day")
		},
	})
	return m
}

func (c *compiler) presence(v *value, where string) presence {
	var p presence
	var haveBasic bool
	c.fields(v.Table, where, map[string]func(*value){
		"basic": func(v *value) {
			if c.str(v, "basic", &p.basic) {
				haveBasic = true
				if p.basic != pidf.Open && p.basic != pidf.Closed {
					c.errorf(v.Pos, "basic must be \"open\" or \"closed\", not %q", p.basic)
				}
			}
		},
		"activities": func(v *value) {
			p.activities, _ = c.strs(v, "activities", validActivity)
			seen := map[string]bool{}
			for _, a := range p.activities {
				if seen[a] {
					c.errorf(v.Pos, "activity %q is listed twice", a)
				}
				seen[a] = true
			}
		},
		"note": func(v *value) {
			var src string
			if c.str(v, "note", &src) {
				p.note = c.template(v, "note", src)
			}
		},
		"mood": func(v *value) {
			p.mood, _ = c.strs(v, "mood", validWithOther("mood", pidf.IsMood, pidf.MoodNames()))
			c.oneOther(v, "mood")
		},
		"place_type": func(v *value) {
			p.placeType, _ = c.strs(v, "place_type", validWithOther("place type", pidf.IsPlaceType, pidf.PlaceTypeNames()))
			c.oneOther(v, "place_type")
		},
		"privacy": func(v *value) { p.privacy, _ = c.strs(v, "privacy", oneOf("privacy value", pidf.PrivacyNames())) },
		"sphere": func(v *value) {
			if c.str(v, "sphere", &p.sphere) && strings.TrimSpace(p.sphere) == "" {
				c.errorf(v.Pos, "sphere must not be empty (\"work\", \"home\" or a word of yours)")
			}
		},
		"blf": func(v *value) {
			var b *bool
			if c.boolean(v, "blf", &b); b != nil {
				p.blf = *b
			}
		},
	})
	if !haveBasic {
		c.errorf(v.KeyPos, "%s needs basic = \"open\" or \"closed\"", where)
	}
	return p
}

// oneOther reports a list with more than one "other:TEXT": PIDF's mood
// and place type carry one other text, a second would be lost.
func (c *compiler) oneOther(v *value, key string) {
	seen := false
	for _, e := range v.Array {
		if e.Kind == tomlpos.KindString && strings.HasPrefix(e.Str, "other:") {
			if seen {
				c.errorf(e.Pos, "%s may hold only one \"other:TEXT\"", key)
			}
			seen = true
		}
	}
}

func validActivity(s string) string {
	if text, ok := strings.CutPrefix(s, "other:"); ok {
		if strings.TrimSpace(text) == "" {
			return `activity "other:" needs a text, e.g. "other:On call"`
		}
		return ""
	}
	if pidf.IsActivity(s) {
		return ""
	}
	return fmt.Sprintf("unknown activity %q (RFC 4480: %s, or \"other:TEXT\")", s, strings.Join(pidf.ActivityNames(), ", "))
}

func validWithOther(what string, valid func(string) bool, names []string) func(string) string {
	return func(s string) string {
		if text, ok := strings.CutPrefix(s, "other:"); ok && strings.TrimSpace(text) != "" {
			return ""
		}
		if valid(s) {
			return ""
		}
		return fmt.Sprintf("unknown %s %q (RFC 4480: %s, or \"other:TEXT\")", what, s, strings.Join(names, ", "))
	}
}

// langRE is the shape of a BCP 47 language tag, as xml:lang takes.
var langRE = regexp.MustCompile(`^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$`)

var execFieldRE = regexp.MustCompile(`can't evaluate field (\w+)`)

// template parses a note template and runs it once against a sample event
// so that references to fields that do not exist fail now, not at 9 am.
func (c *compiler) template(v *value, key, src string) *template.Template {
	t, err := template.New(key).Funcs(templateFuncs()).Option("missingkey=error").Parse(src)
	if err != nil {
		c.errorf(v.Pos, "%s: invalid template: %s", key, trimTemplateErr(err.Error(), key))
		return nil
	}
	var sb strings.Builder
	if err := t.Execute(&sb, sampleNoteData()); err != nil {
		if m := execFieldRE.FindStringSubmatch(err.Error()); m != nil {
			c.errorf(v.Pos, "%s: template refers to unknown field .%s (fields: %s)", key, m[1], strings.Join(noteFields(), ", "))
		} else {
			c.errorf(v.Pos, "%s: template fails: %s", key, trimTemplateErr(err.Error(), key))
		}
		return nil
	}
	return t
}

// trimTemplateErr drops text/template's "template: note:1:5: " prefix,
// which counts positions inside the string rather than the file.
func trimTemplateErr(msg, name string) string {
	msg = strings.TrimPrefix(msg, "template: ")
	if rest, ok := strings.CutPrefix(msg, name+":"); ok {
		// skip "LINE:" or "LINE:COL:"
		for range 2 {
			if i := strings.IndexByte(rest, ':'); i > 0 && isDigits(rest[:i]) {
				rest = rest[i+1:]
			}
		}
		msg = strings.TrimSpace(rest)
	}
	return msg
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}
