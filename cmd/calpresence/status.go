package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/calpresence/calpresence/internal/control"
)

// runStatus prints each user's presence at the running agent: what is
// published, where it comes from (a calendar rule or the user's own
// status) and when it changes next.
func runStatus(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet(e.stderr, "status", "usage: calpresence status [-config FILE] [-user AOR] [-json]",
		"Prints each user's presence at the running agent, its source (calendar rule or own status) and its next change.")
	configPath := fs.String("config", "", "config `FILE` of the running agent (default $XDG_CONFIG_HOME/calpresence/config.toml)")
	user := fs.String("user", "", "only the user with this `AOR`")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseFlags(fs, args); err != nil {
		return flagsExit(err)
	}
	t, err := loadControlTarget(e, *configPath)
	if err != nil {
		return fail(e, err)
	}
	res, err := t.call(ctx, control.Request{Op: control.OpStatus, User: *user})
	if err != nil {
		fmt.Fprintf(e.stderr, "calpresence status: %v.\n", err)
		return exitCode(err)
	}
	if *user != "" && len(res.Users) == 0 {
		fmt.Fprintf(e.stderr, "calpresence status: unknown user %s.\n", *user)
		return 2
	}
	if *asJSON {
		err = writeJSON(e.stdout, res.Users)
	} else {
		err = writeStatus(e.stdout, res.Users)
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "calpresence status: %v.\n", err)
		return 1
	}
	return 0
}

// writeStatus prints one line per user.
func writeStatus(w io.Writer, us []control.UserStatus) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "USER\tPRESENCE\tSOURCE\tSINCE\tNEXT CHANGE")
	for _, u := range us {
		presence, since, next := "(nothing published yet)", "-", "-"
		if u.Published {
			presence = u.Basic
			if len(u.Activities) > 0 {
				presence += " [" + strings.Join(u.Activities, ", ") + "]"
			}
			if u.Note != "" {
				presence += fmt.Sprintf(" %q", u.Note)
			}
			since = u.Since.Format(time.RFC3339)
			if !u.Next.IsZero() {
				next = u.Next.Format(time.RFC3339)
			}
		}
		source := "calendar (default presence)"
		switch {
		case u.Source == "override":
			source = "own status " + u.Override.State
			if u.Override.Until.IsZero() {
				source += " (until cleared)"
			}
		case u.Rule != "":
			source = "calendar (rule " + u.Rule + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", u.User, presence, source, since, next)
	}
	return tw.Flush()
}
