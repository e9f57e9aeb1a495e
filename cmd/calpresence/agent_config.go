package main

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/calpresence/calpresence/calendar"
	"github.com/calpresence/calpresence/publisher"
	"github.com/calpresence/calpresence/rules"
	"github.com/robfig/cron/v3"
)

// buildUsers compiles a loaded config into the agent's users: rules
// compiled (once per file), sources built, schedules parsed. It does no
// network I/O. Either every user builds or the error lists every failure.
func buildUsers(cfg *Config, deps sourceDeps) ([]userSpec, error) {
	compiled := map[string]*rules.Rules{}
	var errs []error
	specs := make([]userSpec, 0, len(cfg.Users))
	for _, u := range cfg.Users {
		rs, ok := compiled[u.RulesPath]
		if !ok {
			var err error
			if u.RulesPath == "" {
				rs, err = builtinRules()
			} else {
				rs, err = rules.Load(u.RulesPath)
			}
			if err != nil {
				errs = append(errs, err)
			}
			compiled[u.RulesPath] = rs
		}
		s := userSpec{
			ID: u.AOR, Zone: u.Zone, Rules: rs,
			Publisher: publisher.Options{
				AOR: u.AOR, Proxy: u.SIP.Proxy, Username: u.SIP.Username,
				Password: u.SIP.Password.Func(), Expires: u.SIP.Expires, Grace: u.SIP.Grace,
			},
			PublisherKey: fmt.Sprintf("%s\x00%s\x00%s\x00%v\x00%v\x00%s", u.SIP.Proxy, u.SIP.Username,
				secretKey(u.SIP.Password), u.SIP.Expires, u.SIP.Grace, u.SIP.CAFile),
		}
		for _, c := range u.Calendars {
			src, err := newSource(c, calendar.ParseOptions{Calendar: c.Name, Source: c.URL, Zone: u.Zone, Me: u.Me}, deps)
			if err != nil {
				errs = append(errs, fmt.Errorf("user %s: %w", u.AOR, err))
				continue
			}
			sched, err := pollSchedule(c.Poll, u.Zone)
			if err != nil {
				errs = append(errs, fmt.Errorf("user %s: calendar %s: poll %q: %w", u.AOR, c.Name, c.Poll, err))
				continue
			}
			s.Calendars = append(s.Calendars, calendarSpec{
				Name: c.Name, Source: src, Poll: sched,
				// The data of a calendar depends on where it is read and how
				// it is interpreted; a change of any of these starts afresh.
				Key: fmt.Sprintf("%s\x00%s\x00%s\x00%q\x00%s\x00%s\x00%q", c.Type, c.URL, c.Username,
					c.Calendars, secretKey(c.Password), u.Zone, u.Me),
			})
		}
		specs = append(specs, s)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return specs, nil
}

// secretKey tells password sources apart without reading them.
func secretKey(s *Secret) string {
	if s == nil {
		return ""
	}
	return fmt.Sprintf("%d\x00%s\x00%q", s.kind, s.value, s.command)
}

// pollSchedule parses a calendar's poll spec, a cron spec or "@every D",
// in the user's zone. robfig/cron's parser panics on some inputs, which is
// an error here.
func pollSchedule(spec string, zone *time.Location) (s schedule, err error) {
	defer func() {
		if r := recover(); r != nil {
			s, err = nil, errors.New("not a cron spec")
		}
	}()
	spec = strings.TrimSpace(spec)
	if strings.HasPrefix(spec, "TZ=") || strings.HasPrefix(spec, "CRON_TZ=") {
		return nil, errors.New("a zone prefix is not supported; schedules run in the user's timezone")
	}
	if d, ok := strings.CutPrefix(spec, "@every "); ok {
		// cron rounds anything below a second, negative ones too, up to a
		// second; a mistake should be an error instead.
		iv, err := time.ParseDuration(strings.TrimSpace(d))
		if err != nil || iv < time.Second {
			return nil, fmt.Errorf("@every wants a duration of at least 1s, such as 5m")
		}
		return cron.Every(iv), nil
	}
	if zone != nil {
		spec = "CRON_TZ=" + zone.String() + " " + spec
	}
	return cron.ParseStandard(spec)
}
