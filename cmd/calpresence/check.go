package main

import (
	"context"
	"fmt"
	"slices"

	calpresence "github.com/calpresence/calpresence"
	"github.com/calpresence/calpresence/internal/config"
	"github.com/calpresence/calpresence/rules"
)

// runCheck validates a config and the rules it names, or one rules file,
// without network I/O: "ok" and exit 0, or every error and exit 2.
func runCheck(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet(e.stderr, "check", "usage: calpresence check -config FILE [-online] | -rules FILE",
		"Validates a config, with the rules it names, or a rules file, without network I/O;",
		"with -online it then reaches the presence server and logs into each calendar.")
	configPath := fs.String("config", "", "config `FILE` to validate, with the rules it names (default $XDG_CONFIG_HOME/calpresence/config.toml)")
	rulesPath := fs.String("rules", "", "rules `FILE` to validate")
	online := fs.Bool("online", false, "after the checks, send OPTIONS to each user's presence server and log into each calendar (CalDAV: list its calendars)")
	if err := parseFlags(fs, args); err != nil {
		return flagsExit(err)
	}
	var errs []error
	var cfg *config.Config
	if *configPath != "" || *rulesPath == "" {
		path := *configPath
		if path == "" {
			path = config.DefaultPath(e.getenv)
		}
		var err error
		cfg, err = config.Load(path, e.getenv)
		switch {
		case err != nil && *configPath == "" && isNotExist(err):
			fmt.Fprintf(e.stderr, "calpresence check: give -config FILE or -rules FILE (no config at %s).\n", path)
			return 2
		case err != nil:
			errs = append(errs, err)
		default:
			warnings, secretErrs := cfg.CheckSecrets()
			for _, w := range slices.Concat(cfg.Warnings, warnings) {
				fmt.Fprintf(e.stderr, "warning: %v\n", w)
			}
			errs = append(errs, secretErrs...)
			if *rulesPath == "" { // -rules replaces the config's rules
				seen := map[string]bool{}
				for _, u := range cfg.Users {
					if seen[u.RulesPath] {
						continue
					}
					seen[u.RulesPath] = true
					if _, err := loadRules(u.RulesPath); err != nil {
						errs = append(errs, err)
					}
				}
			}
		}
	}
	if *rulesPath != "" {
		if _, err := rules.Load(*rulesPath); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		// Whatever check finds is a mistake in the files it was given.
		for _, err := range errs {
			printErrors(e.stderr, err)
		}
		return 2
	}
	if *online && cfg != nil && !checkOnline(ctx, e, cfg) {
		return 1
	}
	fmt.Fprintln(e.stdout, "ok")
	return 0
}

// loadRules loads the rules file at path, or the built-in copy of
// rules.example.toml when path is "": the rules of a config that names
// none and of the demo.
func loadRules(path string) (*rules.Rules, error) {
	if path == "" {
		return rules.Parse("rules.example.toml (built in)", calpresence.DefaultRules())
	}
	return rules.Load(path)
}
