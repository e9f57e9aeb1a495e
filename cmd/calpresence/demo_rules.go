package main

import (
	"github.com/calpresence/calpresence"
	"github.com/calpresence/calpresence/rules"
)

// builtinRules compiles the built-in copy of rules.example.toml, the rules
// of a config that names none and of the demo.
func builtinRules() (*rules.Rules, error) {
	return rules.Parse("rules.example.toml", calpresence.DefaultRules)
}
