package scenarios

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"statelab/servers"
)

// KeysFile renders keys as the NAME=value lines of an instance's keys file
// (see lab server --keys-file). No keys renders an empty file: the
// instance's configured keys.
func KeysFile(keys map[string]string) []byte {
	names := make([]string, 0, len(keys))
	for k := range keys {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, k := range names {
		fmt.Fprintf(&b, "%s=%s\n", k, keys[k])
	}
	return []byte(b.String())
}

// Reloads reads how many times the instance at base has reloaded its keys.
func Reloads(ctx context.Context, base string) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/healthz", nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var body servers.Body
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return 0, err
	}
	return body.Reloads, nil
}

// AwaitReload polls base until it has reloaded more than before times.
func AwaitReload(ctx context.Context, name, base string, before int64) error {
	deadline := time.Now().Add(5 * time.Second)
	for {
		if n, err := Reloads(ctx, base); err == nil && n > before {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not reload its keys within 5 s (see its log)", name)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}
