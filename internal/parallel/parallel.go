// Package parallel runs a function on every item at once and joins the
// errors: the one way statelab starts, stops or resets several instances
// together.
package parallel

import (
	"errors"
	"sync"
)

// Do calls f for every item, each in its own goroutine, waits for all of
// them, and returns their errors joined, in the order of the items (nil
// when every call succeeded).
func Do[T any](items []T, f func(T) error) error {
	errs := make([]error, len(items))
	var wg sync.WaitGroup
	for i, it := range items {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = f(it)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}
