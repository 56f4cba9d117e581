package cli_test

import (
	"context"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"statelab"
	"statelab/cli"
	"statelab/lab"
)

// flagsOf lists the flags a subcommand's -h shows.
func flagsOf(t *testing.T, cmd string) []string {
	t.Helper()
	e, out, errb := env(nil)
	cli.Main(context.Background(), []string{cmd, "-h"}, e)
	var flags []string
	for _, m := range regexp.MustCompile(`(?m)^\s+--([a-z][a-z0-9-]*)`).FindAllStringSubmatch(out.String()+errb.String(), -1) {
		flags = append(flags, m[1])
	}
	if len(flags) == 0 {
		t.Fatalf("lab %s -h shows no flag:\n%s%s", cmd, out, errb)
	}
	return flags
}

// TestOneListOfSettings: the settings a scenario changes on an instance
// (lab.Settings) are flags of lab server, and the environment compose.yaml
// gives the containers names only flags of the lab's commands: a setting
// renamed in one place and not the others fails here, not in a workshop.
func TestOneListOfSettings(t *testing.T) {
	server := flagsOf(t, "server")
	for _, f := range lab.SettingFlags() {
		if !slices.Contains(server, f) {
			t.Errorf("lab.Settings sets --%s, which lab server does not have", f)
		}
	}
	known := map[string]bool{}
	for _, cmd := range []string{"server", "lb", "run"} {
		for _, f := range flagsOf(t, cmd) {
			known[statelab.EnvName(f)] = true
		}
	}
	// Where the stack publishes each page on the host, which lab run
	// reads to print addresses a browser can open (cli/published.go).
	for _, name := range append(statelab.VariantNames(), "admin", "live") {
		known["STATELAB_PUBLISHED_"+strings.ToUpper(name)] = true
	}
	compose, err := os.ReadFile("../compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	keys := regexp.MustCompile(`(?m)(?:^|[\s{,])(STATELAB_[A-Z_]+):\s`).FindAllStringSubmatch(string(compose), -1)
	if len(keys) < 10 {
		t.Fatalf("found %d STATELAB_ settings in compose.yaml; the pattern is off", len(keys))
	}
	for _, k := range keys {
		if !known[k[1]] {
			t.Errorf("compose.yaml sets %s, which no flag of lab server, lab lb or lab run reads", k[1])
		}
	}
	if env := (lab.Settings{FailOpen: true}).Env(); env[statelab.EnvName("fail-open")] != "true" || len(env) != 1 {
		t.Errorf("Settings{FailOpen}.Env() = %v", env)
	}
	if s := (lab.Settings{}).String(); !strings.Contains(s, "base configuration") {
		t.Errorf("the zero settings say %q", s)
	}
}
