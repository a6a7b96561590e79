package core

import (
	"context"
	"fmt"
	"sync"
)

// ErrBackpressure is wrapped by the error a Put returns when the producer
// stayed full of unresolved records until the put's context ended.
var ErrBackpressure = fmt.Errorf("gokpl: producer is full: max_outstanding_records or max_outstanding_bytes reached")

// budget bounds the records and bytes that are put but not yet resolved. A
// put past either limit waits until enough is released or its context ends.
// Safe for concurrent use.
type budget struct {
	maxRecords, maxBytes int64

	mu      sync.Mutex
	records int64
	bytes   int64
	freed   chan struct{} // closed and replaced on release while someone waits
}

func newBudget(maxRecords, maxBytes int64) *budget {
	return &budget{maxRecords: maxRecords, maxBytes: maxBytes}
}

// acquire takes room for one record of n bytes. A record alone always fits.
func (b *budget) acquire(ctx context.Context, n int64) error {
	for {
		b.mu.Lock()
		if b.records == 0 || (b.records < b.maxRecords && b.bytes+n <= b.maxBytes) {
			b.records++
			b.bytes += n
			b.mu.Unlock()
			return nil
		}
		if b.freed == nil {
			b.freed = make(chan struct{})
		}
		freed := b.freed
		b.mu.Unlock()
		select {
		case <-freed:
		case <-ctx.Done():
			return fmt.Errorf("%w (%d records, %d bytes outstanding): %w", ErrBackpressure, b.outstanding(), b.outstandingBytes(), ctx.Err())
		}
	}
}

// release returns one record of n bytes.
func (b *budget) release(n int64) {
	b.mu.Lock()
	b.records--
	b.bytes -= n
	if b.freed != nil {
		close(b.freed)
		b.freed = nil
	}
	b.mu.Unlock()
}

func (b *budget) outstanding() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.records
}

func (b *budget) outstandingBytes() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.bytes
}
