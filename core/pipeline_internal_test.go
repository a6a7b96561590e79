package core

import (
	"slices"
	"testing"
)

// A batch that leaves at its deadline is sent as requests of at most
// dueRequestBytes (a record bigger than that alone), in order, every record
// once; a full or flushed batch goes whole.
func TestRequestParts(t *testing.T) {
	sized := func(sizes ...int) []*kinesisRecord {
		var batch []*kinesisRecord
		for _, n := range sizes {
			batch = append(batch, &kinesisRecord{partitionKey: "a", data: make([]byte, n-1)})
		}
		return batch
	}
	kib := 1 << 10
	batch := sized(100*kib, 100*kib, 100*kib, 300*kib, 10*kib, 200*kib, 56*kib)
	parts := requestParts(batch, flushDeadline)
	var sizes [][]int64
	var joined []*kinesisRecord
	for _, part := range parts {
		var s []int64
		for _, k := range part {
			s = append(s, k.wireSize()/int64(kib))
		}
		sizes = append(sizes, s)
		joined = append(joined, part...)
	}
	want := [][]int64{{100, 100}, {100}, {300}, {10, 200}, {56}}
	if !slices.EqualFunc(sizes, want, slices.Equal[[]int64]) {
		t.Fatalf("parts of %v KiB, want %v", sizes, want)
	}
	if !slices.Equal(joined, batch) {
		t.Fatal("the parts do not hold the batch's records once each, in order")
	}
	for _, reason := range []flushReason{flushCount, flushSize, flushManual, flushClose, flushPredicate} {
		if parts := requestParts(batch, reason); len(parts) != 1 || len(parts[0]) != len(batch) {
			t.Errorf("reason %v: %d parts, want the batch whole", reason, len(parts))
		}
	}
	if parts := requestParts(nil, flushDeadline); parts != nil {
		t.Errorf("an empty batch makes %d requests", len(parts))
	}
}
