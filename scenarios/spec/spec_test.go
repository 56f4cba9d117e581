package spec_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"statelab/lab/inproc"
	"statelab/scenarios"
	"statelab/scenarios/catalog"
	"statelab/scenarios/spec"
)

// examples is the repository's examples folder.
const examples = "../../examples"

// TestParseErrors: every mistake is an error that names its line and
// column (or, for what YAML itself cannot read, its line), never a panic.
func TestParseErrors(t *testing.T) {
	const good = "name: x\nsteps:\n  - probe: a\nexpect:\n  - {variant: memory, probe: a, outcome: kept, users: all}\n"
	if _, err := spec.Parse("good.yaml", []byte(good), catalog.Claim); err != nil {
		t.Fatalf("the good file: %v", err)
	}
	for _, tc := range []struct{ name, data, want string }{
		{"empty", "", "the file is empty"},
		{"not a mapping", "- a\n- b\n", "good.yaml:1:1: the scenario: want a mapping"},
		{"bad YAML", "name: x\nsteps: [{probe: a}\n", "line "},
		{"unknown top key", "name: x\nstep: []\n", "good.yaml:2:1: the scenario: unknown key \"step\""},
		{"no name", "steps:\n  - probe: a\nexpect: []\n", "has no \"name\""},
		{"bad name", "name: a b\nsteps:\n  - probe: a\nexpect:\n  - {variant: memory, probe: a, outcome: kept, users: all}\n", "good.yaml:1:7: name"},
		{"typo in a step", "name: x\nsteps:\n  - kil: 2\nexpect: []\n", "good.yaml:3:5: a step: unknown key \"kil\""},
		{"two actions", "name: x\nsteps:\n  - {kill: 2, stop: 2}\nexpect: []\n", "a step does one thing"},
		{"no action", "name: x\nsteps:\n  - {title: hello}\nexpect: []\n", "a step needs one of"},
		{"instance out of range", "name: x\nsteps:\n  - kill: 0\nexpect: []\n", "good.yaml:3:11: want a whole number from 1 to 9"},
		{"unknown policy", "name: x\nsteps:\n  - policy: random\nexpect: []\n", "good.yaml:3:13:"},
		{"times on a kill", "name: x\nsteps:\n  - {kill: 2, times: 3}\nexpect: []\n", "\"times\" goes with \"probe\" only"},
		{"bad latency", "name: x\nsteps:\n  - redis-latency: forever\nexpect: []\n", "want a duration from 0 to 10s"},
		{"probe twice", "name: x\nsteps:\n  - probe: a\n  - probe: a\nexpect: []\n", "good.yaml:4:5: a second probe named \"a\""},
		{"no expectations", "name: x\nsteps:\n  - probe: a\nexpect: []\n", "expect: want a list"},
		{"unknown variant", strings.Replace(good, "memory", "memroy", 1), "good.yaml:5:15: unknown variant \"memroy\""},
		{"unknown probe", strings.Replace(good, "probe: a,", "probe: b,", 1), "no step probes \"b\""},
		{"unknown outcome", strings.Replace(good, "kept", "happy", 1), "outcome \"happy\": want one of kept, refused, lost"},
		{"bad users", strings.Replace(good, "users: all", "users: most", 1), "users \"most\""},
		{"elsewhere but kept", strings.Replace(good, "users: all", "users: elsewhere", 1), "users: elsewhere goes with outcome: refused"},
		{"slow without delay", "name: x\nsteps:\n  - slow: 1\nexpect: []\n", "good.yaml:3:11: slow: N needs delay"},
		{"slow too slow", "name: x\nsteps:\n  - {slow: 1, delay: 1m}\nexpect: []\n", "delay \"1m\": want a duration above 0 and up to 10s"},
		{"delay without slow", "name: x\nsteps:\n  - {kill: 1, delay: 1s}\nexpect: []\n", "\"delay\" goes with \"slow\" only"},
		{"unknown claim", "claims: [\"009: Nothing\"]\n" + good, "good.yaml:1:10: no claim \"009: Nothing\""},
		{"a blank", strings.Replace(good, "kept", spec.Blank, 1), "good.yaml:5:42: a blank (___) is left to fill in"},
		{"verdict not probed", good + "verdict: z\n", "verdict \"z\": no step probes it"},
		{"a short key", "name: x\nsteps:\n  - keys: {cookie: short}\nexpect: []\n", "good.yaml:3:20: keys.cookie:"},
		{"a raw escape in a title", "name: x\nsteps:\n  - {probe: a, title: \"\x1b[2Jgone\"}\nexpect: []\n", "control characters are not allowed"},
		{"an escape in a step title", "name: x\nsteps:\n  - {probe: a, title: \"\\e[2J\", why: w}\nexpect: []\n", "a control character (U+001B)"},
		{"a summary that is a list", strings.Replace(good, "name: x\n", "name: x\nsummary: [a]\n", 1), "good.yaml:2:10: want a word or a sentence"},
		{"a YAML escape in the lesson", strings.Replace(good, "name: x\n", "name: x\nlesson: \"clear \\e[2J\"\n", 1), "good.yaml:2:9: a control character (U+001B)"},
		{"a clipboard write as JSON", strings.Replace(good, "name: x\n", "name: x\nsummary: \"\\u001b]52;c;ZWNobyBoaQ==\\u0007\"\n", 1), "a control character (U+001B)"},
		{"a C1 control", strings.Replace(good, "name: x\n", "name: x\nsetup: \"\\u009b2J\"\n", 1), "a control character (U+009B)"},
		{"an active key not given", "name: x\nsteps:\n  - keys: {jwt: \"a:0123456789abcdef0123456789abcdef\", active: b}\nexpect: []\n", "keys.active \"b\" is not among the jwt keys"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := spec.Parse("good.yaml", []byte(tc.data), catalog.Claim)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
	big := filepath.Join(t.TempDir(), "big.yaml")
	if err := os.WriteFile(big, []byte(good+"# "+strings.Repeat("x", spec.MaxFile)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := spec.Load(big, catalog.Claim); err == nil || !strings.Contains(err.Error(), "a scenario file is at most") {
		t.Errorf("a file over %d bytes: %v", spec.MaxFile, err)
	}
	// A device with no size: read no further than the limit.
	if _, err := os.Stat("/dev/zero"); err == nil {
		if _, err := spec.Load("/dev/zero", catalog.Claim); err == nil || !strings.Contains(err.Error(), "a scenario file is at most") {
			t.Errorf("/dev/zero: %v", err)
		}
	}
}

// TestFits: the instances a file's steps name are checked against the
// lab's count before the run, with the line and column of the step.
func TestFits(t *testing.T) {
	for _, tc := range []struct {
		name, steps string
		n           int
		want        string // "" for none
	}{
		{"kill within", "  - kill: 3\n", 3, ""},
		{"kill past", "  - policy: sticky\n  - kill: 6\n", 3, "f.yaml:4:11: kill: 6: this lab runs 3 instances of each variant (1 to 3)"},
		{"stop past", "  - stop: 4\n", 3, "f.yaml:3:11: stop: 4:"},
		{"start past", "  - start: 5\n", 4, "f.yaml:3:12: start: 5: this lab runs 4 instances"},
		{"add a new one", "  - add: 4\n", 3, ""},
		{"add an existing one", "  - add: 4\n", 5, "f.yaml:3:10: add: 4: this lab runs 5 instances of each variant already"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := "name: x\nsteps:\n" + tc.steps + "  - probe: a\nexpect:\n  - {variant: memory, probe: a, outcome: kept, users: all}\n"
			sc, err := spec.Parse("f.yaml", []byte(data), catalog.Claim)
			if err != nil {
				t.Fatal(err)
			}
			err = sc.Fits(tc.n)
			if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("Fits(%d) = %v, want %q", tc.n, err, tc.want)
			}
		})
	}
}

// TestCatalogueFiles: the catalogue scenarios shipped as files behave as
// their Go versions: run one after the other on the same lab, every probe
// counts the same users per outcome, per variant, and every expectation of
// both holds. The challenges, their blanks filled as the answer key says
// (docs/workshop-answers.md), run and hold too.
func TestCatalogueFiles(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(examples, "catalogue", "*.yaml"))
	if err != nil || len(files) < 2 {
		t.Fatalf("catalogue files %v, %v: want at least two", files, err)
	}
	var scs []*scenarios.Scenario
	for _, f := range files {
		file, err := spec.Load(f, catalog.Claim)
		if err != nil {
			t.Fatal(err)
		}
		orig, err := catalog.Find(file.Name)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		scs = append(scs, orig[0], file)
	}
	answers := map[string][]string{
		"challenge-strict.yaml":        {"unavailable", "unavailable", "some", "Strict affinity answers 503 to every user pinned to the dead instance."},
		"challenge-redis-restart.yaml": {"false", "lost", "all", "Redis without persistence forgets every session when it restarts."},
	}
	for name, fill := range answers {
		data, err := os.ReadFile(filepath.Join(examples, name))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := spec.Parse(name, data, catalog.Claim); err == nil || !strings.Contains(err.Error(), "a blank") {
			t.Fatalf("%s as shipped: %v, want the blank it leaves", name, err)
		}
		s := string(data)
		for _, a := range fill {
			s = strings.Replace(s, spec.Blank, a, 1)
		}
		sc, err := spec.Parse(name, []byte(s), catalog.Claim)
		if err != nil {
			t.Fatalf("%s with the answers: %v", name, err)
		}
		scs = append(scs, sc)
	}
	// Keys swapped for others on every instance, then the configured ones
	// put back: everyone refused, then everyone kept.
	const swapped = `name: keys-swapped
steps:
  - policy: sticky
  - fill: true
  - keys: {cookie: "another-cookie-key-0123456789abcdef", jwt: "other:another-jwt-key-0123456789abcdefgh", active: other}
  - probe: other keys
  - keys: configured
  - probe: the configured keys again
expect:
  - {variant: memory, probe: other keys, outcome: refused, users: all}
  - {variant: redis, probe: other keys, outcome: refused, users: all}
  - {variant: jwt, probe: other keys, outcome: refused, users: all}
  - {variant: cookie, probe: other keys, outcome: refused, users: all}
  - {variant: memory, probe: the configured keys again, outcome: kept, users: all}
  - {variant: cookie, probe: the configured keys again, outcome: kept, users: all}
`
	sw, err := spec.Parse("swapped.yaml", []byte(swapped), catalog.Claim)
	if err != nil {
		t.Fatal(err)
	}
	scs = append(scs, sw)
	rt, err := inproc.Start(context.Background(), inproc.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close() })
	rn, err := scenarios.NewRunner(context.Background(), rt, scenarios.Options{Users: 30, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	defer rn.Close()
	j, err := rn.Run(context.Background(), scs)
	if err != nil {
		t.Fatal(err)
	}
	for _, rep := range j.Scenarios {
		for _, e := range rep.Expectations {
			if !e.Holds {
				t.Errorf("%s: %s %s does not hold: %s", rep.Name, e.Variant, e.Text, e.Observed)
			}
		}
	}
	for i := 0; i+1 < 2*len(files); i += 2 {
		goRep, fileRep := j.Scenarios[i], j.Scenarios[i+1]
		if len(goRep.Verdicts) != len(fileRep.Verdicts) {
			t.Fatalf("%s: %d probes in Go, %d in the file", goRep.Name, len(goRep.Verdicts), len(fileRep.Verdicts))
		}
		for k, gv := range goRep.Verdicts {
			fv := fileRep.Verdicts[k]
			if gv.Name != fv.Name {
				t.Errorf("%s: probe %d is %q in Go, %q in the file", goRep.Name, k+1, gv.Name, fv.Name)
			}
			for v, gt := range gv.Variants {
				ft := fv.Variants[v]
				if gt.Users != ft.Users || !sameCounts(gt.Count, ft.Count) {
					t.Errorf("%s, %s, %s: Go %v, file %v", goRep.Name, gv.Name, v, gt.Count, ft.Count)
				}
			}
		}
	}
}

func sameCounts(a, b map[scenarios.Outcome]int) bool {
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	for k, v := range b {
		if a[k] != v {
			return false
		}
	}
	return true
}

// FuzzParse: whatever a file holds, Parse returns a scenario or a *spec.Error
// that names the file, and never panics.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"catalogue/kill-instance.yaml", "catalogue/sticky.yaml", "challenge-strict.yaml"} {
		if data, err := os.ReadFile(filepath.Join(examples, name)); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("name: x\nsteps:\n  - keys: {cookie: a, jwt: b, active: c}\nexpect: [{variant: memory}]\n"))
	f.Add([]byte("{name: [1, 2], steps: {a: b}, expect: 3}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		sc, err := spec.Parse("f.yaml", data, catalog.Claim)
		if err == nil {
			if sc.Name == "" || len(sc.Steps) == 0 || len(sc.Expect) == 0 || sc.Lesson == nil {
				t.Fatalf("a scenario without its parts: %+v", sc)
			}
			return
		}
		var se *spec.Error
		if !errors.As(err, &se) || se.File != "f.yaml" {
			t.Fatalf("error %v (%T), want a *spec.Error naming the file", err, err)
		}
	})
}

// TestLoadControlName: a file whose name holds an escape is refused before
// the name is printed anywhere.
func TestLoadControlName(t *testing.T) {
	if _, err := spec.Load("x\x1b[2J.yaml", catalog.Claim); err == nil || !strings.Contains(err.Error(), "control character (U+001B)") || strings.Contains(err.Error(), "\x1b") {
		t.Errorf("error %q, want one naming the control character, quoted", err)
	}
}
