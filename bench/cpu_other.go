//go:build !linux

package bench

import "time"

// cpuTime cannot be read without /proc.
func cpuTime(int) (time.Duration, bool) { return 0, false }
