// Package fleet is the instance table of the runtimes that run a lab's
// instances themselves (local processes, servers inside this process):
// every instance by name, which belong to the base lab and which were
// added since, a lookup whose error lists the names there are, and the
// reset and close that go over all of them.
package fleet

import (
	"fmt"
	"sort"
	"strings"
	"sync"

	"statelab"
	"statelab/internal/parallel"
)

// MaxInstances bounds the table: a lab of more than this many instances
// is a mistake, not a workshop.
const MaxInstances = 256

// Table holds instances of type T by name. Its methods are safe for
// concurrent use; what an instance holds is its runtime's to guard.
type Table[T any] struct {
	mu     sync.Mutex
	items  map[string]T
	base   map[string]bool
	closed bool
}

// New returns an empty table.
func New[T any]() *Table[T] {
	return &Table[T]{items: map[string]T{}, base: map[string]bool{}}
}

// Names lists the base instances of a variant in a lab of n per variant:
// VARIANT-1 to VARIANT-n.
func Names(v statelab.Variant, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = v.Instance(i + 1)
	}
	return out
}

// Put adds an instance: of the base lab (base), or added since. It fails
// when the name is taken, the table is full or closed.
func (t *Table[T]) Put(name string, x T, base bool) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch _, dup := t.items[name]; {
	case t.closed:
		return fmt.Errorf("instance %s: the lab is closed", name)
	case dup:
		return fmt.Errorf("instance %s already exists", name)
	case len(t.items) >= MaxInstances:
		return fmt.Errorf("instance %s: the lab already runs %d instances, the most it takes", name, MaxInstances)
	}
	t.items[name], t.base[name] = x, base
	return nil
}

// Delete forgets an instance.
func (t *Table[T]) Delete(name string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.items, name)
	delete(t.base, name)
}

// Get returns an instance, or an error that names the instances there are.
func (t *Table[T]) Get(name string) (T, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	x, ok := t.items[name]
	if !ok {
		names := make([]string, 0, len(t.items))
		for n := range t.items {
			names = append(names, n)
		}
		sort.Strings(names)
		return x, fmt.Errorf("no instance %q (instances: %s)", name, strings.Join(names, ", "))
	}
	return x, nil
}

// All returns every instance, by name.
func (t *Table[T]) All() []T {
	t.mu.Lock()
	defer t.mu.Unlock()
	names := make([]string, 0, len(t.items))
	for n := range t.items {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]T, len(names))
	for i, n := range names {
		out[i] = t.items[n]
	}
	return out
}

// Reset brings the table back to the base lab, all at once: restart is
// called for each base instance, remove (which is to Delete it) for each
// added one.
func (t *Table[T]) Reset(restart func(name string, x T) error, remove func(name string) error) error {
	t.mu.Lock()
	type entry struct {
		name string
		x    T
		base bool
	}
	all := make([]entry, 0, len(t.items))
	for n, x := range t.items {
		all = append(all, entry{n, x, t.base[n]})
	}
	t.mu.Unlock()
	return parallel.Do(all, func(e entry) error {
		if !e.base {
			return remove(e.name)
		}
		return restart(e.name, e.x)
	})
}

// Close marks the table closed and returns every instance, to be ended;
// ok is false when it was closed already.
func (t *Table[T]) Close() (all []T, ok bool) {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil, false
	}
	t.closed = true
	t.mu.Unlock()
	return t.All(), true
}
