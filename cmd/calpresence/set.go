package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/calpresence/calpresence/internal/control"
	"github.com/calpresence/calpresence/rules"
)

const setUsage = "usage: calpresence set [-config FILE] [-user AOR] STATE [-for D | -until T] [-note TEXT] | -clear"

// runSet tells the running agent a user's own status, which beats the
// calendar until it ends (or is cleared).
func runSet(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet(e.stderr, "set", setUsage,
		"Makes STATE (available, busy, dnd, away, or a rule's name) the user's presence at the running agent until it ends;",
		"the calendar's presence is published again from then on. -clear ends it now.")
	configPath := fs.String("config", "", "config `FILE` of the running agent (default $XDG_CONFIG_HOME/calpresence/config.toml)")
	user := fs.String("user", "", "the user's `AOR` (default: the agent's one user)")
	forD := fs.Duration("for", 0, "end the status after `D`, e.g. 30m")
	until := fs.String("until", "", "end the status at `T`: HH:MM today in the user's zone, or an RFC 3339 time")
	note := fs.String("note", "", "the note to publish instead of the state's")
	clear := fs.Bool("clear", false, "end the user's own status now: the calendar decides again")
	// STATE may stand before, between or after the flags.
	var pos []string
	if err := fs.Parse(args); err != nil {
		return flagsExit(err)
	}
	for fs.NArg() > 0 {
		pos = append(pos, fs.Arg(0))
		if err := fs.Parse(fs.Args()[1:]); err != nil {
			return flagsExit(err)
		}
	}
	bad := func(format string, args ...any) int {
		fmt.Fprintf(e.stderr, "calpresence set: "+format+".\n", args...)
		return 2
	}
	switch {
	case *clear && (len(pos) > 0 || *forD != 0 || *until != "" || *note != ""):
		return bad("-clear takes no STATE, -for, -until or -note")
	case len(pos) > 1:
		return bad("unexpected argument %q (STATE is one word; quote a rule's name with spaces)", pos[1])
	case !*clear && len(pos) != 1:
		fmt.Fprintln(e.stderr, setUsage)
		return bad("give one STATE (%s or a rule's name), or -clear", strings.Join(rules.BuiltinStates, ", "))
	case *forD != 0 && *until != "":
		return bad("give -for or -until, not both")
	case *forD < 0:
		return bad("-for %v: want a positive duration", *forD)
	}
	t, err := loadControlTarget(e, *configPath)
	if err != nil {
		return fail(e, err)
	}
	req := control.Request{Op: control.OpClear, User: *user}
	if !*clear {
		req = control.Request{Op: control.OpSet, User: *user, State: pos[0], Note: *note, For: *forD}
		if *until != "" {
			if req.Until, err = t.parseUntil(*until, *user, time.Now()); err != nil {
				return fail(e, err)
			}
		}
	}
	res, err := t.call(ctx, req)
	if err != nil {
		fmt.Fprintf(e.stderr, "calpresence set: %v.\n", err)
		return exitCode(err)
	}
	if *clear {
		fmt.Fprintf(e.stdout, "%s: own status cleared; the calendar decides\n", res.User)
		return 0
	}
	end := "until cleared"
	switch {
	case !req.Until.IsZero():
		end = "until " + req.Until.Format(time.RFC3339)
	case req.For > 0:
		end = "for " + req.For.String()
	}
	fmt.Fprintf(e.stdout, "%s: %s %s\n", res.User, req.State, end)
	return 0
}

// parseUntil reads -until: HH:MM today in the user's zone (from the
// config), or an RFC 3339 time or a date; it must be after now.
func (t *controlTarget) parseUntil(s, user string, now time.Time) (time.Time, error) {
	zone := time.UTC
	for _, u := range t.cfg.Users {
		if user == "" || u.AOR == user {
			zone = u.Zone
			break
		}
	}
	var at time.Time
	if c, err := time.Parse("15:04", s); err == nil {
		n := now.In(zone)
		at = time.Date(n.Year(), n.Month(), n.Day(), c.Hour(), c.Minute(), 0, 0, zone)
	} else if at, err = parseTime("until", s, zone); err != nil {
		return time.Time{}, usagef("-until %q: want HH:MM (today, in the user's zone) or an RFC 3339 time", s)
	}
	if !at.After(now) {
		return time.Time{}, usagef("-until %s is in the past", at.Format(time.RFC3339))
	}
	return at, nil
}
