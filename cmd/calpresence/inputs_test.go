package main

import (
	"errors"
	"fmt"
	"testing"

	"github.com/calpresence/calpresence/calendar"
	"github.com/calpresence/calpresence/calendar/ics"
	"github.com/calpresence/calpresence/internal/config"
	"github.com/calpresence/calpresence/rules"

	"github.com/calpresence/calpresence/internal/httpx"
)

func TestExitCode(t *testing.T) {
	_, rulesErr := rules.Parse("r.toml", []byte("[[rule]]\nbogus = 1\n"))
	_, configErr := config.Parse("c.toml", []byte("timezone = \"Mars/Olympus\"\n"), func(string) string { return "" })
	_, configSyntax := config.Parse("c.toml", []byte("timezone = \n"), func(string) string { return "" })
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"usage", usagef("no"), 2},
		{"rules file", fmt.Errorf("preview: %w", rulesErr), 2},
		{"config file", configErr, 2},
		{"config syntax", configSyntax, 2},
		{"ics", &calendar.SyntaxError{File: "a.ics", Line: 1, Col: 1, Msg: "bad"}, 2},
		{"runtime", errors.New("publish: 503"), 1},
		{"input", &inputError{errors.New("config: open c.toml: no such file or directory")}, 2},
		{"ics unreadable", fmt.Errorf("calendar: %w", &ics.FetchError{URL: "a.ics", Input: true, Err: errors.New("bad")}), 2},
		{"ics server down", &ics.FetchError{URL: "http://x/a.ics", Err: errors.New("connection refused")}, 1},
		{"caldav credentials", fmt.Errorf("calendar work: %w", &httpx.StatusError{Method: "PROPFIND", URL: "https://dav/", Code: 401}), 2},
		{"caldav not found", &httpx.StatusError{Method: "PROPFIND", URL: "https://dav/", Code: 404}, 2},
		{"caldav overloaded", &httpx.StatusError{Method: "REPORT", URL: "https://dav/", Code: 429}, 1},
		{"caldav down", &httpx.StatusError{Method: "REPORT", URL: "https://dav/", Code: 503}, 1},
	}
	for _, tt := range tests {
		if tt.err == nil {
			t.Fatalf("%s: no error to test", tt.name)
		}
		if got := exitCode(tt.err); got != tt.want {
			t.Errorf("exitCode(%v) = %d, want %d", tt.err, got, tt.want)
		}
	}
}
