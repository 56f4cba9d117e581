package bench

import (
	"os"
	"statelab/internal/child"
	"strconv"
	"strings"
	"time"
)

// cpuTime is the CPU time (user and system) a process and its children
// (nginx's workers) have used so far, from /proc. ok is false when it cannot
// be read.
func cpuTime(pid int) (time.Duration, bool) {
	if pid <= 0 {
		return 0, false
	}
	total, ok := procCPU(pid)
	if !ok {
		return 0, false
	}
	for _, c := range child.Children(pid) {
		if t, ok := procCPU(c); ok {
			total += t
		}
	}
	return total, true
}

// procCPU reads utime and stime of one process, in clock ticks of 10 ms.
func procCPU(pid int) (time.Duration, bool) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	s := string(data)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(fields) < 13 {
		return 0, false
	}
	utime, err1 := strconv.ParseInt(fields[11], 10, 64)
	stime, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	const tick = 10 * time.Millisecond // USER_HZ is 100 on Linux
	return time.Duration(utime+stime) * tick, true
}
