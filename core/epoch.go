package core

import "sync/atomic"

// epoch counts the records put between two flushes. It is done once all of
// its records and all of the earlier epochs' records are resolved and have
// given their room back to the budget, so a flush waits for exactly the
// records put before it, even while other goroutines keep putting, and a put
// after the flush finds their room free.
//
// The count starts at 2: one reference held by the producer while the epoch is
// current ("sealed" by the next flush) and one held on behalf of the previous
// epoch, released when that one is done. A record holds a reference from its
// put until its room is returned; between its resolution and then its
// reference is settled, so that finished can tell that no record of the
// epoch is left to send. Safe for concurrent use.
type epoch struct {
	count heldCount // references, settled once their record is resolved
	done  chan struct{}
	next  atomic.Pointer[epoch]
}

func newEpoch(refs int64) *epoch {
	e := &epoch{done: make(chan struct{})}
	e.count.add(heldCountValue(refs))
	return e
}

// acquire adds a record to the epoch; it fails once the epoch is done, and the
// caller then takes the current epoch again.
func (e *epoch) acquire() bool {
	for {
		c := e.count.load()
		if c == 0 {
			return false
		}
		if e.count.compareAndSwap(c, c+1) {
			return true
		}
	}
}

// isDone reports whether the epoch's records are all resolved and their room
// returned.
func (e *epoch) isDone() bool {
	select {
	case <-e.done:
		return true
	default:
		return false
	}
}

// finished reports whether every reference the epoch still holds is a
// resolved record's: it is sealed, the earlier epochs are done, and what is
// left is only the return of its records' room. Nothing of it remains to be
// sent.
func (e *epoch) finished() bool { return e.count.load().unsettled() == 0 }

// resolved marks n of the epoch's records resolved; each still releases its
// reference once its room is returned.
func (e *epoch) resolved(n int64) { e.count.add(settling(n)) }

// releaseResolved drops the references of n records marked resolved.
func (e *epoch) releaseResolved(n int64) { e.leave(leavingSettled(n)) }

// release drops n references not settled (the producer's, the previous
// epoch's).
func (e *epoch) release(n int64) { e.leave(heldCountValue(-n)) }

// leave applies the change of references that are let go; the last one
// closes done and passes the completion on to the next epoch.
func (e *epoch) leave(change heldCountValue) {
	if e.count.add(change) != 0 {
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
