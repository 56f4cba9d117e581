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

// Claims of the seed articles, quoted.
var (
	claimMemory = scenarios.Claim{Source: "004", Row: "Memory of Past Requests",
		Text: "Stateful: context is stored server-side in memory, cache, or a database. Stateless: none; each request is treated as if it is the first."}
	claimScalability = scenarios.Claim{Source: "004", Row: "Scalability",
		Text: "Stateless: any server instance can handle any request. Stateful: sessions may pin clients to specific server instances unless a shared session store is used."}
	claimFaultTolerance = scenarios.Claim{Source: "004", Row: "Fault Tolerance",
		Text: "Stateless: a server restart has no effect on clients because no session data is lost. Stateful: a server restart can invalidate in-memory sessions unless sessions are stored externally in Redis or a database."}
	claimSticky = scenarios.Claim{Source: "004", Row: "Sticky sessions",
		Text: "Simple to set up but reduces the effectiveness of load balancing and creates a single point of failure: if the assigned server goes down, all its sessions are lost and those clients must log in again."}
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

// Names lists the scenario names.
func Names() []string {
	out := make([]string, len(catalogue))
	for i, s := range catalogue {
		out[i] = s.Name
	}
	return out
}
