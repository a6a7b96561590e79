package core

import (
	"testing"
	"time"
)

func TestTokenBucketStartsFull(t *testing.T) {
	now := time.Now()
	b := newTokenBucket(now, 10, 100, 10, 100)
	for i := range 10 {
		if !b.tryTake(now, 1, 10) {
			t.Fatalf("take %d of a full bucket failed", i)
		}
	}
	if b.tryTake(now, 1, 0) {
		t.Fatal("took an 11th record from a capacity of 10")
	}
}

func TestTokenBucketRefillsWithTimeUpToCapacity(t *testing.T) {
	now := time.Now()
	b := newTokenBucket(now, 1000, 1<<20, 1000, 1<<20)
	if !b.tryTake(now, 1000, 0) {
		t.Fatal("could not empty the bucket")
	}
	now = now.Add(25 * time.Millisecond)
	if !b.tryTake(now, 25, 0) {
		t.Fatalf("25 ms at 1000/s did not earn 25 tokens (have %v)", b.records.tokens)
	}
	if b.tryTake(now, 1, 0) {
		t.Fatal("took more than 25 ms earned")
	}
	now = now.Add(time.Hour)
	if b.records.tokens != 0 || !b.tryTake(now, 1000, 0) || b.tryTake(now, 1, 0) {
		t.Fatalf("refill after an hour is not capped at the capacity of 1000")
	}
}

func TestTokenBucketTakesBothStreamsOrNothing(t *testing.T) {
	now := time.Now()
	b := newTokenBucket(now, 1, 1, 10, 100)
	if !b.tryTake(now, 0, 60) {
		t.Fatal("could not take 60 bytes of 100")
	}
	if b.tryTake(now, 1, 41) {
		t.Fatal("took more bytes than the bucket holds")
	}
	if b.records.tokens != 10 {
		t.Fatalf("a failed take spent records: %v left", b.records.tokens)
	}
	if !b.tryTake(now, 10, 30) {
		t.Fatal("could not take what the bucket holds")
	}
	if b.tryTake(now, 1, 5) {
		t.Fatal("took a record from an empty record stream")
	}
	if b.bytes.tokens != 10 {
		t.Fatalf("a failed take spent bytes: %v left", b.bytes.tokens)
	}
}

func TestTokenBucketOversizeCostPassesAFullBucketAndLeavesDebt(t *testing.T) {
	now := time.Now()
	b := newTokenBucket(now, 1, 100, 10, 100)
	if !b.tryTake(now, 1, 1) || b.tryTake(now, 1, 1000) {
		t.Fatal("a cost above capacity passed a bucket that was not full")
	}
	b = newTokenBucket(now, 1, 100, 10, 100)
	if !b.tryTake(now, 1, 1000) {
		t.Fatal("a cost above capacity does not pass a full bucket")
	}
	if b.bytes.tokens != -900 {
		t.Fatalf("bytes left = %v, want the debt of -900", b.bytes.tokens)
	}
	// 100 bytes a second: 9 s pay the debt back, 1 more buys a byte.
	if b.tryTake(now.Add(9*time.Second), 0, 1) {
		t.Fatal("took a byte while still in debt")
	}
	if !b.tryTake(now.Add(9*time.Second+10*time.Millisecond), 0, 1) {
		t.Fatal("no byte once the debt was paid back")
	}
}

func TestTokenBucketIgnoresTimeGoingBack(t *testing.T) {
	now := time.Now()
	b := newTokenBucket(now, 1000, 1000, 1000, 1000)
	b.tryTake(now, 1000, 1000)
	if b.tryTake(now.Add(-time.Second), 1, 1) {
		t.Fatal("an earlier time refilled the bucket")
	}
	if !b.tryTake(now.Add(time.Millisecond), 1, 1) {
		t.Fatal("the bucket did not refill after time went back and forth")
	}
}
