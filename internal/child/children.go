package child

import (
	"os"
	"strconv"
	"strings"
)

// Children lists the live processes whose parent is pid, from /proc (none
// where there is no /proc).
func Children(pid int) []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	want := strconv.Itoa(pid)
	for _, e := range entries {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, so cut at ')'.
		s := string(stat)
		fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(fields) > 1 && fields[0] != "Z" && fields[1] == want {
			out = append(out, n)
		}
	}
	return out
}
