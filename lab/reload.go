package lab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"statelab"
	"statelab/internal/poll"
)

// Health reads an instance's /healthz: its key summary and how many times it
// has reloaded its keys.
func Health(ctx context.Context, base string) (statelab.Body, error) {
	return health(ctx, base)
}

// AwaitArmed polls an instance's /healthz until it says its crash is armed.
func AwaitArmed(ctx context.Context, name, base string) error {
	err := poll.Until(ctx, 5*time.Second, 20*time.Millisecond, func(ctx context.Context) error {
		h, err := health(ctx, base)
		if err != nil {
			return err
		}
		if !h.CrashArmed {
			return errors.New("not armed yet")
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("%s: arming its crash: %w", name, err)
	}
	return nil
}

func health(ctx context.Context, base string) (statelab.Body, error) {
	var body statelab.Body
	err := getJSON(ctx, http.DefaultClient, base+"/healthz", &body)
	return body, err
}

// Stats reads an instance's /stats (what it holds), with client (nil: the
// default one), within 2 seconds.
func Stats(ctx context.Context, client *http.Client, base string) (statelab.Stats, error) {
	if client == nil {
		client = http.DefaultClient
	}
	var st statelab.Stats
	err := getJSON(ctx, client, base+"/stats", &st)
	return st, err
}

// getJSON reads at most 1 MiB of JSON from url into v, within 2 seconds.
func getJSON(ctx context.Context, client *http.Client, url string, v any) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	return json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(v)
}

// AwaitReload polls the instance at base until it has reloaded its keys
// more than before times.
func AwaitReload(ctx context.Context, name, base string, before int64) error {
	err := poll.Until(ctx, 5*time.Second, 10*time.Millisecond, func(ctx context.Context) error {
		h, err := Health(ctx, base)
		if err != nil {
			return err
		}
		if h.Reloads <= before {
			return fmt.Errorf("%d reloads", h.Reloads)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("%s did not reload its keys (see its log): %w", name, err)
	}
	return nil
}

// WaitHTTP polls url until it answers 200.
func WaitHTTP(ctx context.Context, name, url string, limit time.Duration) error {
	if err := poll.Until(ctx, limit, 20*time.Millisecond, poll.OK(&http.Client{Timeout: time.Second}, url)); err != nil {
		return fmt.Errorf("%s does not answer: %w", name, err)
	}
	return nil
}
