package core

import (
	"sync"
	"sync/atomic"
	"time"
)

// flushReason says why a batch left a reducer; the processing
// statistics count them per stage.
type flushReason int

const (
	flushCount flushReason = iota
	flushSize
	flushDeadline
	flushPredicate
	flushManual
	flushClose
)

// buffer is what a reducer fills: the collector's PutRecords batch, an
// aggregator shard's aggregation, the waiting room's records. It knows its
// limits and its items' departure times; the reducer knows when to take it.
// A reducer calls it only under its lock.
type buffer[T, B any] interface {
	// add adds item, unless the buffer holds items and item would take it
	// past its size limit: then it adds nothing and reports overflow (the
	// buffer leaves, and item starts the next one; an empty buffer takes
	// any item). Otherwise full reports whether the buffer must leave now
	// that item is in it, and why.
	add(item T) (overflow, full bool, reason flushReason)
	// departure is the time by which item must have left the buffer.
	departure(item T) time.Time
	// empty reports whether the buffer holds nothing.
	empty() bool
	// take hands over everything held and leaves the buffer empty.
	take() B
	// takeDue hands over what must leave at now, and the earliest departure
	// among what stays (zero if nothing does). A buffer that leaves whole
	// hands over everything.
	takeDue(now time.Time) (due B, next time.Time)
}

// reducer gathers items in a buffer until the buffer is full, its earliest
// departure comes, or it is flushed, and hands what it held to emit. It is
// the one accumulator behind the aggregator (one per predicted shard), the
// collector and the waiting room, as the KPL's Reducer is one type behind
// its aggregator and collector: they differ only in their buffer and in
// what emit does. (metrics.go's accumulator, named after the KPL's, keeps
// statistics; it is not this.)
//
// All methods are safe for concurrent use. emit and passOn run outside the
// lock, on the caller's goroutine or on the deadline timer's, and may run
// concurrently with themselves.
type reducer[T, B any] struct {
	buf    buffer[T, B]
	emit   func(taken B, reason flushReason)
	passOn func(item T) // an item added after close, which waits for nothing

	// held, when set and above zero, makes the deadline timer leave a due
	// buffer to emitIfDue, which the holder calls when it is done.
	held *atomic.Int32

	mu       sync.Mutex
	deadline time.Time // the timer's: the earliest departure, or leaveBy; zero when empty
	leaveBy  time.Time // everything leaves by then (leaveWithin); zero when unset
	timer    *time.Timer
	closed   bool
}

func newReducer[T, B any](buf buffer[T, B], emit func(B, flushReason), passOn func(T)) *reducer[T, B] {
	return &reducer[T, B]{buf: buf, emit: emit, passOn: passOn}
}

// add buffers item. A buffer that the item would take past its size limit
// leaves first, so no batch exceeds the limits unless one item alone does.
func (a *reducer[T, B]) add(item T) {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		a.passOn(item)
		return
	}
	var spilled, ready B
	overflow, full, reason := a.buf.add(item)
	if overflow {
		spilled = a.takeLocked()
		_, full, reason = a.buf.add(item)
	}
	if full {
		ready = a.takeLocked()
	} else {
		a.armLocked(a.buf.departure(item))
	}
	a.mu.Unlock()
	if overflow {
		a.emit(spilled, flushSize)
	}
	if full {
		a.emit(ready, reason)
	}
}

// flush emits whatever is buffered now.
func (a *reducer[T, B]) flush(reason flushReason) {
	a.mu.Lock()
	if a.buf.empty() {
		a.mu.Unlock()
		return
	}
	taken := a.takeLocked()
	a.mu.Unlock()
	a.emit(taken, reason)
}

// close flushes, and makes every later add hand its item to passOn.
func (a *reducer[T, B]) close() {
	a.mu.Lock()
	a.closed = true
	if a.buf.empty() {
		a.mu.Unlock()
		return
	}
	taken := a.takeLocked()
	a.mu.Unlock()
	a.emit(taken, flushClose)
}

// leaveWithin makes everything buffered leave in wait at the latest (with
// flushManual). A later call does not extend an earlier one's time.
func (a *reducer[T, B]) leaveWithin(wait time.Duration) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed || a.buf.empty() {
		return
	}
	by := time.Now().Add(wait)
	if !a.leaveBy.IsZero() && !by.Before(a.leaveBy) {
		return
	}
	a.leaveBy = by
	a.armLocked(by)
}

func (a *reducer[T, B]) takeLocked() B {
	a.disarmLocked()
	a.leaveBy = time.Time{}
	return a.buf.take()
}

func (a *reducer[T, B]) disarmLocked() {
	a.deadline = time.Time{}
	if a.timer != nil {
		a.timer.Stop()
	}
}

// armLocked makes the timer fire at deadline if that is earlier than the
// time it is set for.
func (a *reducer[T, B]) armLocked(deadline time.Time) {
	if !a.deadline.IsZero() && !deadline.Before(a.deadline) {
		return
	}
	a.deadline = deadline
	wait := time.Until(deadline)
	if a.timer == nil {
		a.timer = time.AfterFunc(wait, a.onDeadline)
		return
	}
	a.timer.Reset(wait)
}

func (a *reducer[T, B]) onDeadline() {
	if a.held != nil && a.held.Load() > 0 {
		return // the holder calls emitIfDue when it is done
	}
	a.emitIfDue()
}

// emitIfDue emits what is due, if the timer's time has come: everything
// once leaveBy has passed, else what the buffer says is due.
func (a *reducer[T, B]) emitIfDue() {
	now := time.Now()
	a.mu.Lock()
	if a.deadline.IsZero() || now.Before(a.deadline) {
		a.mu.Unlock() // a stale firing: the buffer left, or an earlier time was armed since
		return
	}
	var taken B
	reason := flushDeadline
	if !a.leaveBy.IsZero() && !a.leaveBy.After(now) {
		taken, reason = a.takeLocked(), flushManual
	} else {
		var next time.Time
		taken, next = a.buf.takeDue(now)
		a.disarmLocked()
		if !a.leaveBy.IsZero() && (next.IsZero() || a.leaveBy.Before(next)) {
			next = a.leaveBy
		}
		if !next.IsZero() {
			a.armLocked(next)
		}
	}
	a.mu.Unlock()
	a.emit(taken, reason)
}
