package lb

import (
	"errors"
	"io"
	"strings"
	"testing"
)

// closedAfter is a request body that fails any read once its content is
// gone, as a server's request body does once the server has closed it.
type closedAfter struct{ r io.Reader }

func (c *closedAfter) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	if err == io.EOF {
		return n, errors.New("http: invalid Read on closed Body")
	}
	return n, err
}

func (c *closedAfter) Close() error { return nil }

// TestReadGuardStopsAtContentLength: with a known length, the guard answers
// EOF itself and never reads the client's body past it.
func TestReadGuardStopsAtContentLength(t *testing.T) {
	for _, tc := range []struct {
		name   string
		body   string
		length int64
		want   string
		errOK  bool
	}{
		{"known length", `{"item":"apple","qty":2}`, 24, `{"item":"apple","qty":2}`, true},
		{"unknown length reads to the end", "abc", -1, "abc", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := &readGuard{r: &closedAfter{r: strings.NewReader(tc.body)}, left: tc.length}
			got, err := io.ReadAll(g)
			if string(got) != tc.want {
				t.Fatalf("read %q, want %q", got, tc.want)
			}
			if (err == nil) != tc.errOK {
				t.Fatalf("err %v; want nil: %v", err, tc.errOK)
			}
			if n, err := g.Read(make([]byte, 8)); tc.errOK && (n != 0 || err != io.EOF) {
				t.Fatalf("read after the end: %d, %v; want 0, EOF without touching the body", n, err)
			}
			if g.n.Load() != int64(len(tc.want)) {
				t.Fatalf("counted %d bytes, want %d", g.n.Load(), len(tc.want))
			}
		})
	}
}
