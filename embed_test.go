package calpresence

import (
	"bytes"
	"os"
	"testing"
)

func TestDefaultRulesIsACopy(t *testing.T) {
	want, err := os.ReadFile("rules.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	a := DefaultRules()
	if !bytes.Equal(a, want) {
		t.Fatalf("DefaultRules() differs from rules.example.toml")
	}
	a[0] ^= 0xff
	if b := DefaultRules(); !bytes.Equal(b, want) {
		t.Errorf("DefaultRules() changed after a caller wrote into its result")
	}
}
