package compose

import (
	"slices"
	"testing"

	"github.com/moby/moby/api/types/container"
)

func TestWithEnv(t *testing.T) {
	for _, tc := range []struct {
		env  []string
		set  map[string]string
		want []string
	}{
		{[]string{"A=1", "B=2"}, nil, []string{"A=1", "B=2"}},
		{[]string{"A=1", "B=2"}, map[string]string{"B": "3"}, []string{"A=1", "B=3"}},
		{[]string{"A=1"}, map[string]string{"C": "x", "B": "y"}, []string{"A=1", "B=y", "C=x"}},
		{[]string{"AB=1"}, map[string]string{"A": "2"}, []string{"AB=1", "A=2"}},
	} {
		if got := withEnv(tc.env, tc.set); !slices.Equal(got, tc.want) {
			t.Errorf("withEnv(%v, %v) = %v, want %v", tc.env, tc.set, got, tc.want)
		}
	}
}

func TestWithFlag(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"--save", "", "--appendonly", "no"}, []string{"--save", "", "--appendonly", "yes"}},
		{[]string{"--save", ""}, []string{"--save", "", "--appendonly", "yes"}},
		{nil, []string{"--appendonly", "yes"}},
	} {
		if got := withFlag(tc.args, "--appendonly", "yes"); !slices.Equal(got, tc.want) {
			t.Errorf("withFlag(%q) = %q, want %q", tc.args, got, tc.want)
		}
	}
}

// TestOriginal: a container keeps what compose gave it in a label from its
// first recreate on, so that Reset can restore it even after a crash.
func TestOriginal(t *testing.T) {
	plain := container.InspectResponse{Config: &container.Config{Env: []string{"A=1"}, Cmd: []string{"server"}}}
	if s, changed := original(plain); changed || !slices.Equal(s.Env, []string{"A=1"}) {
		t.Errorf("compose's own container: %+v, changed %v", s, changed)
	}
	changedC := container.InspectResponse{Config: &container.Config{
		Env:    []string{"A=1", "STATELAB_FAIL_OPEN=true"},
		Labels: map[string]string{labelOriginal: `{"env":["A=1"],"cmd":["server"]}`},
	}}
	if s, changed := original(changedC); !changed || !slices.Equal(s.Env, []string{"A=1"}) || !slices.Equal(s.Cmd, []string{"server"}) {
		t.Errorf("recreated container: %+v, changed %v", s, changed)
	}
}
