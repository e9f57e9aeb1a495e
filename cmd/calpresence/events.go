package main

import (
	"context"
	"fmt"
)

// TODO(issue): replaced by the issue that builds the events command.
func runEvents(ctx context.Context, e *env, args []string) int {
	fmt.Fprintln(e.stderr, "calpresence events: not built yet.")
	return 1
}
