package remote

import (
	"os"
	"reflect"
	"strings"
	"testing"
)

// TestEveryCallHasAMethod: each call of the table is made by a method of
// the Client (found in its source by the call's name), so that a call
// added to the table cannot be forgotten on the client's side.
func TestEveryCallHasAMethod(t *testing.T) {
	src := clientSource(t)
	for op := range calls {
		if !strings.Contains(src, `"`+op+`"`) {
			t.Errorf("call %q: no method of the Client makes it", op)
		}
	}
	if n := reflect.TypeFor[*Client]().NumMethod(); n < len(calls) {
		t.Errorf("the Client has %d methods for %d calls", n, len(calls))
	}
}

func clientSource(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("client.go")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
