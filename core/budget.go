package core

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"unsafe"
)

// recordBookkeepingBytes is what a record in flight takes beside its data and
// partition key: the userRecord (128 bytes), its Outcome (24 bytes) and its
// share of its result, of the stages' queues and tables, of its request's
// body beyond its data, and of the handle tables of the C API. It is kept at
// the 512 bytes it was when the record was larger, so that the budget stays
// on the safe side of what a record holds.
const recordBookkeepingBytes = 512

// budgetBytes is what a record counts against max_outstanding_bytes from its
// put until it is resolved: the memory it holds, data, partition key, tags
// and bookkeeping (an explicit hash key is kept parsed, in the bookkeeping).
// Its retry history, and the body of a request carrying it, are added while
// they exist.
func budgetBytes(partitionKey string, data []byte, tags []Tag) int64 {
	n := int64(len(data)+len(partitionKey)) + recordBookkeepingBytes
	if len(tags) > 0 {
		n += int64(tagsBytes(tags) + len(tags)*tagStructBytes)
	}
	return n
}

// tagStructBytes is what a Tag takes beside its strings' bytes.
const tagStructBytes = int(unsafe.Sizeof(Tag{}))

// budget bounds the records and bytes that are put but not yet resolved. A
// put past either limit waits until enough is released or its context ends.
// Safe for concurrent use. Taking and returning room are atomic counter
// updates, since a put and the finishing of records run on different threads
// at the same rate; the lock is only for puts that wait and the releases
// that wake them.
//
// Waiting puts are woken once the records and bytes outstanding are both at
// or below a low-water mark, 1/16 below each limit, rather than at every
// release: a put that outruns the pipeline then proceeds in runs of
// thousands of records per wake-up instead of one, which costs the putting
// thread and the pipeline a goroutine switch per record.
//
// A finished record stops counting as outstanding before its outcome is
// resolved, so that whoever the outcome wakes reads the count without it,
// but its room returns only after that, once its flush epoch knows it is
// resolved (Producer.finish gives the order and why). Between the two it is
// settled: still holding room, no longer outstanding.
type budget struct {
	maxRecords, maxBytes int64
	lowRecords, lowBytes int64 // wake waiting puts at or below both

	records heldCount // holding room; settled once resolved
	bytes   atomic.Int64
	waiting atomic.Int64 // puts waiting for room

	mu    sync.Mutex
	freed chan struct{} // closed and replaced on release while someone waits
}

func newBudget(maxRecords, maxBytes int64) *budget {
	return &budget{
		maxRecords: maxRecords, maxBytes: maxBytes,
		lowRecords: maxRecords - maxRecords/16, lowBytes: maxBytes - maxBytes/16,
	}
}

// acquire takes room for one record of n bytes. A record alone always fits.
func (b *budget) acquire(ctx context.Context, n int64) error {
	if b.take(n) {
		return nil
	}
	b.waiting.Add(1)
	defer b.waiting.Add(-1)
	for {
		b.mu.Lock()
		if b.freed == nil {
			b.freed = make(chan struct{})
		}
		freed := b.freed
		b.mu.Unlock()
		// Registered as waiting before this try, so a release after it wakes us.
		if b.take(n) {
			return nil
		}
		select {
		case <-freed:
		case <-ctx.Done():
			return &fullError{records: b.outstanding(), bytes: b.outstandingBytes(), waitEnded: ctx.Err()}
		}
	}
}

// fullError is the error of a put that found no room before its context
// ended: ErrBackpressure, with the records and bytes outstanding then, and
// the context's error, which the message leaves out (it says only that the
// wait ended, which callers with their own timeouts say better).
type fullError struct {
	records, bytes int64
	waitEnded      error
}

func (e *fullError) Error() string {
	return fmt.Sprintf("%v (%d records, %d bytes outstanding)", ErrBackpressure, e.records, e.bytes)
}

func (e *fullError) Unwrap() []error { return []error{ErrBackpressure, e.waitEnded} }

// take takes room for one record of n bytes if there is some. The record
// is counted only once it fits, so that a put that finds no room never
// shows in the outstanding count; its bytes, counted to try, go back, which
// may be what another put waits for.
func (b *budget) take(n int64) bool {
	bytes := b.bytes.Add(n)
	for {
		v := b.records.load()
		if held := v.holding(); held > 0 && (held >= b.maxRecords || bytes > b.maxBytes) {
			b.release(0, n)
			return false
		}
		if b.records.compareAndSwap(v, v+1) {
			return true
		}
	}
}

// release returns the room of records records of n bytes in all, records
// not settled: a put that gives back the room it just took, or bytes alone.
func (b *budget) release(records, n int64) {
	b.records.add(heldCountValue(-records))
	b.bytes.Add(-n)
	b.wake()
}

// settle marks records finished records as no longer outstanding, before
// their outcomes are resolved; they hold their room until returnSettled.
func (b *budget) settle(records int64) { b.records.add(settling(records)) }

// returnSettled returns the room of records settled records of n bytes in
// all: once per record, or once for records finished together, which spares
// the counters that puts update at the same time a cache-line transfer per
// record.
func (b *budget) returnSettled(records, n int64) {
	b.records.add(leavingSettled(records))
	b.bytes.Add(-n)
	b.wake()
}

// hold counts n bytes that are not a record's against the budget: the body
// of a request in flight, a second copy of its records' data while it lasts.
// It never waits; puts do, until unhold.
func (b *budget) hold(n int64) { b.bytes.Add(n) }

// unhold returns bytes taken by hold.
func (b *budget) unhold(n int64) {
	b.bytes.Add(-n)
	b.wake()
}

// wake lets puts waiting for room try again, once the outstanding records
// and bytes are down to the low-water mark.
func (b *budget) wake() {
	if b.waiting.Load() == 0 || b.records.load().holding() > b.lowRecords || b.bytes.Load() > b.lowBytes {
		return
	}
	b.mu.Lock()
	if b.freed != nil {
		close(b.freed)
		b.freed = nil
	}
	b.mu.Unlock()
}

func (b *budget) outstanding() int64 { return b.records.load().unsettled() }

func (b *budget) outstandingBytes() int64 { return b.bytes.Load() }
