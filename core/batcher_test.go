package core

import (
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

type emitted[T any] struct {
	mu      sync.Mutex
	batches [][]T
	reasons []flushReason
}

func (e *emitted[T]) emit(items []T, reason flushReason) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.batches = append(e.batches, items)
	e.reasons = append(e.reasons, reason)
}

func (e *emitted[T]) count() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.batches)
}

type item struct {
	size     int64
	deadline time.Time
}

func newItemBatcher(maxCount int, maxSize int64, out *emitted[item]) *batcher[item] {
	return newBatcher(maxCount, maxSize,
		func(i item) int64 { return i.size },
		func(i item) time.Time { return i.deadline },
		out.emit)
}

func TestBatcherCountLimitFlushesAtEquality(t *testing.T) {
	var out emitted[item]
	b := newItemBatcher(3, 1<<20, &out)
	far := time.Now().Add(time.Hour)
	for range 3 {
		b.add(item{1, far})
	}
	if out.count() != 1 || len(out.batches[0]) != 3 || out.reasons[0] != flushCount {
		t.Fatalf("batches = %v reasons = %v", out.batches, out.reasons)
	}
	b.close()
}

func TestBatcherSizeLimitIsNeverExceeded(t *testing.T) {
	var out emitted[item]
	b := newItemBatcher(100, 10, &out)
	far := time.Now().Add(time.Hour)
	b.add(item{6, far})
	b.add(item{6, far}) // would make 12: the first leaves alone
	b.add(item{4, far}) // 6+4 = 10: leaves at the limit
	b.add(item{25, far})
	if out.count() != 3 {
		t.Fatalf("batches = %v", out.batches)
	}
	for _, batch := range out.batches[:2] {
		var total int64
		for _, i := range batch {
			total += i.size
		}
		if total > 10 {
			t.Fatalf("batch of %d bytes exceeds the limit", total)
		}
	}
	// An item bigger than the limit goes alone.
	if len(out.batches[2]) != 1 || out.batches[2][0].size != 25 {
		t.Fatalf("oversize item batch = %v", out.batches[2])
	}
	b.close()
}

func TestBatcherFlushesAtTheEarliestDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var out emitted[item]
		b := newItemBatcher(100, 1<<20, &out)
		now := time.Now()
		b.add(item{1, now.Add(50 * time.Millisecond)})
		b.add(item{1, now.Add(10 * time.Millisecond)})
		time.Sleep(9 * time.Millisecond)
		synctest.Wait()
		if out.count() != 0 {
			t.Fatal("flushed before the earliest deadline")
		}
		time.Sleep(2 * time.Millisecond)
		synctest.Wait()
		if out.count() != 1 || len(out.batches[0]) != 2 || out.reasons[0] != flushDeadline {
			t.Fatalf("batches = %v reasons = %v", out.batches, out.reasons)
		}
		b.close()
	})
}

func TestBatcherCloseEmitsAndPassesLaterItemsThrough(t *testing.T) {
	var out emitted[item]
	b := newItemBatcher(100, 1<<20, &out)
	far := time.Now().Add(time.Hour)
	b.add(item{1, far})
	b.close()
	b.add(item{1, far})
	if out.count() != 2 || out.reasons[0] != flushClose || out.reasons[1] != flushClose {
		t.Fatalf("reasons = %v", out.reasons)
	}
}

func TestCollectorLeavesEarlyAtThePerShardByteCap(t *testing.T) {
	cfg := DefaultConfig()
	var out emitted[*kinesisRecord]
	c := newCollector(&cfg, out.emit)
	far := time.Now().Add(time.Hour)
	data := make([]byte, 64<<10)
	for range 3 {
		c.put(&kinesisRecord{partitionKey: "a", data: data, deadline: far, predictedShardID: "shardId-000000000001", shard: 1})
		c.put(&kinesisRecord{partitionKey: "a", data: data, deadline: far, predictedShardID: "shardId-000000000002", shard: 2})
	}
	if out.count() != 0 {
		t.Fatal("left before any shard reached the cap")
	}
	c.put(&kinesisRecord{partitionKey: "a", data: data, deadline: far, predictedShardID: "shardId-000000000001", shard: 1})
	if out.count() != 1 || out.reasons[0] != flushPredicate || len(out.batches[0]) != 7 {
		t.Fatalf("batches = %d reasons = %v", out.count(), out.reasons)
	}
	c.close()
}
