// Package config is the TOML config of calpresence (CONTRACT.md "Config
// (TOML)"): its schema, a strict decode with positions (FILE:LINE:COL),
// validation and the password sources (Secret).
package config

import (
	"cmp"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/calpresence/calpresence/calendar"
	"github.com/calpresence/calpresence/calendar/ics"
	"github.com/calpresence/calpresence/calendar/poll"
	"github.com/calpresence/calpresence/internal/capool"
	"github.com/calpresence/calpresence/internal/tomlpos"
	"github.com/calpresence/calpresence/publisher"
)

// The config file as written (CONTRACT.md "Config (TOML)"). Decoding is
// strict: an unknown key is an error.
type fileConfig struct {
	Timezone  string           `toml:"timezone"`
	Rules     string           `toml:"rules"`
	Me        []string         `toml:"me"`
	StateDir  string           `toml:"state_dir"`
	SIP       sipFileConfig    `toml:"sip"`
	Calendars []calendarConfig `toml:"calendar"`
	Users     []userConfig     `toml:"user"`
	UsersDir  string           `toml:"users_dir"` // users_dir.go
}

type secretConfig struct {
	Password        string   `toml:"password"`
	PasswordEnv     string   `toml:"password_env"`
	PasswordFile    string   `toml:"password_file"`
	PasswordCommand []string `toml:"password_command"`
}

type sipFileConfig struct {
	AOR          string `toml:"aor"`
	Proxy        string `toml:"proxy"`
	Username     string `toml:"username"`
	secretConfig `toml:",inline"`
	Expires      any    `toml:"expires"` // seconds, or a duration string ("1h"); see duration
	Grace        any    `toml:"grace"`   // how long a publication may outlive its segment, likewise
	CAFile       string `toml:"ca_file"`
	BLF          *bool  `toml:"blf"`    // false: no dialog publication for BLF lamps
	Verify       *bool  `toml:"verify"` // watch what watchers are told and repair it
}

type calendarConfig struct {
	Name         string `toml:"name"`
	Type         string `toml:"type"`
	URL          string `toml:"url"`
	Username     string `toml:"username"`
	secretConfig `toml:",inline"`
	Calendars    []string `toml:"calendars"`
	Poll         string   `toml:"poll"`
	CAFile       string   `toml:"ca_file"`
}

type userConfig struct {
	AOR       string           `toml:"aor"`
	Me        []string         `toml:"me"`
	Timezone  string           `toml:"timezone"`
	Rules     string           `toml:"rules"`
	SIP       *sipFileConfig   `toml:"sip"`
	Calendars []calendarConfig `toml:"calendar"`
}

// Config is a loaded, validated config: one User per presentity, with the
// top-level values applied as their defaults.
type Config struct {
	Path     string
	StateDir string // "" = the XDG state directory
	Users    []*User
	// Warnings are allowed but discouraged settings, such as a plain
	// password in the file.
	Warnings []error
	// UsersDir is the users_dir, absolute; "" for none. Files are its
	// files as loaded (users_dir.go); their users are in Users too.
	UsersDir string
	Files    []*UsersFile
	defaults *userDefaults // what users_dir files' users default to
}

// User is one presentity and everything its pipeline needs.
type User struct {
	AOR       string
	Zone      *time.Location
	Me        []string
	RulesPath string // "" = the built-in rules.example.toml
	SIP       SIPSettings
	Calendars []CalendarSettings
}

// SIPSettings say how to publish one user's presence.
type SIPSettings struct {
	Proxy    string
	Username string
	Password *Secret // nil: no digest credentials
	Expires  time.Duration
	Grace    time.Duration
	CAFile   string
	// BLF is whether the rules' blf = true segments are published as a
	// dialog (RFC 4235) for BLF lamps, beside presence; default true.
	BLF bool
	// Verify: subscribe to the presentity as a watcher and republish at
	// once when the server tells watchers something else (publisher/verify).
	Verify bool
}

// CalendarSettings say how to read one calendar.
type CalendarSettings struct {
	Name      string
	Type      string // "ics" or "caldav"
	URL       string
	Username  string
	Password  *Secret // nil: no credentials
	Calendars []string
	Poll      string
	CAFile    string
}

const (
	defaultExpires = 3600 * time.Second
	defaultGrace   = 2 * time.Minute
)

var defaultBLF = true

// DefaultPath is $XDG_CONFIG_HOME/calpresence/config.toml.
func DefaultPath(getenv func(string) string) string {
	dir := getenv("XDG_CONFIG_HOME")
	if dir == "" {
		dir = filepath.Join(getenv("HOME"), ".config")
	}
	return filepath.Join(dir, "calpresence", "config.toml")
}

