package cliflag

import "testing"

func TestStreamsParsesAndRejects(t *testing.T) {
	s := Streams{}
	if err := s.Set("b:2"); err != nil {
		t.Fatal(err)
	}
	if err := s.Set("a:1"); err != nil {
		t.Fatal(err)
	}
	if got := s.String(); got != "a:1,b:2" {
		t.Fatalf("String() = %q", got)
	}
	for _, bad := range []string{"a:1", "c", "c:0", ":3", "c:x"} {
		if err := s.Set(bad); err == nil {
			t.Errorf("Set(%q) accepted", bad)
		}
	}
}
