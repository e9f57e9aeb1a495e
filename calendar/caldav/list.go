package caldav

import (
	"context"
	"fmt"
	"net/http"
	"slices"

	"github.com/calpresence/calpresence/internal/httpx"
)

// CalendarInfo is one calendar of the account, as discovery finds it.
type CalendarInfo struct {
	Name     string // display name; "" if the server has none
	URL      string // with any credentials and secret-looking parts redacted
	Events   bool   // the calendar may hold events (VEVENT)
	Selected bool   // the source's selection (Options.Calendars) takes it
}

// Calendars logs in and lists the account's calendars, marking those the
// source reads, without reading any events: what `check -online` shows. An
// error of the selection (a named calendar that does not exist) is returned
// beside the list.
func (s *Source) Calendars(ctx context.Context) ([]CalendarInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.ensureHTTP(); err != nil {
		return nil, err
	}
	if s.opts.Password != nil && !s.haveSecret {
		if err := s.readSecret(ctx); err != nil {
			return nil, err
		}
	}
	s.http.setCredentials(s.secret, s.haveSecret)
	defer s.http.setCredentials("", false)
	all, err := s.discoverAll(ctx)
	if err != nil {
		if davStatus(err) == http.StatusUnauthorized {
			s.secret, s.haveSecret = "", false
			return nil, fmt.Errorf("caldav %q: login refused (401): check username and password: %w", s.opts.Name, err)
		}
		return nil, fmt.Errorf("caldav %q: %w", s.opts.Name, err)
	}
	sel, selErr := selectCalendars(all, s.opts.Calendars)
	out := make([]CalendarInfo, len(all))
	for i, c := range all {
		out[i] = CalendarInfo{Name: c.displayName, URL: httpx.RedactURL(c.url), Events: c.holdsEvents(), Selected: slices.Contains(sel, c)}
	}
	if selErr != nil {
		selErr = fmt.Errorf("caldav %q: %w", s.opts.Name, selErr)
	}
	return out, selErr
}
