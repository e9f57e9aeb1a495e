package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"strings"
	"time"

	"github.com/calpresence/calpresence/calendar"
	"github.com/calpresence/calpresence/calendar/ics"
	"github.com/calpresence/calpresence/internal/config"
	"github.com/calpresence/calpresence/internal/httpx"
	"github.com/calpresence/calpresence/internal/tomlpos"
)

// newFlagSet starts the flags of command name; usage (its synopsis and
// what it does) is printed above the flags for -h and after a mistake.
func newFlagSet(w io.Writer, name string, usage ...string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(w)
	fs.Usage = func() {
		for _, line := range usage {
			fmt.Fprintln(w, line)
		}
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args into fs; no command takes positional arguments.
// Its error has been printed; it is flag.ErrHelp for -h (see flagsExit).
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		hint := ""
		if fs.Lookup("ics") != nil {
			hint = " (inputs are given with -ics or -config)"
		}
		fmt.Fprintf(fs.Output(), "calpresence %s: unexpected argument %q%s.\n", fs.Name(), fs.Arg(0), hint)
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	return nil
}

// flagsExit is the exit code after parseFlags failed: 0 when help was
// asked for, 2 for a mistake.
func flagsExit(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	return 2
}

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

// inputFlags are the flags every command that reads calendars takes
// (CONTRACT.md "Inputs").
type inputFlags struct {
	config string
	ics    listFlag
	tz     string
	me     listFlag
	user   string
}

func addInputFlags(fs *flag.FlagSet) *inputFlags {
	f := &inputFlags{}
	fs.StringVar(&f.config, "config", "", "config `FILE` (default $XDG_CONFIG_HOME/calpresence/config.toml when no -ics is given)")
	fs.Var(&f.ics, "ics", "an ICS calendar: file path, file://, http(s):// or webcal:// `URL` (repeatable)")
	fs.StringVar(&f.tz, "tz", "", "IANA `ZONE` for floating times, all-day dates and notes (default: the config's timezone, else the machine's zone)")
	fs.Var(&f.me, "me", "the user's calendar `ADDR`ess, e.g. mailto:alice@example.com (repeatable)")
	fs.StringVar(&f.user, "user", "", "with a config of several [[user]] tables: the `AOR` of the user to read (default: the first)")
	return f
}

// inputs are the loaded inputs of a command.
type inputs struct {
	user    *config.User
	zone    *time.Location
	sources []calendar.Source
}

// usageError is a mistake on the command line: exit code 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

// inputError is a mistake in what a command was given to read (its
// config, its rules, a calendar's location) found before any network I/O,
// such as a file that is missing: exit code 2.
type inputError struct{ err error }

func (e *inputError) Error() string { return e.err.Error() }
func (e *inputError) Unwrap() error { return e.err }

// exitCode maps an error to CONTRACT.md's exit codes: 2 for bad usage,
// config or input, 1 for runtime failures such as an unreachable server.
func exitCode(err error) int {
	var ue *usageError
	var ie *inputError
	var ce *config.Error
	var te *tomlpos.Error // config and rules files alike (rules.Error is this type)
	var se *calendar.SyntaxError
	var fe *ics.FetchError
	var de *httpx.StatusError
	switch {
	case errors.As(err, &ue), errors.As(err, &ie), errors.As(err, &ce), errors.As(err, &te), errors.As(err, &se):
		return 2
	case errors.As(err, &fe):
		if fe.Input { // an unreadable file, not iCalendar, an HTTP 4xx
			return 2
		}
	case errors.As(err, &de):
		// The server refused what the config asks (wrong credentials, no
		// such calendar), as an ICS feed's 4xx is the calendar's fault.
		if de.ClientFault() {
			return 2
		}
	}
	return 1
}

// fail prints err, one line per error it joins, and returns its exit code.
func fail(e *env, err error) int {
	printErrors(e.stderr, err)
	return exitCode(err)
}

// printErrors writes each line of err, which may join several, to w.
func printErrors(w io.Writer, err error) {
	for _, line := range strings.Split(err.Error(), "\n") {
		if line != "" {
			fmt.Fprintln(w, line)
		}
	}
}

// load reads the config (or takes the -ics inputs) and builds the
// calendar sources. It does no network I/O, so whatever fails is the
// command line, the config or a calendar's location: its errors are
// input errors (exit code 2).
func (f *inputFlags) load(e *env) (*inputs, error) {
	// A command's sources log only what goes wrong, beside its output.
	logger := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	in, err := f.loadInputs(e, logger)
	if err != nil {
		return nil, &inputError{err}
	}
	return in, nil
}

func (f *inputFlags) loadInputs(e *env, logger *slog.Logger) (*inputs, error) {
	in := &inputs{}
	if len(f.ics) > 0 && f.config != "" {
		return nil, usagef("give either -config or -ics, not both")
	}
	if len(f.ics) == 0 {
		path := f.config
		if path == "" {
			path = config.DefaultPath(e.getenv)
		}
		cfg, err := config.Load(path, e.getenv)
		if err != nil {
			if f.config == "" && isNotExist(err) {
				return nil, usagef("no inputs: give -ics PATH_OR_URL or -config FILE (no config at %s)", path)
			}
			return nil, err
		}
		in.user = cfg.Users[0]
		if f.user != "" {
			in.user = nil
			for _, u := range cfg.Users {
				if u.AOR == f.user {
					in.user = u
				}
			}
			if in.user == nil {
				return nil, usagef("-user %s: no such user in %s", f.user, path)
			}
		}
		noteUser(e.stderr, cfg, in.user, f.user != "")
	} else {
		in.user = &config.User{Zone: time.Local}
		for i, u := range f.ics {
			in.user.Calendars = append(in.user.Calendars, config.CalendarSettings{Name: icsName(u, i), Type: "ics", URL: u})
		}
	}
	in.zone = in.user.Zone
	if f.tz != "" {
		loc, err := parseZone(f.tz)
		if err != nil {
			return nil, err
		}
		in.zone = loc
	}
	me := in.user.Me
	if len(f.me) > 0 {
		me = f.me
	}
	for _, c := range in.user.Calendars {
		src, err := config.NewSource(c, calendar.ParseOptions{Calendar: c.Name, Source: c.URL, Zone: in.zone, Me: me}, config.SourceDeps{Logger: logger})
		if err != nil {
			return nil, err
		}
		in.sources = append(in.sources, src)
	}
	return in, nil
}

func isNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }

