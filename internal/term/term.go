// Package term keeps text the lab did not write itself (a backend's
// status line, a name, an error) from driving the terminal it is printed
// on: a control character could clear the instructor's screen, move the
// cursor over a verdict, or write to the clipboard.
package term

import "strings"

// Clean returns s with every control character but a newline and a tab
// (C0, DEL and C1, which include the escape that starts every terminal
// sequence) shown as U+FFFD.
func Clean(s string) string {
	if !strings.ContainsFunc(s, control) {
		return s
	}
	return strings.Map(func(r rune) rune {
		if control(r) {
			return '\uFFFD'
		}
		return r
	}, s)
}

func control(r rune) bool {
	return r != '\n' && r != '\t' && (r < 0x20 || r >= 0x7f && r < 0xa0)
}

// Control finds the first control character in s other than a newline or
// a tab, for a reader that refuses text holding one.
func Control(s string) (rune, bool) {
	i := strings.IndexFunc(s, control)
	if i < 0 {
		return 0, false
	}
	return []rune(s[i:])[0], true
}