// Error is every mistake found in a config file.
type Error struct{ errs []error }

func (e *Error) Error() string {
	msgs := make([]string, len(e.errs))
	for i, err := range e.errs {
		msgs[i] = err.Error()
	}
	return strings.Join(msgs, "\n")
}

func (e *Error) Unwrap() []error { return e.errs }

// Load reads and validates the config at path. It does no network
// I/O and does not resolve secrets. An error lists every mistake found,
// each as FILE:LINE:COL: message.
func Load(path string, getenv func(string) string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(path, data, getenv)
}

// Parse validates the config data read from path; see Load.
func Parse(path string, data []byte, getenv func(string) string) (*Config, error) {
	return parse(path, data, getenv, nil)
}

// parse is Parse; prev, on a reload, is the running config (users_dir.go).
func parse(path string, data []byte, getenv func(string) string, prev *Config) (*Config, error) {
	var fc fileConfig
	errs := explainDecodeErrors(tomlpos.Decode(path, data, &fc))
	if !tomlpos.OnlyUnknownKeys(errs) {
		return nil, &Error{errs}
	}
	root, err := tomlpos.Parse(path, data)
	if err != nil { // Decode read it, so this is unexpected
		return nil, &Error{append(errs, err)}
	}
	v := &validator{file: path, root: root, getenv: getenv, dir: filepath.Dir(path), errs: errs}
	cfg := v.config(&fc)
	if len(v.errs) > 0 {
		tomlpos.Sort(v.errs)
		return nil, &Error{v.errs}
	}
	cfg.Warnings = v.warnings
	if err := cfg.loadUsersDir(getenv, prev); err != nil {
		return nil, err
	}
	return cfg, nil
}

type validator struct {
	file     string
	dir      string
	root     *tomlpos.Table // where the keys of the file stand
	getenv   func(string) string
	errs     []error
	warnings []error
}

func (v *validator) errorf(path, format string, args ...any) {
	v.errs = append(v.errs, tomlpos.Errorf(v.file, v.root.Lookup(path), format, args...))
}

func (v *validator) warnf(path, format string, args ...any) {
	v.warnings = append(v.warnings, tomlpos.Errorf(v.file, v.root.Lookup(path), format, args...))
}

func (v *validator) config(fc *fileConfig) *Config {
	cfg := &Config{Path: v.file, StateDir: v.path(fc.StateDir)}
	zone := v.zone("timezone", fc.Timezone, time.Local)
	v.addresses("me", fc.Me)
	rules := v.rulesPath("rules", fc.Rules, "")
	cals := v.calendars("calendar", fc.Calendars)
	cfg.defaults = &userDefaults{zone: zone, me: fc.Me, rules: rules, cals: cals, sip: &fc.SIP, seen: map[string]string{}}
	if fc.UsersDir != "" {
		cfg.UsersDir = v.path(fc.UsersDir)
		if fi, err := os.Stat(cfg.UsersDir); err != nil || !fi.IsDir() {
			v.errorf("users_dir", "users_dir %s: not a readable directory", cfg.UsersDir)
		}
	}
	if len(fc.Users) == 0 && fc.UsersDir == "" {
		u := &User{AOR: fc.SIP.AOR, Zone: zone, Me: fc.Me, RulesPath: rules, Calendars: cals}
		u.SIP = v.sip("sip", &fc.SIP, nil)
		v.aor("sip.aor", u.AOR, false)
		cfg.Users = []*User{u}
		return cfg
	}
	for i := range fc.Users {
		cfg.Users = append(cfg.Users, v.user("user."+strconv.Itoa(i), &fc.Users[i], cfg.defaults, "user."+strconv.Itoa(i)))
	}
	return cfg
}

// userDefaults are the top-level values that [[user]] tables default to.
type userDefaults struct {
	zone  *time.Location
	me    []string
	rules string
	cals  []CalendarSettings
	sip   *sipFileConfig
	seen  map[string]string // AOR -> where it was given, for duplicates
}

