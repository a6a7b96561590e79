package core

import "testing"

// A settled record is no longer outstanding but keeps its room until it is
// returned: a put in between still finds the budget full.
func TestSettledRecordsHoldRoomUntilReturned(t *testing.T) {
	b := newBudget(2, 1<<20)
	for i := range 2 {
		if !b.take(10) {
			t.Fatalf("record %d did not fit a budget of 2", i+1)
		}
	}
	if b.take(10) {
		t.Fatal("a third record fit a budget of 2")
	}
	b.settle(2)
	if got := b.outstanding(); got != 0 {
		t.Fatalf("outstanding with both records settled = %d, want 0", got)
	}
	if b.take(10) {
		t.Fatal("a put took the room of settled records before it was returned")
	}
	b.returnSettled(1, 10)
	if got := b.outstanding(); got != 0 {
		t.Fatalf("outstanding after one settled record returned = %d, want 0", got)
	}
	if !b.take(10) {
		t.Fatal("no room after a settled record's was returned")
	}
	if got, holding := b.outstanding(), b.records.load().holding(); got != 1 || holding != 2 {
		t.Fatalf("outstanding, holding = %d, %d; want 1, 2", got, holding)
	}
	b.returnSettled(1, 10)
	b.release(1, 10)
	if b.records.load() != 0 || b.outstandingBytes() != 0 {
		t.Fatalf("after everything returned: records word %#x, bytes %d", b.records.load(), b.outstandingBytes())
	}
}

// A put that finds no room is never counted, even for a moment: readers of
// the outstanding count, and other puts, see at most the limit.
func TestAPutThatFindsNoRoomIsNeverCounted(t *testing.T) {
	b := newBudget(1, 1<<20)
	if !b.take(10) {
		t.Fatal("the first record did not fit")
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 1_000_000 {
			if b.take(10) {
				t.Error("a second record fit a budget of 1")
				return
			}
		}
	}()
	for {
		select {
		case <-done:
			return
		default:
			if got := b.outstanding(); got != 1 {
				t.Fatalf("outstanding = %d while a put found no room, want 1", got)
			}
		}
	}
}
