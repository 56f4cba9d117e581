package spec

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"statelab/lb/api"
	"statelab/scenarios/vocab"
	"statelab/servers"

	"go.yaml.in/yaml/v3"

	"statelab"
	"statelab/lab"
	"statelab/scenarios"
)

// actions are the keys a step may have; one of them, exactly, says what
// the step does.
var actions = []string{"policy", "fill", "probe", "kill", "stop", "start", "add", "disable", "slow", "forget-affinity", "logout", "replay", "stop-redis", "start-redis", "redis-latency", "keys"}

func (p *parser) step(n *yaml.Node) (scenarios.Step, string, error) {
	keys := append(slices.Clone(actions), "title", "why", "times", "strict", "persist", "delay")
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
	for key, only := range map[string]string{"times": "probe", "strict": "policy", "persist": "start-redis", "delay": "slow"} {
		if f[key] != nil && act != only {
			return scenarios.Step{}, "", p.errAt(f[key], "%q goes with %q only", key, only)
		}
	}
	var st scenarios.Step
	probe := ""
	switch act {
	case "policy":
		pol, err := api.ParsePolicy(v.Value)
		if err != nil {
			return st, "", p.errAt(v, "%v", err)
		}
		strict := false
		if f["strict"] != nil {
			if strict, err = p.boolean(f["strict"]); err != nil {
				return st, "", err
			}
		}
		st = vocab.Policy(pol, strict)
	case "fill":
		st = vocab.Fill()
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
			st = vocab.Ask(name, times)
		} else {
			st = scenarios.Step{Title: "replay the credentials held before logout: “" + name + "”", Why: "Refused is good here.", Run: func(r *scenarios.Run) error {
				_, err := r.ReplayProbe(name, statelab.Variants...)
				return err
			}}
		}
	case "kill", "stop", "start", "add", "disable", "slow":
		lo := 1
		if act == "add" {
			lo = 4
		}
		num, err := p.intIn(v, lo, 9)
		if err != nil {
			return st, "", err
		}
		p.refs = append(p.refs, instanceRef{act, num, v})
		switch act {
		case "kill":
			st = scenarios.Step{Title: fmt.Sprintf("kill instance %d of every variant (SIGKILL)", num), Run: func(r *scenarios.Run) error { return r.End(num, false) }}
		case "stop":
			st = scenarios.Step{Title: fmt.Sprintf("stop instance %d of every variant (SIGTERM)", num), Run: func(r *scenarios.Run) error { return r.End(num, true) }}
		case "start":
			st = scenarios.Step{Title: fmt.Sprintf("start instance %d of every variant again", num), Run: func(r *scenarios.Run) error { return r.Restart(num) }}
		case "add":
			st = scenarios.Step{Title: fmt.Sprintf("add instance %d to every pool", num), Run: func(r *scenarios.Run) error { return r.AddInstances(num) }}
		case "disable":
			st = scenarios.Step{Title: fmt.Sprintf("take instance %d of every variant out of its pool (disabled)", num), Run: func(r *scenarios.Run) error { return r.Disable(num) }}
		case "slow":
			if f["delay"] == nil {
				return st, "", p.errAt(v, "slow: N needs delay: a duration, like 40ms")
			}
			d, err := time.ParseDuration(f["delay"].Value)
			if err != nil || d <= 0 || d > servers.MaxAnswerDelay {
				return st, "", p.errAt(f["delay"], "delay %q: want a duration above 0 and up to %s, like 40ms", f["delay"].Value, servers.MaxAnswerDelay)
			}
			st = scenarios.Step{Title: fmt.Sprintf("restart instance %d of every variant to wait %s before every answer", num, d), Run: func(r *scenarios.Run) error {
				return r.Reconfigure(num, lab.Settings{AnswerDelay: d})
			}}
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
		st = scenarios.Step{Title: "put " + what + " in force on every instance", Why: "Reloaded on SIGHUP, no restart.", Needs: []lab.Capability{lab.ReloadKeys}, Run: func(r *scenarios.Run) error {
			return r.SetKeys(keys, r.AllInstances()...)
		}}
	case "redis-latency":
		d, err := time.ParseDuration(v.Value)
		if err != nil || d < 0 || d > 10*time.Second {
			return st, "", p.errAt(v, "redis-latency %q: want a duration from 0 to 10s, like 100ms", v.Value)
		}
		st = scenarios.Step{Title: fmt.Sprintf("add %s between the instances and Redis", d), Needs: []lab.Capability{lab.SlowRedis}, Run: func(r *scenarios.Run) error { return lab.SetRedisLatency(r.Context(), r.RT, d) }}
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
