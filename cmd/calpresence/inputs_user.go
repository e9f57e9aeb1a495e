package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/calpresence/calpresence/internal/config"
)

// noteUser tells, on stderr, whose calendars and timeline a command shows
// when the config has several users, so that a multi-user config never
// silently shows the first; the other users' AORs say what -user takes.
func noteUser(w io.Writer, cfg *config.Config, u *config.User, picked bool) {
	if len(cfg.Users) < 2 {
		return
	}
	var others []string
	for _, o := range cfg.Users {
		if o != u {
			others = append(others, o.AOR)
		}
	}
	how := "the first of the config's users"
	if picked {
		how = "chosen by -user"
	}
	fmt.Fprintf(w, "calpresence: showing %s (%s; -user AOR for another: %s)\n", u.AOR, how, strings.Join(others, ", "))
}
