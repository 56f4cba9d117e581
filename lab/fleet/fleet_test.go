package fleet

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
)

func TestTable(t *testing.T) {
	tb := New[int]()
	for i, name := range Names("memory", 3) {
		if err := tb.Put(name, i, true); err != nil {
			t.Fatal(err)
		}
	}
	if err := tb.Put("memory-4", 3, false); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, want string
		err        error
	}{
		{"memory-2", "", nil},
		{"memory-9", "no instance \"memory-9\" (instances: memory-1, memory-2, memory-3, memory-4)", nil},
	} {
		_, err := tb.Get(tc.name)
		if got := fmt.Sprint(err); (tc.want == "" && err != nil) || (tc.want != "" && got != tc.want) {
			t.Errorf("Get(%q): %v, want %q", tc.name, err, tc.want)
		}
	}
	if err := tb.Put("memory-2", 9, false); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("a second memory-2: %v", err)
	}

	var mu sync.Mutex
	var restarted, removed []string
	err := tb.Reset(func(name string, _ int) error {
		mu.Lock()
		defer mu.Unlock()
		restarted = append(restarted, name)
		return nil
	}, func(name string) error {
		mu.Lock()
		defer mu.Unlock()
		removed = append(removed, name)
		tb.Delete(name)
		return nil
	})
	slices.Sort(restarted)
	if err != nil || !slices.Equal(restarted, Names("memory", 3)) || !slices.Equal(removed, []string{"memory-4"}) {
		t.Errorf("Reset: %v; restarted %v, removed %v", err, restarted, removed)
	}
	if got := tb.All(); !slices.Equal(got, []int{0, 1, 2}) {
		t.Errorf("after the reset: %v", got)
	}

	all, ok := tb.Close()
	if !ok || len(all) != 3 {
		t.Errorf("Close: %v, %v", all, ok)
	}
	if _, ok := tb.Close(); ok {
		t.Error("a second Close returned the instances again")
	}
	if err := tb.Put("memory-5", 5, false); err == nil {
		t.Error("Put after Close succeeded")
	}
}

func TestTableIsBounded(t *testing.T) {
	tb := New[int]()
	for i := range MaxInstances {
		if err := tb.Put(fmt.Sprint("jwt-", i), i, false); err != nil {
			t.Fatal(err)
		}
	}
	if err := tb.Put("jwt-x", 0, false); err == nil || !strings.Contains(err.Error(), "the most it takes") {
		t.Errorf("one more than %d: %v", MaxInstances, err)
	}
}
