// Package cliflag holds command-line flag types shared by the project's
// commands. Flag values are not safe for concurrent use; the flag package
// sets them while parsing.
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
	return joinSorted(s, func(name string) string { return name + ":" + strconv.Itoa(s[name]) })
}

// Set adds one NAME:SHARDS value; SHARDS must be at least 1 and a name may
// come only once.
func (s Streams) Set(value string) error {
	name, fields, err := splitStream(value, 1, "NAME:SHARDS with SHARDS >= 1")
	if err != nil {
		return err
	}
	if _, dup := s[name]; dup {
		return fmt.Errorf("stream %q given twice", name)
	}
	s[name] = fields[0]
	return nil
}

// StreamSpec is what one --stream value of StreamSpecs says of a stream.
type StreamSpec struct {
	Shards int
	// MaxRecordSizeKiB is the stream's maximum record size in KiB, or 0
	// when the value gives none.
	MaxRecordSizeKiB int
}

// StreamSpecs collects repeated --stream NAME:SHARDS[:MAXKIB] values: a
// stream's shard count and, optionally, its maximum record size in KiB.
// NAME:SHARDS values mean what they mean to Streams. The zero value is not
// usable: make the map first.
type StreamSpecs map[string]StreamSpec

// String lists the streams as NAME:SHARDS or NAME:SHARDS:MAXKIB,
// comma-separated, sorted by name.
func (s StreamSpecs) String() string {
	return joinSorted(s, func(name string) string {
		v := name + ":" + strconv.Itoa(s[name].Shards)
		if kib := s[name].MaxRecordSizeKiB; kib != 0 {
			v += ":" + strconv.Itoa(kib)
		}
		return v
	})
}

// Set adds one NAME:SHARDS or NAME:SHARDS:MAXKIB value; SHARDS and MAXKIB
// must be at least 1 (the server checks MAXKIB's range) and a name may
// come only once.
func (s StreamSpecs) Set(value string) error {
	name, fields, err := splitStream(value, 2, "NAME:SHARDS[:MAXKIB] with SHARDS >= 1 and MAXKIB >= 1")
	if err != nil {
		return err
	}
	if _, dup := s[name]; dup {
		return fmt.Errorf("stream %q given twice", name)
	}
	spec := StreamSpec{Shards: fields[0]}
	if len(fields) == 2 {
		spec.MaxRecordSizeKiB = fields[1]
	}
	s[name] = spec
	return nil
}

// Shards maps each stream to its shard count.
func (s StreamSpecs) Shards() map[string]int {
	shards := make(map[string]int, len(s))
	for name, spec := range s {
		shards[name] = spec.Shards
	}
	return shards
}

// MaxRecordSizesKiB maps the streams given a maximum record size to it.
func (s StreamSpecs) MaxRecordSizesKiB() map[string]int {
	sizes := make(map[string]int)
	for name, spec := range s {
		if spec.MaxRecordSizeKiB != 0 {
			sizes[name] = spec.MaxRecordSizeKiB
		}
	}
	return sizes
}

// splitStream parses NAME:N[:N...] with 1 to maxFields numbers after the
// name, each at least 1; want describes the syntax in the error.
func splitStream(value string, maxFields int, want string) (string, []int, error) {
	bad := fmt.Errorf("want %s, got %q", want, value)
	parts := strings.Split(value, ":")
	if len(parts) < 2 || len(parts) > maxFields+1 || parts[0] == "" {
		return "", nil, bad
	}
	fields := make([]int, len(parts)-1)
	for i, part := range parts[1:] {
		n, err := strconv.Atoi(part)
		if err != nil || n < 1 {
			return "", nil, bad
		}
		fields[i] = n
	}
	return parts[0], fields, nil
}

// joinSorted formats each name of m and joins them, sorted by name, with
// commas.
func joinSorted[V any](m map[string]V, format func(name string) string) string {
	names := make([]string, 0, len(m))
	for name := range m {
		names = append(names, name)
	}
	slices.Sort(names)
	parts := make([]string, len(names))
	for i, name := range names {
		parts[i] = format(name)
	}
	return strings.Join(parts, ",")
}
