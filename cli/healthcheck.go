package cli

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// runHealthcheck is the container health check of an image without a shell:
// it exits 0 when the URL answers 200 within the timeout.
func runHealthcheck(ctx context.Context, args []string, env Env) error {
	fs := newFlagSet("healthcheck", "healthcheck [--timeout 2s] URL")
	timeout := fs.Duration("timeout", 2*time.Second, "give up after this long")
	token := fs.String("admin-token", "", "bearer token to send, for the balancer's admin API")
	if err := parse(fs, args, env); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return UsageError{fmt.Errorf("want one URL, got %d arguments", fs.NArg())}
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fs.Arg(0), nil)
	if err != nil {
		return UsageError{err}
	}
	if *token != "" {
		req.Header.Set("Authorization", "Bearer "+*token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered %s", fs.Arg(0), resp.Status)
	}
	return nil
}
