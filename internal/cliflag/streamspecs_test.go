package cliflag

import (
	"maps"
	"testing"
)

func TestStreamSpecsParsesOptionalMaxRecordSize(t *testing.T) {
	s := StreamSpecs{}
	for _, v := range []string{"b:2:10240", "a:1"} {
		if err := s.Set(v); err != nil {
			t.Fatalf("Set(%q): %v", v, err)
		}
	}
	if got := s.String(); got != "a:1,b:2:10240" {
		t.Errorf("String() = %q", got)
	}
	if got, want := s.Shards(), map[string]int{"a": 1, "b": 2}; !maps.Equal(got, want) {
		t.Errorf("Shards() = %v, want %v", got, want)
	}
	if got, want := s.MaxRecordSizesKiB(), map[string]int{"b": 10240}; !maps.Equal(got, want) {
		t.Errorf("MaxRecordSizesKiB() = %v, want %v", got, want)
	}
	for _, bad := range []string{"a:3", "c", "c:0", ":3", "c:x", "c:1:0", "c:1:x", "c:1:", "c:1:2:3"} {
		if err := s.Set(bad); err == nil {
			t.Errorf("Set(%q) accepted", bad)
		}
	}
}

func TestStreamsRefusesMaxRecordSize(t *testing.T) {
	if err := (Streams{}).Set("a:1:2048"); err == nil {
		t.Error("Streams took a maximum record size it cannot pass on")
	}
}