// user validates the [[user]] table uc at p; where names it in the
// message about a later duplicate.
func (v *validator) user(p string, uc *userConfig, d *userDefaults, where string) *User {
	u := &User{
		Zone:      v.zone(p+".timezone", uc.Timezone, d.zone),
		Me:        cmpOr(uc.Me, d.me),
		RulesPath: v.rulesPath(p+".rules", uc.Rules, d.rules),
		Calendars: d.cals,
	}
	v.addresses(p+".me", uc.Me)
	sipc := d.sip
	if uc.SIP != nil {
		sipc = uc.SIP
	}
	u.SIP = v.sip(p+".sip", sipc, d.sip)
	u.AOR = uc.AOR
	switch {
	case uc.AOR == "" && uc.SIP != nil:
		u.AOR = uc.SIP.AOR
	case uc.AOR != "" && uc.SIP != nil && uc.SIP.AOR != "" && uc.SIP.AOR != uc.AOR:
		v.errorf(p+".sip.aor", "user has aor %q and sip.aor %q; give one", uc.AOR, uc.SIP.AOR)
	}
	v.aor(p+".aor", u.AOR, true)
	if prev, dup := d.seen[u.AOR]; dup && u.AOR != "" {
		v.errorf(p+".aor", "aor %q is already the presentity of %s", u.AOR, prev)
	} else {
		d.seen[u.AOR] = where
	}
	if len(uc.Calendars) > 0 {
		u.Calendars = v.calendars(p+".calendar", uc.Calendars)
	}
	if len(u.Calendars) == 0 {
		v.errorf(p, "user %s has no [[user.calendar]] and there is no top-level [[calendar]]", u.AOR)
	}
	return u
}

// cmpOr is cmp.Or for slices: a unless it is empty.
func cmpOr[T any](a, b []T) []T {
	if len(a) > 0 {
		return a
	}
	return b
}

// path resolves p relative to the config file's directory.
func (v *validator) path(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	if strings.HasPrefix(p, "~/") {
		return filepath.Join(v.getenv("HOME"), p[2:])
	}
	return filepath.Join(v.dir, p)
}

func (v *validator) zone(path, name string, def *time.Location) *time.Location {
	if name == "" {
		return def
	}
	if name == "Local" {
		v.errorf(path, "timezone %q is not an IANA zone name; leave it out to use the machine's zone", name)
		return def
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		v.errorf(path, "unknown timezone %q (want an IANA name such as \"Europe/Berlin\")", name)
		return def
	}
	return loc
}

func (v *validator) addresses(path string, addrs []string) {
	for i, a := range addrs {
		u, err := url.Parse(a)
		if err != nil || u.Scheme == "" || u.Opaque == "" && u.Host == "" {
			v.errorf(path+"."+strconv.Itoa(i), "calendar address %q is not a URI (want e.g. \"mailto:alice@example.com\")", a)
		}
	}
}

func (v *validator) rulesPath(path, p, def string) string {
	if p == "" {
		return def
	}
	abs := v.path(p)
	if fi, err := os.Stat(abs); err != nil || fi.IsDir() {
		v.errorf(path, "rules file %s: not a readable file", abs)
	}
	return abs
}

func (v *validator) aor(path, aor string, required bool) {
	if aor == "" {
		if required {
			v.errorf(path, "missing aor, the user's SIP address (e.g. \"sip:alice@example.com\")")
		}
		return
	}
	if err := publisher.CheckAOR(aor); err != nil {
		v.errorf(path, "%v", err)
	}
}

func (v *validator) sip(path string, sc, def *sipFileConfig) SIPSettings {
	if def == nil {
		def = &sipFileConfig{}
	}
	s := SIPSettings{
		Proxy:    cmp.Or(sc.Proxy, def.Proxy),
		Username: cmp.Or(sc.Username, def.Username),
		CAFile:   v.path(cmp.Or(sc.CAFile, def.CAFile)),
		Expires:  defaultExpires,
		Grace:    defaultGrace,
		BLF:      *cmp.Or(sc.BLF, def.BLF, &defaultBLF),
	}
	if s.Proxy != "" {
		if err := publisher.CheckProxy(s.Proxy); err != nil {
			v.errorf(path+".proxy", "%v", err)
		}
	}
	if d := v.duration(path, "expires", sc.Expires, def.Expires); d > 0 {
		s.Expires = d
	}
	if d := v.duration(path, "grace", sc.Grace, def.Grace); d > 0 {
		s.Grace = d
	}
	v.caFile(path+".ca_file", s.CAFile)
	s.Verify = v.verify(path, s.Proxy, sc.Verify, def.Verify)
	sec := sc.secretConfig
	if sec.isZero() {
		sec = def.secretConfig
	}
	s.Password = v.secret(path, &sec)
	if s.Password != nil && s.Username == "" {
		v.errorf(path+".username", "a SIP password is set but no username for digest auth")
	}
	return s
}

func (s *secretConfig) isZero() bool {
	return s.Password == "" && s.PasswordEnv == "" && s.PasswordFile == "" && len(s.PasswordCommand) == 0
}

