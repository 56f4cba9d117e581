// Package spec reads a scenario from a file a person writes: YAML (or JSON,
// which YAML reads too) naming the steps the engine already has (turn on a
// policy, log users in, probe, kill, stop, start or add an instance, stop
// and start Redis, slow it down, log out, replay) and what each variant
// must show in the outcome words. A mistake is reported with its line and
// column.
//
//	name: my-kill
//	summary: one instance of each variant killed under sticky routing
//	claims: ["004: Fault Tolerance"]
//	steps:
//	  - policy: sticky
//	  - fill: true
//	  - probe: before the kill
//	  - kill: 2
//	  - probe: after the kill
//	    times: 2
//	expect:
//	  - {variant: memory, probe: after the kill, outcome: lost, users: held by memory-2}
//	  - {variant: redis, probe: after the kill, outcome: kept, users: all}
//	lesson: The memory variant loses what memory-2 held.
package spec

import (
	"bytes"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"statelab"
	"statelab/lb"
	"statelab/scenarios"
)

// MaxFile is the largest scenario file read.
const MaxFile = 256 << 10

// Blank is what a challenge file leaves for a student to fill in.
const Blank = "___"

// Error is a mistake in a scenario file, at a line and column.
type Error struct {
	File         string
	Line, Column int
	Msg          string
}

func (e *Error) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("%s: %s", e.File, e.Msg)
	}
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Column, e.Msg)
}

// Claims finds a claim by its reference, "004: Fault Tolerance".
type Claims func(ref string) (scenarios.Claim, bool)

// Load reads the scenario file at path.
func Load(path string, claims Claims) (*scenarios.Scenario, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if info.Size() > MaxFile {
		return nil, &Error{File: path, Msg: fmt.Sprintf("%d bytes: a scenario file is at most %d", info.Size(), MaxFile)}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data, claims)
}

// IsFile reports whether a name given to lab run names a scenario file.
func IsFile(name string) bool {
	return strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml") || strings.HasSuffix(name, ".json") || strings.ContainsRune(name, os.PathSeparator)
}

// parser keeps the file's name for errors.
type parser struct {
	file string
}

func (p *parser) errAt(n *yaml.Node, format string, args ...any) error {
	return &Error{File: p.file, Line: n.Line, Column: n.Column, Msg: fmt.Sprintf(format, args...)}
}

