package core

import (
	"fmt"
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

// itemBatch is a buffer of items with a count and a size limit, leaving
// whole at the earliest deadline.
type itemBatch struct {
	maxCount int
	maxSize  int64
	items    []item
	size     int64
}

func (b *itemBatch) add(i item) (overflow, full bool, reason flushReason) {
	if len(b.items) > 0 && b.size+i.size > b.maxSize {
		return true, false, 0
	}
	b.items = append(b.items, i)
	b.size += i.size
	switch {
	case len(b.items) >= b.maxCount:
		return false, true, flushCount
	case b.size >= b.maxSize:
		return false, true, flushSize
	}
	return false, false, 0
}

func (b *itemBatch) departure(i item) time.Time { return i.deadline }
func (b *itemBatch) empty() bool                { return len(b.items) == 0 }

func (b *itemBatch) take() []item {
	items := b.items
	b.items, b.size = nil, 0
	return items
}

func (b *itemBatch) takeDue(time.Time) ([]item, time.Time) { return b.take(), time.Time{} }

func newItemBatcher(maxCount int, maxSize int64, out *emitted[item]) *reducer[item, []item] {
	passOn := func(i item) { out.emit([]item{i}, flushClose) }
	return newReducer(&itemBatch{maxCount: maxCount, maxSize: maxSize}, out.emit, passOn)
}

func TestReducerCountLimitFlushesAtEquality(t *testing.T) {
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

func TestReducerSizeLimitIsNeverExceeded(t *testing.T) {
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

func TestReducerFlushesAtTheEarliestDeadline(t *testing.T) {
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

func TestReducerCloseEmitsAndPassesLaterItemsThrough(t *testing.T) {
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

func TestWaitingRoomLetsDueRecordsGoAndKeepsTheRest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var routed, fellBack []string
		note := func(to *[]string) func(*userRecord) {
			return func(u *userRecord) {
				mu.Lock()
				defer mu.Unlock()
				*to = append(*to, u.PartitionKey)
			}
		}
		w := newWaitingRoom(note(&routed), note(&fellBack))
		now := time.Now()
		for _, r := range []struct {
			key string
			in  time.Duration
		}{{"late", time.Hour}, {"soon", 10 * time.Millisecond}, {"later", time.Minute}} {
			w.add(&userRecord{PartitionKey: r.key, deadline: instantOf(now.Add(r.in))})
		}
		time.Sleep(10 * time.Millisecond)
		synctest.Wait()
		mu.Lock()
		if fmt.Sprint(fellBack) != "[soon]" || len(routed) != 0 {
			t.Fatalf("fell back %v, routed %v; want only the due record to leave", fellBack, routed)
		}
		mu.Unlock()
		w.flushWithin(time.Second) // earlier than "later": both leave then
		w.flushWithin(time.Hour)   // does not extend the first flush's wait
		time.Sleep(time.Second)
		synctest.Wait()
		mu.Lock()
		if fmt.Sprint(fellBack) != "[soon late later]" {
			t.Fatalf("fell back %v; want all, in order, once the flush's wait ran out", fellBack)
		}
		mu.Unlock()
		w.add(&userRecord{PartitionKey: "kept", deadline: instantOf(now.Add(time.Hour))})
		w.release()
		w.add(&userRecord{PartitionKey: "after", deadline: instantOf(now.Add(time.Hour))})
		mu.Lock()
		defer mu.Unlock()
		if fmt.Sprint(routed) != "[kept after]" {
			t.Fatalf("routed %v; want the waiting record and the later one", routed)
		}
	})
}
