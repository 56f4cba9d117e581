package report

import (
	"context"
	"net/http"
	"time"

	"statelab/lab"
	"statelab/lb/api"
)

// FollowOnce is one reading of Follow's, for a test to order readings.
func (l *Live) FollowOnce(ctx context.Context, rt lab.Runtime) {
	ep := rt.Endpoints()
	l.follow(ctx, &api.Client{Base: ep.Admin, Token: ep.AdminToken}, &http.Client{Timeout: time.Second}, rt)
}
