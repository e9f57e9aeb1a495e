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
	// Wired to calendar.NewICSSource and calendar.NewCalDAVSource when they land.
	return nil, fmt.Errorf("calendar %s: %s sources are not built yet", c.Name, c.Type)
}
