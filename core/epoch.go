package core

import "sync/atomic"

// epoch counts the records put between two flushes. It is done once all of
// its records and all of the earlier epochs' records are resolved, so a
// flush waits for exactly the records put before it, even while other
// goroutines keep putting.
//
// The count starts at 2: one reference held by the producer while the epoch is
// current ("sealed" by the next flush) and one held on behalf of the previous
// epoch, released when that one is done. Safe for concurrent use.
type epoch struct {
	count atomic.Int64
	done  chan struct{}
	next  atomic.Pointer[epoch]
}

func newEpoch(refs int64) *epoch {
	e := &epoch{done: make(chan struct{})}
	e.count.Store(refs)
	return e
}

// acquire adds a record to the epoch; it fails once the epoch is done, and the
// caller then takes the current epoch again.
func (e *epoch) acquire() bool {
	for {
		c := e.count.Load()
		if c == 0 {
			return false
		}
		if e.count.CompareAndSwap(c, c+1) {
			return true
		}
	}
}

// isDone reports whether the epoch's records are all resolved.
func (e *epoch) isDone() bool {
	select {
	case <-e.done:
		return true
	default:
		return false
	}
}

// release drops n references; the last one closes done and passes the
// completion on to the next epoch.
func (e *epoch) release(n int64) {
	if e.count.Add(-n) != 0 {
		return
	}
	close(e.done)
	if next := e.next.Load(); next != nil {
		next.release(1)
	}
}

// epochs is the producer's current epoch.
type epochs struct {
	current atomic.Pointer[epoch]
}

func newEpochs() *epochs {
	var es epochs
	es.current.Store(newEpoch(1)) // the first epoch has no predecessor
	return &es
}

// enter registers one record with the current epoch and returns it.
func (es *epochs) enter() *epoch {
	for {
		if e := es.current.Load(); e.acquire() {
			return e
		}
	}
}

// seal starts a new epoch and returns the one that was current; its done
// channel closes when every record put so far is resolved. Concurrent seals
// are serialised by the compare-and-swap.
func (es *epochs) seal() *epoch {
	next := newEpoch(2)
	for {
		old := es.current.Load()
		if es.current.CompareAndSwap(old, next) {
			old.next.Store(next)
			old.release(1)
			return old
		}
	}
}
