// Package calpresence holds what the whole project ships beside its code:
// the example rules that are also the built-in default ([DefaultRules]).
package calpresence