// Parse reads a scenario from data; file names it in errors.
func Parse(file string, data []byte, claims Claims) (*scenarios.Scenario, error) {
	p := &parser{file: file}
	if i := bytes.Index(data, []byte(Blank)); i >= 0 {
		line := bytes.Count(data[:i], []byte("\n")) + 1
		col := i - bytes.LastIndexByte(data[:i], '\n')
		return nil, &Error{File: file, Line: line, Column: col, Msg: "a blank (" + Blank + ") is left to fill in"}
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, &Error{File: file, Msg: strings.TrimPrefix(err.Error(), "yaml: ")}
	}
	if len(doc.Content) == 0 {
		return nil, &Error{File: file, Msg: "the file is empty: want a scenario (name, steps, expect)"}
	}
	root := doc.Content[0]
	fields, err := p.mapping(root, "the scenario", "name", "summary", "setup", "claims", "users", "steps", "expect", "verdict", "lesson")
	if err != nil {
		return nil, err
	}
	sc := &scenarios.Scenario{}
	for _, req := range []string{"name", "steps", "expect"} {
		if fields[req] == nil {
			return nil, p.errAt(root, "the scenario has no %q", req)
		}
	}
	if sc.Name, err = p.str(fields["name"]); err != nil {
		return nil, err
	}
	if !validName(sc.Name) {
		return nil, p.errAt(fields["name"], "name %q: want letters, digits and dashes", sc.Name)
	}
	sc.Summary, _ = p.optStr(fields["summary"])
	sc.Setup, _ = p.optStr(fields["setup"])
	if sc.Setup == "" {
		sc.Setup = "from the file " + file
	}
	if sc.Summary == "" {
		sc.Summary = sc.Setup
	}
	if n := fields["claims"]; n != nil {
		if n.Kind != yaml.SequenceNode {
			return nil, p.errAt(n, "claims: want a list like [\"004: Fault Tolerance\"]")
		}
		for _, c := range n.Content {
			ref, err := p.str(c)
			if err != nil {
				return nil, err
			}
			cl, ok := claims(ref)
			if !ok {
				return nil, p.errAt(c, "no claim %q in the catalogue (write it as lab list's scenarios cite them, e.g. \"004: Fault Tolerance\")", ref)
			}
			sc.Claims = append(sc.Claims, cl)
		}
	}
	if n := fields["users"]; n != nil {
		if sc.MaxUsers, err = p.intIn(n, 1, 100000); err != nil {
			return nil, err
		}
	}
	probes := map[string]bool{}
	last := ""
	if fields["steps"].Kind != yaml.SequenceNode || len(fields["steps"].Content) == 0 {
		return nil, p.errAt(fields["steps"], "steps: want a list of steps")
	}
	for _, n := range fields["steps"].Content {
		st, probe, err := p.step(n)
		if err != nil {
			return nil, err
		}
		if probe != "" {
			if probes[probe] {
				return nil, p.errAt(n, "a second probe named %q: name each probe once", probe)
			}
			probes[probe] = true
			last = probe
		}
		sc.Steps = append(sc.Steps, st)
	}
	if fields["expect"].Kind != yaml.SequenceNode || len(fields["expect"].Content) == 0 {
		return nil, p.errAt(fields["expect"], "expect: want a list of what each variant must show")
	}
	for _, n := range fields["expect"].Content {
		e, err := p.expectation(n, probes)
		if err != nil {
			return nil, err
		}
		sc.Expect = append(sc.Expect, e)
	}
	if n := fields["verdict"]; n != nil {
		if sc.Verdict, err = p.str(n); err != nil {
			return nil, err
		}
		if !probes[sc.Verdict] {
			return nil, p.errAt(n, "verdict %q: no step probes it", sc.Verdict)
		}
	} else {
		sc.Verdict = last
	}
	lesson, _ := p.optStr(fields["lesson"])
	sc.Lesson = func(res *scenarios.Result) string {
		s := "From the file " + file + ", in its author's words: " + strings.TrimSpace(lesson)
		if lesson == "" {
			s = "The file " + file + " gives no lesson: the expectations above say what it showed."
		}
		return s
	}
	return sc, nil
}

