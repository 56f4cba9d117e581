package lab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/healthz", nil)
	if err != nil {
		return statelab.Body{}, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return statelab.Body{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return statelab.Body{}, fmt.Errorf("%s/healthz: %s", base, resp.Status)
	}
	var body statelab.Body
	err = json.NewDecoder(resp.Body).Decode(&body)
	return body, err
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
