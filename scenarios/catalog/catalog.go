// Package catalog is the scenario catalogue: one file per scenario, each
// read like a row of the catalogue table: what happens, the claim of the
// seed articles it tests, its steps, what each variant must show, and the
// lesson. The engine that runs them is package scenarios.
//
// To add a scenario: write NAME.go with a *scenarios.Scenario, add it to
// the list below, give it a README section, and the catalogue test runs it.
package catalog

import (
	"fmt"
	"slices"
	"strings"

	"statelab/scenarios"
)

// catalogue is every scenario, in the order of the catalogue table.
var catalogue = []*scenarios.Scenario{
	roundRobin,
	sticky,
	killInstance,
	rollingRestart,
	scaleOut,
	switchRouting,
	redisDown,
	logoutReplay,
	keyRotation,
	configDrift,
	cost,
	strictAffinity,
	stickyImbalance,
	tokenExpiry,
	retriedWrite,
	slowRedis,
	redisFailover,
	longLived,
	oneInstance,
	leastConn,
	flakyNetwork,
	trafficSpike,
}

// All returns every scenario, in catalogue order.
func All() []*scenarios.Scenario { return slices.Clone(catalogue) }

// Find returns the scenarios named, in the order named; "all" means every
// scenario. An unknown name is an error that lists the known ones.
func Find(names ...string) ([]*scenarios.Scenario, error) {
	if len(names) == 0 {
		return nil, fmt.Errorf("no scenario named: give a name or all (%s)", strings.Join(Names(), ", "))
	}
	var out []*scenarios.Scenario
	for _, n := range names {
		if n == "all" {
			out = append(out, All()...)
			continue
		}
		i := slices.IndexFunc(catalogue, func(s *scenarios.Scenario) bool { return s.Name == n })
		if i < 0 {
			return nil, fmt.Errorf("unknown scenario %q (known: %s, or all)", n, strings.Join(Names(), ", "))
		}
		out = append(out, catalogue[i])
	}
	return out, nil
}

// Claim finds a claim the catalogue quotes by its reference, as the
// "tests" lines say it: "004: Fault Tolerance".
func Claim(ref string) (scenarios.Claim, bool) {
	for _, sc := range catalogue {
		for _, c := range sc.Claims {
			if c.String() == ref {
				return c, true
			}
		}
	}
	return scenarios.Claim{}, false
}

// Names lists the scenario names.
func Names() []string {
	out := make([]string, len(catalogue))
	for i, s := range catalogue {
		out[i] = s.Name
	}
	return out
}
