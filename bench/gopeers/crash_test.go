package main

import "testing"

// A panic's report names the first frame outside the runtime.
func TestPanicSite(t *testing.T) {
	stack := []string{
		"[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x0]",
		"",
		"goroutine 42 [running]:",
		"runtime.panicmem(...)",
		"\t/usr/local/go/src/runtime/panic.go:262",
		"github.com/a8m/kinesis-producer.(*Producer).flush(0xc000, {0x0, 0x0, 0x0}, {0x1, 0x2})",
		"\t/root/go/pkg/mod/github.com/a8m/kinesis-producer@v0/producer.go:283 +0x1a5",
	}
	got := panicSite(stack)
	want := "github.com/a8m/kinesis-producer.(*Producer).flush (producer.go:283)"
	if got != want {
		t.Fatalf("panicSite = %q, want %q", got, want)
	}
}
