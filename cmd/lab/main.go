// Command lab is statelab: run `lab` for its subcommands.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"statelab/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], cli.OSEnv())
	stop()
	os.Exit(code)
}
