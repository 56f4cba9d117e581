package ports_test

import (
	"sync"
	"testing"

	"statelab/internal/ports"
)

// TestNeverTwice: from many goroutines at once, no port comes out twice,
// although the kernel may hand out a closed port again.
func TestNeverTwice(t *testing.T) {
	var a ports.Allocator
	var mu sync.Mutex
	seen := map[int]bool{}
	var wg sync.WaitGroup
	for i := 0; i < 200; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, err := a.Free()
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if seen[p] {
				t.Errorf("port %d handed out twice", p)
			}
			seen[p] = true
		}()
	}
	wg.Wait()
}
