package inproc

import (
	"context"
	"errors"
	"fmt"
	"os"

	"statelab"
)

// CrashAfterNextWrite arms the instance's crash: after its next cart
// change it closes everything, as a killed process would.
func (rt *Runtime) CrashAfterNextWrite(_ context.Context, name string) error {
	in, err := rt.inst(name)
	if err != nil {
		return err
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if in.srv == nil {
		return fmt.Errorf("%s is not running", name)
	}
	in.srv.ArmCrash()
	return nil
}

// SetKeys writes the instance's keys file and reloads it.
func (rt *Runtime) SetKeys(_ context.Context, name string, keys statelab.Keys) error {
	in, err := rt.inst(name)
	if err != nil {
		return err
	}
	if in.srv == nil {
		return fmt.Errorf("%s is not running", name)
	}
	path := rt.keysFile(name)
	if keys.Empty() {
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	} else if err := os.WriteFile(path, keys.Format(), 0o600); err != nil {
		return err
	}
	return in.srv.Reload()
}
