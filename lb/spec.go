package lb

import (
	"fmt"
	"net"
	"strings"
)

// ParsePool parses NAME=LISTEN=BACKEND,BACKEND,... where each BACKEND is
// host:port (named after its host) or name@host:port. Example:
//
//	memory=:8081=memory-1:8080,memory-2:8080,memory-3:8080
func ParsePool(s string) (PoolSpec, error) {
	parts := strings.SplitN(strings.TrimSpace(s), "=", 3)
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" {
		return PoolSpec{}, fmt.Errorf("pool %q: want NAME=LISTEN=BACKEND,BACKEND,... (e.g. memory=:8081=memory-1:8080,memory-2:8080)", s)
	}
	spec := PoolSpec{Name: parts[0], Listen: parts[1]}
	if _, _, err := net.SplitHostPort(spec.Listen); err != nil {
		return PoolSpec{}, fmt.Errorf("pool %s: listen address %q: %v", spec.Name, spec.Listen, err)
	}
	seen := map[string]bool{}
	for _, item := range strings.Split(parts[2], ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		b, err := ParseBackend(item)
		if err != nil {
			return PoolSpec{}, fmt.Errorf("pool %s: %v", spec.Name, err)
		}
		if seen[b.Name] {
			return PoolSpec{}, fmt.Errorf("pool %s: backend %q given twice (name them: name@host:port)", spec.Name, b.Name)
		}
		seen[b.Name] = true
		spec.Backends = append(spec.Backends, b)
	}
	if len(spec.Backends) == 0 {
		return PoolSpec{}, fmt.Errorf("pool %s: no backend", spec.Name)
	}
	return spec, nil
}

// ParseBackend parses host:port or name@host:port.
func ParseBackend(s string) (BackendSpec, error) {
	name, addr, named := strings.Cut(s, "@")
	if !named {
		addr = s
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return BackendSpec{}, fmt.Errorf("backend %q: %v", s, err)
	}
	if !named {
		name = host
	}
	if err := validBackend(name, addr); err != nil {
		return BackendSpec{}, err
	}
	return BackendSpec{Name: name, Addr: addr}, nil
}
