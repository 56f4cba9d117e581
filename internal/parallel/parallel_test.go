package parallel_test

import (
	"errors"
	"fmt"
	"sync/atomic"
	"testing"

	"statelab/internal/parallel"
)

func TestDo(t *testing.T) {
	var calls atomic.Int32
	err := parallel.Do([]int{1, 2, 3, 4}, func(i int) error {
		calls.Add(1)
		if i%2 == 0 {
			return fmt.Errorf("item %d failed", i)
		}
		return nil
	})
	if calls.Load() != 4 {
		t.Errorf("%d calls, want 4: every item runs even when one fails", calls.Load())
	}
	if err == nil || err.Error() != "item 2 failed\nitem 4 failed" {
		t.Errorf("err %q, want both failures in the order of the items", err)
	}
	if err := parallel.Do([]string{"a", "b"}, func(string) error { return nil }); err != nil {
		t.Errorf("no failure: %v", err)
	}
	if err := parallel.Do(nil, func(int) error { return errors.New("never called") }); err != nil {
		t.Errorf("no items: %v", err)
	}
}
