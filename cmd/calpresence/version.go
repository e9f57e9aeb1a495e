package main

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
)

// version is set at link time (-ldflags "-X main.version=v1.2.3").
var version = "dev"

// buildInfo is the version (the link-time one, else the module version
// that `go install` records) and the VCS commit of the binary.
func buildInfo() (ver, commit string) {
	ver, commit = version, "unknown"
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ver, commit
	}
	modified := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			commit = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if modified {
		commit += "-dirty"
	}
	if ver == "dev" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		ver = bi.Main.Version
	}
	return ver, commit
}

func runVersion(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet(e.stderr, "version", "usage: calpresence version", "Prints the version, the commit and the Go version.")
	if err := parseFlags(fs, args); err != nil {
		return flagsExit(err)
	}
	ver, commit := buildInfo()
	fmt.Fprintf(e.stdout, "calpresence %s\ncommit %s\n%s %s/%s\n", ver, commit, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return 0
}
