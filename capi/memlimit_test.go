//go:build gokpl_abitest

package main

import (
	"math"
	"runtime/debug"
	"testing"
)

// TestMemoryLimitFollowsTheOpenProducersBudgets: while producers are open,
// the runtime's soft memory limit is what their max_outstanding_bytes allow;
// once they are closed it is lifted.
func TestMemoryLimitFollowsTheOpenProducersBudgets(t *testing.T) {
	const budget = 64 << 20
	if memoryLimit.userSet {
		// GOMEMLIMIT in the environment is the user's: producers leave it as it is.
		before := debug.SetMemoryLimit(-1)
		f := newFixture(t, map[string]any{"max_outstanding_bytes": budget})
		if got := debug.SetMemoryLimit(-1); got != before {
			t.Fatalf("memory limit %d with GOMEMLIMIT set, want it left at %d", got, before)
		}
		f.close(5_000, statusOK)
		return
	}
	f := newFixture(t, map[string]any{"max_outstanding_bytes": budget})
	one := float64(budget)
	want := int64(one*memoryLimitShare + memoryLimitBase)
	if got := debug.SetMemoryLimit(-1); got != want {
		t.Fatalf("memory limit with one producer of a 64 MiB budget = %d, want %d", got, want)
	}
	second := f.newProducer(map[string]any{"max_outstanding_bytes": budget})
	if got, want := debug.SetMemoryLimit(-1), int64(2*one*memoryLimitShare+memoryLimitBase); got != want {
		t.Fatalf("memory limit with two = %d, want %d", got, want)
	}
	if status, msg := callClose(second, 5_000); status != statusOK {
		t.Fatalf("close: %d (%s)", status, msg)
	}
	if got := debug.SetMemoryLimit(-1); got != want {
		t.Fatalf("memory limit after closing one = %d, want %d", got, want)
	}
	f.close(5_000, statusOK)
	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Fatalf("memory limit with no producer open = %d, want none", got)
	}
}
