// Command wardline is the Wardline appliance: run `wardline serve` to start
// it and `wardline help` for the admin commands.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/wardline/wardline/appliance"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := appliance.Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
