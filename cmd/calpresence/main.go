// Command calpresence turns calendars into SIP presence.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/emiago/sipgo/sip"
)

func main() {
	// sipgo logs some internals (connection reference counts) through its
	// package-level logger, not the ones the publisher hands it; only its
	// errors are worth a user's attention.
	sip.SetDefaultLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// command is one subcommand: it parses its own flags from args and returns
// the process exit code (0 success, 1 runtime failure, 2 bad usage or input).
type command struct {
	run   func(ctx context.Context, env *env, args []string) int
	usage string
}

var commands = map[string]command{
	"run":     {runAgent, "run -config FILE: the agent"},
	"demo":    {runDemo, "demo [-speed N]: the main job on an embedded example"},
	"check":   {runCheck, "check -config FILE | -rules FILE: validate without network I/O"},
	"events":  {runEvents, "events [inputs] [-from T] [-to T] [-json]: expanded occurrences"},
	"preview": {runPreview, "preview [inputs] -rules FILE [-from T] [-to T] [-json]: the presence timeline"},
	"explain": {runExplain, "explain [inputs] -rules FILE -at T [-pidf]: why presence is what it is at T"},
	"set":     {runSet, "set [-user AOR] STATE [-for D | -until T] [-note TEXT] | -clear: your own status, at the running agent"},
	"status":  {runStatus, "status [-user AOR] [-json]: each user's presence at the running agent, its source and next change"},
	"version": {runVersion, "version: version, commit, Go version (also -version, --version)"},
	"init":    {runInit, "init [-config FILE] [-aor URI] [-tz ZONE] [-ics PATH_OR_URL] [-force]: write a commented starter config"},
}

var commandOrder = []string{"init", "run", "demo", "check", "events", "preview", "explain", "set", "status", "version"}

// env is what a command reads and writes besides its arguments, so that
// tests can run commands in-process.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
}

// Main runs the command line args and returns the exit code.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr, getenv: os.Getenv}
	if len(args) == 0 || args[0] == "-h" || args[0] == "-help" || args[0] == "--help" || args[0] == "help" {
		printUsage(e.stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	if args[0] == "-version" || args[0] == "--version" {
		args = append([]string{"version"}, args[1:]...)
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(e.stderr, "calpresence: unknown command %q.\n", args[0])
		printUsage(e.stderr)
		return 2
	}
	return cmd.run(ctx, e, args[1:])
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: calpresence COMMAND [flags]")
	fmt.Fprintln(w)
	for _, name := range commandOrder {
		fmt.Fprintln(w, "  "+commands[name].usage)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Inputs are -config FILE or one or more -ics PATH_OR_URL; -tz ZONE and -me ADDR apply to both.")
	fmt.Fprintln(w, "Run 'calpresence COMMAND -h' for a command's flags.")
}
