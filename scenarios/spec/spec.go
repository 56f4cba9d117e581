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
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"statelab/internal/term"
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
	if r, bad := term.Control(path); bad {
		return nil, fmt.Errorf("%q: the file's name holds a control character (U+%04X), which would reach the terminal", path, r)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// Read at most one byte past the limit, whatever the file claims to
	// be: a device or a pipe has no size to check first.
	data, err := io.ReadAll(io.LimitReader(f, MaxFile+1))
	if err != nil {
		return nil, &Error{File: path, Msg: err.Error()}
	}
	if len(data) > MaxFile {
		return nil, &Error{File: path, Msg: fmt.Sprintf("more than %d bytes: a scenario file is at most %d", MaxFile, MaxFile)}
	}
	return Parse(path, data, claims)
}

// IsFile reports whether a name given to lab run names a scenario file.
func IsFile(name string) bool {
	return strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml") || strings.HasSuffix(name, ".json") || strings.ContainsRune(name, os.PathSeparator)
}

// parser keeps the file's name for errors, and the instances its steps
// name, to check them against the lab's before a run.
type parser struct {
	file string
	refs []instanceRef
}

// instanceRef is an instance number a step names, where it names it.
type instanceRef struct {
	act  string // kill, stop, start or add
	num  int
	node *yaml.Node
}

// fits says whether every instance the steps name is one a lab of n
// instances per variant has (kill, stop, start), or a new one (add).
func (p *parser) fits(n int) error {
	for _, r := range p.refs {
		switch {
		case r.act == "add" && r.num <= n:
			return p.errAt(r.node, "add: %d: this lab runs %d instances of each variant already; add names a new one, %d or more", r.num, n, n+1)
		case r.act != "add" && r.num > n:
			return p.errAt(r.node, "%s: %d: this lab runs %d instances of each variant (1 to %d)", r.act, r.num, n, n)
		}
	}
	return nil
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
	if sc.Summary, err = p.optStr(fields["summary"]); err != nil {
		return nil, err
	}
	if sc.Setup, err = p.optStr(fields["setup"]); err != nil {
		return nil, err
	}
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
	sc.Fits = p.fits
	lesson, err := p.optStr(fields["lesson"])
	if err != nil {
		return nil, err
	}
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
	// A control character (an escape sequence, written raw or as "\e" or
	// "\u001b") would be printed on the instructor's terminal as it is.
	if r, bad := term.Control(n.Value); bad {
		return "", p.errAt(n, "a control character (U+%04X): text here is printed on a terminal, and may not hold one", r)
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
