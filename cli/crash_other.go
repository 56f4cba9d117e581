//go:build !unix

package cli

import (
	"os"

	"statelab/servers"
)

// armOnSignal does nothing where there is no SIGUSR1.
func armOnSignal(*servers.Server) (stop func()) { return func() {} }

// dieNow ends this process at once.
func dieNow() { os.Exit(137) }
