package core

import (
	"sync"
	"time"
)

// flushReason says why a batch left a batcher; the processing statistics
// count them per stage.
type flushReason int

const (
	flushCount flushReason = iota
	flushSize
	flushDeadline
	flushPredicate
	flushManual
	flushClose
)

// batcher accumulates items until the count or size limit, the earliest
// item's deadline, or an explicit flush, then hands the batch to emit. It is
// the one accumulator behind both the aggregator and the collector.
//
// All methods are safe for concurrent use. emit runs outside the lock, on the
// caller's goroutine or on the deadline timer's; batches from one batcher may
// be emitted concurrently.
type batcher[T any] struct {
	maxCount   int
	maxSize    int64
	sizeOf     func(T) int64
	deadlineOf func(T) time.Time
	emit       func([]T, flushReason)

	// full, when set, is told of each added item under the lock and reports
	// whether the batch should leave now (the collector's per-shard byte
	// cap); reset is called whenever a batch is taken.
	full  func(item T) bool
	reset func()

	mu       sync.Mutex
	items    []T
	size     int64
	deadline time.Time
	timer    *time.Timer
	closed   bool
}

func newBatcher[T any](maxCount int, maxSize int64, sizeOf func(T) int64, deadlineOf func(T) time.Time, emit func([]T, flushReason)) *batcher[T] {
	return &batcher[T]{maxCount: maxCount, maxSize: maxSize, sizeOf: sizeOf, deadlineOf: deadlineOf, emit: emit}
}

// add buffers item. A batch that the item would push past maxSize leaves
// first, so no batch exceeds the limits unless one item alone does.
func (b *batcher[T]) add(item T) {
	size := b.sizeOf(item)
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		b.emit([]T{item}, flushClose)
		return
	}
	var full []T
	if len(b.items) > 0 && b.size+size > b.maxSize {
		full = b.takeLocked()
	}
	b.items = append(b.items, item)
	b.size += size
	var ready []T
	reason := flushCount
	switch {
	case len(b.items) >= b.maxCount:
		ready = b.takeLocked()
	case b.size >= b.maxSize:
		ready, reason = b.takeLocked(), flushSize
	case b.full != nil && b.full(item):
		ready, reason = b.takeLocked(), flushPredicate
	default:
		b.armLocked(b.deadlineOf(item))
	}
	b.mu.Unlock()
	if full != nil {
		b.emit(full, flushSize)
	}
	if ready != nil {
		b.emit(ready, reason)
	}
}

// flush emits whatever is buffered now.
func (b *batcher[T]) flush(reason flushReason) {
	b.mu.Lock()
	items := b.takeLocked()
	b.mu.Unlock()
	if len(items) > 0 {
		b.emit(items, reason)
	}
}

// close flushes and makes every later add emit its item at once.
func (b *batcher[T]) close() {
	b.mu.Lock()
	b.closed = true
	items := b.takeLocked()
	b.mu.Unlock()
	if len(items) > 0 {
		b.emit(items, flushClose)
	}
}

// buffered is the number of items waiting.
func (b *batcher[T]) buffered() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.items)
}

func (b *batcher[T]) takeLocked() []T {
	items := b.items
	b.items = nil
	b.size = 0
	if b.reset != nil {
		b.reset()
	}
	b.deadline = time.Time{}
	if b.timer != nil {
		b.timer.Stop()
	}
	return items
}

// armLocked makes the timer fire at the earliest deadline of the buffered items.
func (b *batcher[T]) armLocked(deadline time.Time) {
	if !b.deadline.IsZero() && !deadline.Before(b.deadline) {
		return
	}
	b.deadline = deadline
	wait := time.Until(deadline)
	if b.timer == nil {
		b.timer = time.AfterFunc(wait, b.onDeadline)
		return
	}
	b.timer.Reset(wait)
}

func (b *batcher[T]) onDeadline() {
	b.mu.Lock()
	if b.deadline.IsZero() || time.Now().Before(b.deadline) {
		b.mu.Unlock() // a stale firing: the batch already left, or a later deadline was armed
		return
	}
	items := b.takeLocked()
	b.mu.Unlock()
	if len(items) > 0 {
		b.emit(items, flushDeadline)
	}
}
