package main

import (
	"fmt"
	"log/slog"
	"net/http"

	"github.com/calpresence/calpresence/calendar"
	"github.com/calpresence/calpresence/calendar/caldav"
	"github.com/calpresence/calpresence/calendar/ics"
)

// sourceDeps are what the sources of many users share.
type sourceDeps struct {
	logger *slog.Logger
	// httpClient is shared by every source so that users of one server
	// share its connections; nil gives each kind of source its default.
	httpClient *http.Client
}

// newSource builds the calendar source a config entry describes.
func newSource(c CalendarSettings, p calendar.ParseOptions, deps sourceDeps) (calendar.Source, error) {
	logger := deps.logger
	if logger != nil {
		logger = logger.With("calendar", c.Name)
	}
	switch c.Type {
	case "ics":
		return ics.New(ics.Options{
			Name: c.Name, URL: c.URL, Parse: p,
			Username: c.Username, Password: c.Password.Func(),
			CAFile: c.CAFile, Logger: logger, HTTPClient: deps.httpClient,
		})
	case "caldav":
		return caldav.New(caldav.Options{
			Name: c.Name, URL: c.URL, Parse: p,
			Username: c.Username, Password: c.Password.Func(),
			Calendars: c.Calendars, CAFile: c.CAFile, Logger: logger, HTTPClient: deps.httpClient,
		})
	}
	return nil, fmt.Errorf("calendar %s: unknown type %q", c.Name, c.Type)
}
