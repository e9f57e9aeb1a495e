package calpresence

import _ "embed"

//go:embed rules.example.toml
var defaultRules string

// DefaultRules returns rules.example.toml, the rules used when a config
// names none, in a new slice each call: no caller can change another's.
func DefaultRules() []byte { return []byte(defaultRules) }
