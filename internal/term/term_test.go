package term

import "testing"

func TestClean(t *testing.T) {
	for in, want := range map[string]string{
		"memory-2 down":      "memory-2 down",
		"a\nb\tc":            "a\nb\tc",
		"\x1b[2Jgone":        "\uFFFD[2Jgone",
		"\x1b]52;c;aGk=\x07": "\uFFFD]52;c;aGk=\uFFFD",
		"\u009b2J":           "\uFFFD2J",
		"µs × lime · ✓ kept": "µs × lime · ✓ kept",
		"del\x7f":            "del\uFFFD",
		"\x00\x01\x1f":       "\uFFFD\uFFFD\uFFFD",
	} {
		if got := Clean(in); got != want {
			t.Errorf("Clean(%q) = %q, want %q", in, got, want)
		}
	}
}