// icsName names an -ics input for the calendar column: its file name
// without extension.
func icsName(u string, i int) string {
	s := u
	if j := strings.IndexAny(s, "?#"); j >= 0 {
		s = s[:j]
	}
	s = strings.TrimRight(s, "/")
	if j := strings.LastIndexAny(s, "/\\"); j >= 0 {
		s = s[j+1:]
	}
	s = strings.TrimSuffix(strings.TrimSuffix(s, ".ics"), ".ical")
	if s == "" {
		return fmt.Sprintf("ics%d", i+1)
	}
	return s
}

// occurrences fetches every source once and expands them over [from, to).
// Warnings (skipped components, capped expansions) go to w.
func (in *inputs) occurrences(ctx context.Context, from, to time.Time, w io.Writer) ([]calendar.Occurrence, error) {
	var events []*calendar.Event
	var errs []error
	for _, src := range in.sources {
		evs, warns, err := src.Fetch(ctx)
		for _, wn := range warns {
			fmt.Fprintf(w, "warning: %s\n", wn)
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		events = append(events, evs...)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	occs, warns := calendar.Expand(events, from, to, calendar.ExpandOptions{Zone: in.zone})
	for _, wn := range warns {
		fmt.Fprintf(w, "warning: %s\n", wn)
	}
	return occs, nil
}

// parseZone reads -tz: an IANA zone name. "Local" is refused: the
// machine's zone is what leaving -tz out gives.
func parseZone(name string) (*time.Location, error) {
	loc, err := time.LoadLocation(name)
	if err != nil || name == "Local" {
		return nil, usagef("-tz %s: unknown time zone (want an IANA name such as Europe/Berlin)", name)
	}
	return loc, nil
}

// windowFlags are -from and -to of the commands that look at a window.
type windowFlags struct{ from, to string }

func addWindowFlags(fs *flag.FlagSet) *windowFlags {
	f := &windowFlags{}
	fs.StringVar(&f.from, "from", "", "start of the window: RFC 3339 `TIME` or a date (midnight in -tz); default now")
	fs.StringVar(&f.to, "to", "", "end of the window, exclusive: RFC 3339 `TIME` or a date; default -from + 7 days")
	return f
}

// parseTime reads a command-line time: RFC 3339, or a bare date meaning
// midnight of that date in loc.
func parseTime(name, s string, loc *time.Location) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if d, err := time.ParseInLocation("2006-01-02", s, loc); err == nil {
		return d, nil
	}
	return time.Time{}, usagef("-%s %q: want an RFC 3339 time (2026-03-02T09:00:00+01:00) or a date (2026-03-02)", name, s)
}

// window reads -from and -to with their defaults: from = now, to = from +
// 7 days; dates are midnight in loc.
func (f *windowFlags) window(now time.Time, loc *time.Location) (from, to time.Time, err error) {
	from = now
	if f.from != "" {
		if from, err = parseTime("from", f.from, loc); err != nil {
			return
		}
	}
	to = from.AddDate(0, 0, 7)
	if f.to != "" {
		if to, err = parseTime("to", f.to, loc); err != nil {
			return
		}
	}
	if !to.After(from) {
		err = usagef("-to %s is not after -from %s", to.Format(time.RFC3339), from.Format(time.RFC3339))
	}
	return
}
