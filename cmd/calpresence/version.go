package main

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
)

// version is set at link time (-ldflags "-X main.version=v1.2.3").
var version = "dev"

func runVersion(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet(e.stderr, "version", "usage: calpresence version", "Prints the version, the commit and the Go version.")
	if err := parseFlags(fs, args); err != nil {
		return flagsExit(err)
	}
	commit, modified := "unknown", false
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				commit = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
		if version == "dev" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			version = bi.Main.Version
		}
	}
	if modified {
		commit += "-dirty"
	}
	fmt.Fprintf(e.stdout, "calpresence %s\ncommit %s\n%s %s/%s\n", version, commit, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return 0
}
