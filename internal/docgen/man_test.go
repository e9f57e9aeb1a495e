package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const (
	referencePath = "../../docs/reference.md"
	manPath       = "../../docs/calpresence.1"
)

// The committed man page is what the reference renders to.
func TestManPageUpToDate(t *testing.T) {
	src, err := os.ReadFile(referencePath)
	if err != nil {
		t.Fatal(err)
	}
	committed, err := os.ReadFile(manPath)
	if err != nil {
		t.Fatal(err)
	}
	if got := Render(src); !bytes.Equal(got, committed) {
		t.Errorf("docs/calpresence.1 is not Render(docs/reference.md); run `go generate ./internal/docgen` and commit it")
	}
}

func TestRender(t *testing.T) {
	tests := []struct {
		name, md, want string
	}{
		{"preface is left out", "# title\n\nintro\n\n## Name\n\nx - y\n", ".SH NAME\n.PP\nx \\- y\n"},
		{"headings", "## Exit codes\n### run -x\n", ".SH EXIT CODES\n.SS run \\-x\n"},
		{"paragraph joins lines", "## A\none\ntwo\n\nthree\n", ".SH A\n.PP\none two\n.PP\nthree\n"},
		{"code span", "## A\nuse `-config FILE` here\n", ".SH A\n.PP\nuse \\fB\\-config FILE\\fR here\n"},
		{"unclosed code span", "## A\na `b\n", ".SH A\n.PP\na `b\n"},
		{"backslash", "## A\na\\b\n", ".SH A\n.PP\na\\eb\n"},
		{"fence", "## A\n```\n.x -y\n  z\n```\nafter\n", ".SH A\n.PP\n.RS 4\n.nf\n\\&.x \\-y\n  z\n.fi\n.RE\n.PP\nafter\n"},
		{"list with continuation", "## A\n- one\n  more\n- two\n", ".SH A\n.IP \\(bu 2\none more\n.IP \\(bu 2\ntwo\n"},
		{"table", "## A\n| flag | meaning |\n|---|---|\n| `-a X` | the a `b|c` |\n| 2 | x | y |\n",
			".SH A\n.TP\n\\fB\\-a X\\fR\nthe a \\fBb|c\\fR\n.TP\n2\nx; y\n"},
		{"a line that would be a request", "## A\n'quoted' start\n", ".SH A\n.PP\n\\&'quoted' start\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := strings.TrimPrefix(string(Render([]byte(tt.md))), header)
			if got != tt.want {
				t.Errorf("Render(%q) =\n%s\nwant\n%s", tt.md, got, tt.want)
			}
		})
	}
}

// groff reads the page without a warning, and the page holds what the
// reference does: every section and command.
func TestManPageFormats(t *testing.T) {
	groff, err := exec.LookPath("groff")
	if err != nil {
		t.Skip("groff not installed (Debian package groff-base)")
	}
	abs, _ := filepath.Abs(manPath)
	var stderr bytes.Buffer
	cmd := exec.Command(groff, "-man", "-Tutf8", "-ww", abs)
	cmd.Stderr = &stderr
	cmd.Env = append(os.Environ(), "LC_ALL=C.UTF-8")
	out, err := cmd.Output()
	if err != nil || stderr.Len() > 0 {
		t.Fatalf("groff -man -ww %s: %v\n%s", manPath, err, stderr.String())
	}
	// groff overstrikes bold text (c\bc); read it plain.
	text := stripOverstrike(string(out))
	for _, want := range []string{"NAME", "SYNOPSIS", "COMMANDS", "CONFIG", "JSON OUTPUTS", "EXIT CODES",
		"calpresence run", "-metrics-addr ADDR", "password_command", "preview -json"} {
		if !strings.Contains(text, want) {
			t.Errorf("groff's rendering of %s lacks %q", manPath, want)
		}
	}
}

func stripOverstrike(s string) string {
	var b strings.Builder
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		if i+1 < len(rs) && rs[i+1] == '\b' {
			i++ // drop the overstruck character and the backspace
			continue
		}
		b.WriteRune(rs[i])
	}
	return b.String()
}
