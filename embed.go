// Package calpresence holds what the whole project ships beside its code:
// the example rules that are also the built-in default.
package calpresence

import _ "embed"

// DefaultRules is rules.example.toml, the rules used when a config names
// none.
//
//go:embed rules.example.toml
var DefaultRules []byte
