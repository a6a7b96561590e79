package core

import (
	"sync"
	"sync/atomic"
	"testing"
)

// OnDone runs its functions once, on the goroutine that resolves or cancels
// the outcome, and refuses (false) once the outcome is done, whichever way
// it ended.
func TestOutcomeOnDone(t *testing.T) {
	var o Outcome
	var runs atomic.Int32
	for range 3 {
		if !o.OnDone(func() { runs.Add(1) }) {
			t.Fatal("OnDone refused a pending outcome")
		}
	}
	done := o.Done() // a waiter and hooks share the notifier
	if !o.resolve(&RecordResult{Success: true}) {
		t.Fatal("resolve lost")
	}
	if n := runs.Load(); n != 3 {
		t.Fatalf("%d functions ran at resolve, want 3", n)
	}
	<-done
	if o.OnDone(func() { runs.Add(1) }) || o.Cancel() || runs.Load() != 3 {
		t.Fatal("OnDone or Cancel took effect on a resolved outcome")
	}

	var cancelled Outcome
	ran := false
	cancelled.OnDone(func() { ran = true })
	if !cancelled.Cancel() || !ran {
		t.Fatal("Cancel did not run the OnDone function")
	}
	if cancelled.OnDone(func() {}) {
		t.Fatal("OnDone accepted a cancelled outcome")
	}
}

// Registrations racing the resolution each run exactly once or are refused.
func TestOutcomeOnDoneRacesResolve(t *testing.T) {
	for range 200 {
		var o Outcome
		var accepted, runs atomic.Int32
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if o.OnDone(func() { runs.Add(1) }) {
					accepted.Add(1)
				}
			}()
		}
		o.resolve(&RecordResult{})
		wg.Wait()
		if accepted.Load() != runs.Load() {
			t.Fatalf("%d registrations accepted, %d ran", accepted.Load(), runs.Load())
		}
	}
}
