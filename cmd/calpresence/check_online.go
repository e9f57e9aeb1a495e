package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/calpresence/calpresence/calendar"
	"github.com/calpresence/calpresence/calendar/caldav"
	"github.com/calpresence/calpresence/internal/config"
	"github.com/calpresence/calpresence/publisher"
)

// checkOnline reaches what a valid config names: each user's presence
// server (an OPTIONS, located as the PUBLISH requests are) and each
// calendar (CalDAV: logs in and lists the account's calendars, marking
// those read; ICS: fetched once). It prints one line per finding and
// returns whether everything answered.
func checkOnline(ctx context.Context, e *env, cfg *config.Config) bool {
	ok := true
	ver, _ := buildInfo()
	log := slog.New(slog.DiscardHandler)
	clients := map[string]*publisher.Client{}
	defer func() {
		for _, c := range clients {
			c.Close()
		}
	}()
	hc := &http.Client{}
	for _, u := range cfg.Users {
		c := clients[u.SIP.CAFile]
		if c == nil {
			var err error
			c, err = publisher.NewClient(publisher.ClientOptions{CAFile: u.SIP.CAFile, Logger: log, UserAgent: "calpresence/" + ver})
			if err != nil {
				fmt.Fprintf(e.stdout, "user %s: presence server: %v\n", u.AOR, err)
				ok = false
				continue
			}
			clients[u.SIP.CAFile] = c
		}
		p := publisher.New(c, publisher.Options{AOR: u.AOR, Proxy: u.SIP.Proxy})
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		res, err := p.Ping(pctx)
		cancel()
		switch {
		case err != nil:
			fmt.Fprintf(e.stdout, "user %s: presence server not reached: %v\n", u.AOR, err)
			ok = false
		case !res.AllowsPublish():
			fmt.Fprintf(e.stdout, "user %s: presence server %s (%s) answers OPTIONS %d %s but does not allow PUBLISH (Allow: %s)\n",
				u.AOR, res.Target.Addr, res.Target.Transport, res.Code, res.Reason, res.Allow)
			ok = false
		default:
			server := ""
			if res.UserAgent != "" {
				server = ", " + res.UserAgent
			}
			fmt.Fprintf(e.stdout, "user %s: presence server %s (%s%s) answers OPTIONS %d %s\n",
				u.AOR, res.Target.Addr, res.Target.Transport, server, res.Code, res.Reason)
		}
		for _, cs := range u.Calendars {
			if !checkCalendarOnline(ctx, e, u, cs, hc, log) {
				ok = false
			}
		}
	}
	return ok
}

// checkCalendarOnline reads one calendar as the agent would and says what
// it found.
func checkCalendarOnline(ctx context.Context, e *env, u *config.User, cs config.CalendarSettings, hc *http.Client, log *slog.Logger) bool {
	popts := calendar.ParseOptions{Calendar: cs.Name, Source: cs.URL, Zone: u.Zone, Me: u.Me}
	src, err := config.NewSource(cs, popts, config.SourceDeps{HTTPClient: hc, Logger: log})
	if err != nil {
		fmt.Fprintf(e.stdout, "user %s: calendar %s: %v\n", u.AOR, cs.Name, err)
		return false
	}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if dav, isDAV := src.(*caldav.Source); isDAV {
		cals, err := dav.Calendars(cctx)
		for _, c := range cals {
			mark := "  "
			if c.Selected {
				mark = "* "
			}
			kind := ""
			if !c.Events {
				kind = " (no events: tasks or journal only)"
			}
			name := c.Name
			if name == "" {
				name = "(no display name)"
			}
			fmt.Fprintf(e.stdout, "user %s: calendar %s: %s%q %s%s\n", u.AOR, cs.Name, mark, name, c.URL, kind)
		}
		if err != nil {
			fmt.Fprintf(e.stdout, "user %s: calendar %s: %v\n", u.AOR, cs.Name, err)
			return false
		}
		fmt.Fprintf(e.stdout, "user %s: calendar %s: logged in; %d calendars, * = read\n", u.AOR, cs.Name, len(cals))
		return true
	}
	events, _, err := src.Fetch(cctx)
	if err != nil {
		fmt.Fprintf(e.stdout, "user %s: calendar %s: %v\n", u.AOR, cs.Name, err)
		return false
	}
	fmt.Fprintf(e.stdout, "user %s: calendar %s: read, %d events\n", u.AOR, cs.Name, len(events))
	return true
}
