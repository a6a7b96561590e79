// Package cliflag holds command-line flag types shared by the project's
// commands.
package cliflag

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Streams collects repeated --stream NAME:SHARDS values. The zero value is
// not usable: make the map first.
type Streams map[string]int

// String lists the streams as NAME:SHARDS, comma-separated, sorted by name.
func (s Streams) String() string {
	names := make([]string, 0, len(s))
	for name := range s {
		names = append(names, name)
	}
	slices.Sort(names)
	parts := make([]string, 0, len(s))
	for _, name := range names {
		parts = append(parts, name+":"+strconv.Itoa(s[name]))
	}
	return strings.Join(parts, ",")
}

// Set adds one NAME:SHARDS value; SHARDS must be at least 1 and a name may
// come only once.
func (s Streams) Set(value string) error {
	name, count, ok := strings.Cut(value, ":")
	shards, err := strconv.Atoi(count)
	if !ok || name == "" || err != nil || shards < 1 {
		return fmt.Errorf("want NAME:SHARDS with SHARDS >= 1, got %q", value)
	}
	if _, dup := s[name]; dup {
		return fmt.Errorf("stream %q given twice", name)
	}
	s[name] = shards
	return nil
}
