package cli

import (
	"bytes"
	"testing"
)

// TestTextWidth: COLUMNS, as a user or a hostile environment sets it,
// never makes lines narrower than 60 or wider than 200; not a terminal
// and no COLUMNS is 100.
func TestTextWidth(t *testing.T) {
	for _, tc := range []struct {
		columns string
		want    int
	}{
		{"", PipedWidth},
		{"80", 80},
		{"abc", PipedWidth},
		{"-5", PipedWidth},
		{"0", PipedWidth},
		{"20", minWidth},
		{"100000", 200},
		{"99999999999999999999", PipedWidth},
	} {
		env := Env{Getenv: func(k string) string {
			if k == "COLUMNS" {
				return tc.columns
			}
			return ""
		}}
		if got := textWidth(&bytes.Buffer{}, env); got != tc.want {
			t.Errorf("COLUMNS=%q: width %d, want %d", tc.columns, got, tc.want)
		}
	}
}
