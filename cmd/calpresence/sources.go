package main

import (
	"fmt"
	"log/slog"

	"github.com/calpresence/calpresence/calendar"
)

// sourceDeps are what sources of many users share.
type sourceDeps struct {
	logger *slog.Logger
}

// newSource builds the calendar source a config entry describes.
func newSource(c CalendarSettings, p calendar.ParseOptions, deps sourceDeps) (calendar.Source, error) {
	if c.Type == "ics" {
		return calendar.NewICSSource(calendar.ICSOptions{
			Name: c.Name, URL: c.URL, Parse: p,
			Username: c.Username, Password: c.Password.Func(),
			CAFile: c.CAFile, Logger: deps.logger,
		})
	}
	// Wired to calendar.NewCalDAVSource when it lands.
	return nil, fmt.Errorf("calendar %s: %s sources are not built yet", c.Name, c.Type)
}
