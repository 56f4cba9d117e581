package catalog

import (
	"fmt"
	"strings"

	"statelab/scenarios/vocab"
)

// Expectations the scenarios share. Each is computed exactly from what
// happened (the answers of a probe, which instance gave each, where each
// session was), never from a threshold timing could cross; each says what it
// saw, users and requests labelled. probe names a probe; "" is the last.

// sizes formats figures at each cart size: "222, 222 and 222 B at 1, 10 and
// 100 items".
func sizes(f []costFigures, value func(costFigures) int64) string {
	if len(f) == 0 {
		return "no figures"
	}
	values, items := make([]string, len(f)), make([]string, len(f))
	for i, x := range f {
		values[i], items[i] = fmt.Sprint(value(x)), fmt.Sprint(x.Items)
	}
	return fmt.Sprintf("%s B at %s items", vocab.And(values), vocab.And(items))
}

// capital puts the first letter in upper case.
func capital(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
