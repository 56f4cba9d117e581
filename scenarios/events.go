package scenarios

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"statelab/lb/api"
)

// eventLog keeps the balancer's events as they stream in, and lets a step
// wait for one.
type eventLog struct {
	mu     sync.Mutex
	events []api.Event
	notify chan struct{} // closed and replaced on every event
	ended  bool
}

// maxEvents bounds what a long run keeps: the oldest events go first.
const maxEvents = 100_000

func newEventLog() *eventLog { return &eventLog{notify: make(chan struct{})} }

// follow keeps every event of stream, and tells each to on as it comes.
func (l *eventLog) follow(stream <-chan api.Event, on func(api.Event)) {
	for ev := range stream {
		on(ev)
		l.mu.Lock()
		l.events = append(l.events, ev)
		if len(l.events) > maxEvents {
			l.events = append([]api.Event(nil), l.events[len(l.events)-maxEvents/2:]...)
		}
		close(l.notify)
		l.notify = make(chan struct{})
		l.mu.Unlock()
	}
	l.mu.Lock()
	l.ended = true
	close(l.notify)
	l.notify = make(chan struct{})
	l.mu.Unlock()
}

func (l *eventLog) lastID() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.events) == 0 {
		return 0
	}
	return l.events[len(l.events)-1].ID
}

func (l *eventLog) after(id int64) []api.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := []api.Event{}
	for _, ev := range l.events {
		if ev.ID > id {
			out = append(out, ev)
		}
	}
	return out
}

// wait returns the first event after id that matches, waiting up to limit.
func (l *eventLog) wait(ctx context.Context, after int64, limit time.Duration, match func(api.Event) bool) (api.Event, error) {
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	for {
		l.mu.Lock()
		for _, ev := range l.events {
			if ev.ID > after && match(ev) {
				l.mu.Unlock()
				return ev, nil
			}
		}
		notify, ended := l.notify, l.ended
		l.mu.Unlock()
		if ended {
			return api.Event{}, errors.New("the balancer's event stream ended")
		}
		select {
		case <-notify:
		case <-deadline.C:
			return api.Event{}, fmt.Errorf("no such event within %s", limit)
		case <-ctx.Done():
			return api.Event{}, ctx.Err()
		}
	}
}