// caFile checks a CA file as the SIP and HTTP clients will read it, so
// that check finds what run would refuse.
func (v *validator) caFile(path, f string) {
	if f == "" {
		return
	}
	if err := capool.Check(f); err != nil {
		v.errorf(path, "%v", err)
	}
}

// secret validates the password sources of one table; at most one may be
// given.
func (v *validator) secret(path string, sc *secretConfig) *Secret {
	var set []string
	s := &Secret{getenv: v.getenv}
	if sc.Password != "" {
		set = append(set, "password")
		s.kind, s.value = secretPlain, sc.Password
		v.warnf(path+".password", "a plain password is stored in the config; prefer password_command, password_file or password_env")
	}
	if sc.PasswordEnv != "" {
		set = append(set, "password_env")
		s.kind, s.value = secretEnv, sc.PasswordEnv
	}
	if sc.PasswordFile != "" {
		set = append(set, "password_file")
		s.kind, s.value = secretFile, v.path(sc.PasswordFile)
	}
	if sc.PasswordCommand != nil {
		set = append(set, "password_command")
		s.kind, s.command = secretCommand, sc.PasswordCommand
		if len(sc.PasswordCommand) == 0 || sc.PasswordCommand[0] == "" {
			v.errorf(path+".password_command", "password_command is empty (want e.g. [\"pass\", \"show\", \"sip\"])")
		}
	}
	switch len(set) {
	case 0:
		return nil
	case 1:
		s.pos = strings.TrimSuffix(tomlpos.Errorf(v.file, v.root.Lookup(path+"."+set[0]), "").Error(), ": ")
		return s
	default:
		v.errorf(path+"."+set[1], "give one of %s, not several", strings.Join(set, ", "))
		return nil
	}
}

func (v *validator) calendars(path string, cs []calendarConfig) []CalendarSettings {
	var out []CalendarSettings
	names := map[string]bool{}
	for i := range cs {
		c := &cs[i]
		p := path + "." + strconv.Itoa(i)
		nerrs := len(v.errs)
		s := CalendarSettings{
			Name: c.Name, Type: strings.ToLower(c.Type), URL: c.URL, Username: c.Username,
			Calendars: c.Calendars, Poll: cmp.Or(c.Poll, poll.DefaultSchedule), CAFile: v.path(c.CAFile),
		}
		if s.Name == "" {
			s.Name = "calendar" + strconv.Itoa(i+1)
		}
		if names[s.Name] {
			v.errorf(p+".name", "calendar name %q is used twice", s.Name)
		}
		names[s.Name] = true
		if s.Type == "" {
			s.Type = "ics"
		}
		switch s.Type {
		case "ics":
			if len(c.Calendars) > 0 {
				v.errorf(p+".calendars", "calendars selects CalDAV calendars; this calendar's type is ics")
			}
			s.URL = v.icsURL(p+".url", c.URL)
		case "caldav":
			if u, err := url.Parse(c.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				v.errorf(p+".url", "caldav url %q is not an http(s) URL", c.URL)
			} else if u.User != nil {
				v.errorf(p+".url", "caldav url carries credentials; use username and password_command instead")
			}
		default:
			v.errorf(p+".type", "calendar type %q is not \"ics\" or \"caldav\"", c.Type)
		}
		if _, err := poll.ParseSchedule(s.Poll); err != nil {
			v.errorf(p+".poll", "%v", err)
		}
		v.caFile(p+".ca_file", s.CAFile)
		s.Password = v.secret(p, &c.secretConfig)
		if len(v.errs) == nerrs {
			// The source checks what only it knows (credentials that its
			// kind of URL cannot carry); building one does no I/O.
			po := calendar.ParseOptions{Calendar: s.Name, Source: s.URL, Zone: time.UTC}
			if _, err := NewSource(s, po, SourceDeps{}); err != nil {
				v.errorf(p, "calendar %s: %v", s.Name, err)
			}
		}
		out = append(out, s)
	}
	return out
}

// icsURL checks an ICS location: a file path, file://, http(s):// or
// webcal://. Relative paths are relative to the config file.
func (v *validator) icsURL(path, raw string) string {
	if raw == "" {
		v.errorf(path, "missing url: a file path or a file://, http(s):// or webcal:// URL")
		return raw
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || len(u.Scheme) == 1 { // C:\ on Windows is a path
		return v.path(raw)
	}
	// The source's own check, and this file's rule that passwords stay
	// out of it.
	if err := ics.CheckURL(raw); err != nil {
		v.errorf(path, "url: %v", err)
	} else if u.User != nil {
		v.errorf(path, "url carries credentials; use username and password_command instead")
	}
	return raw
}
