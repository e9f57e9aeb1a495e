package main

import (
	"errors"
	"fmt"

	"github.com/calpresence/calpresence/calendar"
	"github.com/calpresence/calpresence/calendar/poll"
	"github.com/calpresence/calpresence/internal/agent"
	"github.com/calpresence/calpresence/internal/config"
	"github.com/calpresence/calpresence/publisher"
	"github.com/calpresence/calpresence/rules"
)

// agentDeps are what the users of one agent share: the calendar sources'
// HTTP client and logger, and the SIP clients, one per CA file.
type agentDeps struct {
	sources   config.SourceDeps
	sipClient func(caFile string) (publisher.Doer, error)
	verify    *verifyDeps // nil: no watchers (verify.go)
}

// buildUsers compiles a loaded config into the agent's users: rules
// compiled (once per file), sources built, schedules parsed. It does no
// network I/O. Either every user builds or the error lists every failure.
func buildUsers(cfg *config.Config, deps agentDeps) ([]agent.User, error) {
	compiled := map[string]*rules.Rules{}
	var errs []error
	specs := make([]agent.User, 0, len(cfg.Users))
	for _, u := range cfg.Users {
		rs, ok := compiled[u.RulesPath]
		if !ok {
			var err error
			if rs, err = loadRules(u.RulesPath); err != nil {
				errs = append(errs, err)
			}
			compiled[u.RulesPath] = rs
		}
		s := agent.User{
			ID: u.AOR, Zone: u.Zone, Rules: rs,
			Publisher: publisher.Options{
				AOR: u.AOR, Proxy: u.SIP.Proxy, Username: u.SIP.Username,
				Password: u.SIP.Password.Func(), Expires: u.SIP.Expires, Grace: u.SIP.Grace,
			},
			PublisherKey: fmt.Sprintf("%s\x00%s\x00%s\x00%v\x00%v\x00%s\x00%v", u.SIP.Proxy, u.SIP.Username,
				u.SIP.Password.Key(), u.SIP.Expires, u.SIP.Grace, u.SIP.CAFile, u.SIP.Verify),
			NoBLF: !u.SIP.BLF,
		}
		if u.SIP.Verify && deps.verify != nil {
			w, err := deps.verify.watcher(u.AOR, u.SIP.Proxy)
			if err != nil {
				errs = append(errs, fmt.Errorf("user %s: %w", u.AOR, err))
			}
			s.Watch = w
		}
		if deps.sipClient != nil {
			d, err := deps.sipClient(u.SIP.CAFile)
			if err != nil {
				errs = append(errs, fmt.Errorf("user %s: %w", u.AOR, err))
			}
			s.Doer = d
		}
		srcDeps := deps.sources
		if srcDeps.Logger != nil {
			srcDeps.Logger = srcDeps.Logger.With("user", u.AOR) // whose calendar, among many users
		}
		for _, c := range u.Calendars {
			src, err := config.NewSource(c, calendar.ParseOptions{Calendar: c.Name, Source: c.URL, Zone: u.Zone, Me: u.Me}, srcDeps)
			if err != nil {
				errs = append(errs, fmt.Errorf("user %s: %w", u.AOR, err))
				continue
			}
			sched, err := poll.ParseSchedule(c.Poll)
			if err != nil {
				errs = append(errs, fmt.Errorf("user %s: calendar %s: poll %q: %w", u.AOR, c.Name, c.Poll, err))
				continue
			}
			s.Calendars = append(s.Calendars, agent.Calendar{
				Name: c.Name, Source: src, Poll: sched,
				// The data of a calendar depends on where it is read and how
				// it is interpreted; a change of any of these starts afresh.
				Key: fmt.Sprintf("%s\x00%s\x00%s\x00%q\x00%s\x00%s\x00%q", c.Type, c.URL, c.Username,
					c.Calendars, c.Password.Key(), u.Zone, u.Me),
			})
		}
		specs = append(specs, s)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return specs, nil
}
