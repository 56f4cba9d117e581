package lb

import "statelab/lb/api"

// The admin API's names, owned by package api, as the balancer's code
// uses them.
type (
	Policy        = api.Policy
	State         = api.State
	Action        = api.Action
	EventType     = api.EventType
	Event         = api.Event
	Status        = api.Status
	PoolStatus    = api.PoolStatus
	BackendStatus = api.BackendStatus
)

const (
	RoundRobin = api.RoundRobin
	LeastConn  = api.LeastConn
	Sticky     = api.Sticky

	Up       = api.Up
	Down     = api.Down
	Draining = api.Draining
	Disabled = api.Disabled

	Drain   = api.Drain
	Disable = api.Disable
	Enable  = api.Enable
)