func validName(s string) bool {
	for _, r := range s {
		if !(r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return s != "" && len(s) <= 64
}

// mapping checks that n is a mapping whose keys are among allowed, and
// returns its values by key.
func (p *parser) mapping(n *yaml.Node, what string, allowed ...string) (map[string]*yaml.Node, error) {
	if n.Kind != yaml.MappingNode {
		return nil, p.errAt(n, "%s: want a mapping of key: value", what)
	}
	out := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if !slices.Contains(allowed, k.Value) {
			return nil, p.errAt(k, "%s: unknown key %q (known: %s)", what, k.Value, strings.Join(allowed, ", "))
		}
		if out[k.Value] != nil {
			return nil, p.errAt(k, "%s: %q given twice", what, k.Value)
		}
		out[k.Value] = v
	}
	return out, nil
}

func (p *parser) str(n *yaml.Node) (string, error) {
	if n.Kind != yaml.ScalarNode || n.Value == "" {
		return "", p.errAt(n, "want a word or a sentence here")
	}
	return n.Value, nil
}

func (p *parser) optStr(n *yaml.Node) (string, error) {
	if n == nil {
		return "", nil
	}
	return p.str(n)
}

func (p *parser) intIn(n *yaml.Node, lo, hi int) (int, error) {
	v, err := strconv.Atoi(n.Value)
	if n.Kind != yaml.ScalarNode || err != nil || v < lo || v > hi {
		return 0, p.errAt(n, "want a whole number from %d to %d", lo, hi)
	}
	return v, nil
}

func (p *parser) boolean(n *yaml.Node) (bool, error) {
	switch n.Value {
	case "true", "yes":
		return true, nil
	case "false", "no":
		return false, nil
	}
	return false, p.errAt(n, "want true or false")
}

// actions are the keys a step may have; one of them, exactly, says what
// the step does.
var actions = []string{"policy", "fill", "probe", "kill", "stop", "start", "add", "forget-affinity", "logout", "replay", "stop-redis", "start-redis", "redis-latency", "keys"}

func (p *parser) step(n *yaml.Node) (scenarios.Step, string, error) {
	keys := append(slices.Clone(actions), "title", "why", "times", "strict", "persist")
	f, err := p.mapping(n, "a step", keys...)
	if err != nil {
		return scenarios.Step{}, "", err
	}
	var act string
	for _, a := range actions {
		if f[a] != nil {
			if act != "" {
				return scenarios.Step{}, "", p.errAt(n, "a step does one thing: %q and %q given", act, a)
			}
			act = a
		}
	}
	if act == "" {
		return scenarios.Step{}, "", p.errAt(n, "a step needs one of: %s", strings.Join(actions, ", "))
	}
	v := f[act]
	for key, only := range map[string]string{"times": "probe", "strict": "policy", "persist": "start-redis"} {
		if f[key] != nil && act != only {
			return scenarios.Step{}, "", p.errAt(f[key], "%q goes with %q only", key, only)
		}
	}
	var st scenarios.Step
	probe := ""
	switch act {
	case "policy":
		pol, err := lb.ParsePolicy(v.Value)
		if err != nil {
			return st, "", p.errAt(v, "%v", err)
		}
		strict := false
		if f["strict"] != nil {
			if strict, err = p.boolean(f["strict"]); err != nil {
				return st, "", err
			}
		}
		st = scenarios.Step{Title: "turn on " + string(pol) + " routing", Why: "The balancer's policy for every pool.", Run: func(r *scenarios.Run) error { return r.SetPolicy(pol, strict) }}
		if strict {
			st.Title = "turn on strict " + string(pol) + " routing"
		}
	case "fill":
		st = scenarios.Step{Title: "log every user in and fill its cart", Why: "Each user logs in and adds its planned items, one request each.", Run: func(r *scenarios.Run) error { return r.FillAll() }}
	case "probe", "replay":
		name, err := p.str(v)
		if err != nil {
			return st, "", err
		}
		times := 1
		if f["times"] != nil {
			if times, err = p.intIn(f["times"], 1, 20); err != nil {
				return st, "", err
			}
		}
		probe = name
		if act == "probe" {
			st = scenarios.Step{Title: "ask every user who it is: “" + name + "”", Run: func(r *scenarios.Run) error { _, err := r.Probe(name, times); return err }}
		} else {
			st = scenarios.Step{Title: "replay the credentials held before logout: “" + name + "”", Why: "Refused is good here.", Run: func(r *scenarios.Run) error {
				_, err := r.ReplayProbe(name, statelab.Variants...)
				return err
			}}
		}
	case "kill", "stop", "start", "add":
		lo := 1
		if act == "add" {
			lo = 4
		}
		num, err := p.intIn(v, lo, 9)
		if err != nil {
			return st, "", err
		}
		switch act {
		case "kill":
			st = scenarios.Step{Title: fmt.Sprintf("kill instance %d of every variant (SIGKILL)", num), Run: func(r *scenarios.Run) error { return r.End(num, false) }}
		case "stop":
			st = scenarios.Step{Title: fmt.Sprintf("stop instance %d of every variant (SIGTERM)", num), Run: func(r *scenarios.Run) error { return r.End(num, true) }}
		case "start":
			st = scenarios.Step{Title: fmt.Sprintf("start instance %d of every variant again", num), Run: func(r *scenarios.Run) error { return r.Restart(num) }}
		case "add":
			st = scenarios.Step{Title: fmt.Sprintf("add instance %d to every pool", num), Run: func(r *scenarios.Run) error { return r.AddInstances(num) }}
		}
	case "forget-affinity", "logout", "stop-redis":
		if on, err := p.boolean(v); err != nil || !on {
			return st, "", p.errAt(v, "write %s: true", act)
		}
		switch act {
		case "forget-affinity":
			st = scenarios.Step{Title: "every user drops its affinity cookie", Run: func(r *scenarios.Run) error { r.ForgetAffinity(); return nil }}
		case "logout":
			st = scenarios.Step{Title: "every user logs out, keeping a copy of its credential", Run: func(r *scenarios.Run) error { return r.LogoutAll(statelab.Variants...) }}
		case "stop-redis":
			st = scenarios.Step{Title: "stop Redis", Run: func(r *scenarios.Run) error { return r.RT.StopRedis(r.Context()) }}
		}
	case "start-redis":
		if on, err := p.boolean(v); err != nil || !on {
			return st, "", p.errAt(v, "write start-redis: true")
		}
		persist := false
		if f["persist"] != nil {
			var err error
			if persist, err = p.boolean(f["persist"]); err != nil {
				return st, "", err
			}
		}
		st = scenarios.Step{Title: "start Redis again", Run: func(r *scenarios.Run) error { return r.RT.StartRedis(r.Context(), persist) }}
	case "keys":
		keys, what, err := p.keys(v)
		if err != nil {
			return st, "", err
		}
		st = scenarios.Step{Title: "put " + what + " in force on every instance", Why: "Reloaded on SIGHUP, no restart.", Run: func(r *scenarios.Run) error {
			return r.SetKeys(keys, r.AllInstances()...)
		}}
	case "redis-latency":
		d, err := time.ParseDuration(v.Value)
		if err != nil || d < 0 || d > 10*time.Second {
			return st, "", p.errAt(v, "redis-latency %q: want a duration from 0 to 10s, like 100ms", v.Value)
		}
		st = scenarios.Step{Title: fmt.Sprintf("add %s between the instances and Redis", d), Run: func(r *scenarios.Run) error { return r.RT.SetRedisLatency(r.Context(), d) }}
	}
	if f["title"] != nil {
		title, err := p.str(f["title"])
		if err != nil {
			return st, "", err
		}
		st.Title = title
	}
	if f["why"] != nil {
		why, err := p.str(f["why"])
		if err != nil {
			return st, "", err
		}
		st.Why = why
	}
	return st, probe, nil
}

// keys reads the keys step: "configured" (each instance's own keys again),
// or {cookie: "KEY,KEY", jwt: "kid:secret,kid:secret", active: kid}, in
// the keys file's syntax; the first cookie key signs.
func (p *parser) keys(n *yaml.Node) (statelab.Keys, string, error) {
	if n.Kind == yaml.ScalarNode {
		if n.Value != "configured" {
			return statelab.Keys{}, "", p.errAt(n, "keys: want configured, or {cookie: ..., jwt: ..., active: ...}")
		}
		return statelab.Keys{}, "the configured keys", nil
	}
	f, err := p.mapping(n, "keys", "cookie", "jwt", "active")
	if err != nil {
		return statelab.Keys{}, "", err
	}
	var k statelab.Keys
	var what []string
	if c := f["cookie"]; c != nil {
		if k.Cookie, err = statelab.ParseCookieKeys(c.Value); err != nil {
			return k, "", p.errAt(c, "keys.cookie: %v", err)
		}
		what = append(what, fmt.Sprintf("%d cookie keys", len(k.Cookie)))
	}
	if j := f["jwt"]; j != nil {
		if k.JWT, err = statelab.ParseJWTKeys(j.Value); err != nil {
			return k, "", p.errAt(j, "keys.jwt: %v", err)
		}
		ids := make([]string, len(k.JWT))
		for i, key := range k.JWT {
			ids[i] = key.ID
		}
		what = append(what, "jwt keys "+strings.Join(ids, ", "))
	}
	if a := f["active"]; a != nil {
		k.JWTActive = a.Value
		if !slices.ContainsFunc(k.JWT, func(key statelab.Key) bool { return key.ID == a.Value }) {
			return k, "", p.errAt(a, "keys.active %q is not among the jwt keys", a.Value)
		}
	}
	if len(what) == 0 {
		return k, "", p.errAt(n, "keys: give cookie, jwt, or both")
	}
	return k, strings.Join(what, " and "), nil
}

// expectation reads {variant, probe, outcome, users}: users is all, none,
// some, a number, or "held by INSTANCE" (exactly the users whose session
// that instance held have the outcome, and every other user is kept).
func (p *parser) expectation(n *yaml.Node, probes map[string]bool) (scenarios.Expectation, error) {
	f, err := p.mapping(n, "an expectation", "variant", "probe", "outcome", "users")
	if err != nil {
		return scenarios.Expectation{}, err
	}
	for _, req := range []string{"variant", "probe", "outcome", "users"} {
		if f[req] == nil {
			return scenarios.Expectation{}, p.errAt(n, "an expectation needs %q (variant, probe, outcome, users)", req)
		}
	}
	v, err := statelab.ParseVariant(f["variant"].Value)
	if err != nil {
		return scenarios.Expectation{}, p.errAt(f["variant"], "%v", err)
	}
	probe := f["probe"].Value
	if !probes[probe] {
		return scenarios.Expectation{}, p.errAt(f["probe"], "no step probes %q", probe)
	}
	var o scenarios.Outcome
	for _, known := range scenarios.Outcomes {
		if f["outcome"].Value == string(known) || f["outcome"].Value == known.Word() {
			o = known
		}
	}
	if o == "" {
		var words []string
		for _, known := range scenarios.Outcomes {
			words = append(words, known.Word())
		}
		return scenarios.Expectation{}, p.errAt(f["outcome"], "outcome %q: want one of %s", f["outcome"].Value, strings.Join(words, ", "))
	}
	users := f["users"].Value
	at := " (" + probe + ")"
	if inst, ok := strings.CutPrefix(users, "held by "); ok {
		return scenarios.Expectation{Variant: v, Text: fmt.Sprintf("%s: exactly the users whose session %s held; every other user kept%s", o.Word(), inst, at), Check: func(res *scenarios.Result) (bool, string) {
			vd := res.Verdict(probe)
			var held []string
			for _, a := range vd.Of(v) {
				if a.Holder == inst && !slices.Contains(held, a.User) {
					held = append(held, a.User)
				}
			}
			slices.Sort(held)
			got := vd.UsersWith(v, o)
			t := vd.Tallies[v]
			return slices.Equal(held, got) && t.Of(scenarios.Kept) == t.Users-len(got),
				fmt.Sprintf("%s held %d of %d users' sessions; %d users %s, %d kept", inst, len(held), t.Users, len(got), o.Word(), t.Of(scenarios.Kept))
		}}, nil
	}
	want := -1
	switch users {
	case "all", "none", "some":
	default:
		if want, err = strconv.Atoi(users); err != nil || want < 0 {
			return scenarios.Expectation{}, p.errAt(f["users"], "users %q: want all, none, some, a number, or \"held by INSTANCE\"", users)
		}
	}
	return scenarios.Expectation{Variant: v, Text: fmt.Sprintf("%s: %s %s%s", o.Word(), users, plural(users), at), Counts: true, Check: func(res *scenarios.Result) (bool, string) {
		t := res.Verdict(probe).Tallies[v]
		n := t.Of(o)
		var holds bool
		switch users {
		case "all":
			holds = t.Users > 0 && n == t.Users
		case "none":
			holds = n == 0
		case "some":
			holds = n > 0 && n < t.Users
		default:
			holds = n == want
		}
		return holds, fmt.Sprintf("%d of %d users %s", n, t.Users, o.Word())
	}}, nil
}

func plural(users string) string {
	if users == "1" {
		return "user"
	}
	return "users"
}
