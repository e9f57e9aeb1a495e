package config

import (
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/calpresence/calpresence/internal/tomlpos"
)

// Config mistakes are reported in the user's words: what a key takes, with
// an example, instead of the decoder's Go types; an unknown key with the
// keys known where it stands.

// duration reads a lifetime key of [sip] (expires, grace): an integer of
// seconds, as in earlier versions, or a duration string such as "5m" or
// "1h30m". val is the user's value, def the top-level default's (nil:
// none). 0 means unset, or wrong (reported).
func (v *validator) duration(table, key string, val, def any) time.Duration {
	path := table + "." + key
	if val == nil {
		val, path = def, "sip."+key
	}
	var d time.Duration
	switch x := val.(type) {
	case nil:
		return 0
	case int64:
		d = time.Duration(x) * time.Second
		if x <= 0 {
			v.errorf(path, "%s must be positive: seconds or a duration, e.g. %s = %q, not %d", key, key, example(key), x)
			return 0
		}
	case string:
		var err error
		d, err = time.ParseDuration(strings.TrimSpace(x))
		if err != nil || d < time.Second {
			v.errorf(path, "%s: %q is not a duration of a second or more, e.g. %q or %q", key, x, example(key), "90s")
			return 0
		}
	default:
		v.errorf(path, "%s must be seconds or a duration, e.g. %s = %q", key, key, example(key))
		return 0
	}
	return d
}

func example(key string) string {
	if key == "grace" {
		return "2m"
	}
	return "1h"
}

// keyWords says what each key of the file takes, with an example, by the
// key's last name.
var keyWords = map[string]string{
	"timezone":         `must be an IANA zone name, e.g. "Europe/Berlin"`,
	"rules":            `must be the path of a rules file, e.g. "rules.toml"`,
	"me":               `must be a list of addresses, e.g. ["mailto:alice@example.com"]`,
	"state_dir":        `must be a directory path, e.g. "~/.local/state/calpresence"`,
	"sip":              `must be a table: [sip] with aor, proxy, username, ...`,
	"calendar":         `must be tables: [[calendar]] with name, url, ...`,
	"user":             `must be tables: [[user]] with aor and [[user.calendar]]`,
	"aor":              `must be a SIP address, e.g. "sip:alice@example.com"`,
	"proxy":            `must be a SIP URI, e.g. "sip:pbx.example.com:5060;transport=tcp"`,
	"username":         `must be a string, e.g. "alice"`,
	"password":         `must be a string`,
	"password_env":     `must be the name of an environment variable, e.g. "CALPRESENCE_SIP_PASSWORD"`,
	"password_file":    `must be a file path, e.g. "~/.config/calpresence/sip-password"`,
	"password_command": `must be a command as a list of strings, e.g. ["pass", "show", "sip/alice"]`,
	"ca_file":          `must be the path of a PEM file, e.g. "/etc/ssl/certs/company-ca.pem"`,
	"name":             `must be a string, e.g. "work"`,
	"type":             `must be "ics" or "caldav"`,
	"url":              `must be a URL or path, e.g. "https://dav.example.com/"`,
	"calendars":        `must be a list of calendar names, e.g. ["Work", "Team"]`,
	"poll":             `must be a cron spec or "@every D", e.g. "*/5 * * * *" or "@every 5m"`,
	"blf":              `must be true or false`,
	"verify":           `must be true or false`,
	"users_dir":        `must be a directory path, e.g. "users.d"`,
}

// goTypeError is how go-toml words a value of the wrong type.
var goTypeError = regexp.MustCompile(`^(?:([\w.]+): )?cannot decode TOML \w+ into .*$`)

// explainDecodeErrors rewrites the decoder's errors in the user's words.
func explainDecodeErrors(errs []error) []error {
	for _, err := range errs {
		e, ok := err.(*tomlpos.Error)
		if !ok {
			continue
		}
		if e.UnknownKey {
			e.Msg += knownKeys(e.Msg)
			continue
		}
		if m := goTypeError.FindStringSubmatch(e.Msg); m != nil {
			key := m[1]
			last := key[strings.LastIndexByte(key, '.')+1:]
			if w, ok := keyWords[last]; ok && key != "" {
				e.Msg = key + ": " + w
			} else if key != "" {
				e.Msg = key + ": wrong type of value"
			}
		}
	}
	return errs
}

// unknownKeyMsg is tomlpos's message for an unknown key.
var unknownKeyMsg = regexp.MustCompile(`^unknown key "([^"]+)"$`)

// knownKeys lists the keys known in the table of an unknown key, e.g.
// ` (known in [sip]: aor, ca_file, ...)`.
func knownKeys(msg string) string {
	m := unknownKeyMsg.FindStringSubmatch(msg)
	if m == nil {
		return ""
	}
	parts := strings.Split(m[1], ".")
	t := reflect.TypeFor[fileConfig]()
	var where []string
	for _, p := range parts[:len(parts)-1] {
		f, ok := fieldByTag(t, p)
		if !ok {
			return "" // inside a table we do not know: say nothing more
		}
		t = f
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct {
			return ""
		}
		where = append(where, p)
	}
	known := tags(t)
	slices.Sort(known)
	if len(where) == 0 {
		return fmt.Sprintf(" (known at the top level: %s)", strings.Join(known, ", "))
	}
	return fmt.Sprintf(" (known in [%s]: %s)", strings.Join(where, "."), strings.Join(known, ", "))
}

// fieldByTag finds the type of the field of struct t whose toml tag is
// name, looking into inline structs.
func fieldByTag(t reflect.Type, name string) (reflect.Type, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag, opts, _ := strings.Cut(f.Tag.Get("toml"), ",")
		if opts == "inline" {
			if ft, ok := fieldByTag(f.Type, name); ok {
				return ft, true
			}
			continue
		}
		if tag == name {
			return f.Type, true
		}
	}
	return nil, false
}

// tags lists the toml names of struct t's fields, inline structs' too.
func tags(t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		tag, opts, _ := strings.Cut(f.Tag.Get("toml"), ",")
		if opts == "inline" {
			out = append(out, tags(f.Type)...)
			continue
		}
		if tag != "" && tag != "-" {
			out = append(out, tag)
		}
	}
	return out
}
