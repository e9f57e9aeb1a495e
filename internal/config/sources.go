package config

import (
	"fmt"
	"log/slog"
	"net/http"

	"github.com/calpresence/calpresence/calendar"
	"github.com/calpresence/calpresence/calendar/caldav"
	"github.com/calpresence/calpresence/calendar/ics"
)

// SourceDeps are what the sources of many users share.
type SourceDeps struct {
	Logger *slog.Logger
	// HTTPClient is shared by every source so that users of one server
	// share its connections; nil gives each kind of source its default.
	HTTPClient *http.Client
}

// NewSource builds the calendar source a config entry describes.
func NewSource(c CalendarSettings, p calendar.ParseOptions, deps SourceDeps) (calendar.Source, error) {
	// The sources name their calendar in their own log lines.
	logger := deps.Logger
	switch c.Type {
	case "ics":
		return ics.New(ics.Options{
			Name: c.Name, URL: c.URL, Parse: p,
			Username: c.Username, Password: c.Password.Func(),
			CAFile: c.CAFile, Logger: logger, HTTPClient: deps.HTTPClient,
		})
	case "caldav":
		return caldav.New(caldav.Options{
			Name: c.Name, URL: c.URL, Parse: p,
			Username: c.Username, Password: c.Password.Func(),
			Calendars: c.Calendars, CAFile: c.CAFile, Logger: logger, HTTPClient: deps.HTTPClient,
		})
	}
	return nil, fmt.Errorf("calendar %s: unknown type %q", c.Name, c.Type)
}
