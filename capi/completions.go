package main

import (
	"sync"
	"time"

	"github.com/gokpl/gokpl/core"
)

// completionQueue carries done-notifications from outcomes to the one host
// thread that collects them (gokpl_producer_next_completions), so the host
// runs its callbacks on a thread it owns and Go never calls into the host.
//
// A registration hooks the outcome (core.Outcome.OnDone), so that the
// goroutine that resolves it queues the caller's token; no goroutine waits
// per registration. Every outcome resolves eventually (close
// resolves the ones still open), so every registration delivers exactly once.
// After the producer is closed and the last registered token is collected,
// the queue reports closed. Safe for concurrent use.
type completionQueue struct {
	mu      sync.Mutex
	tokens  []uint64
	pending int           // registered, not yet queued
	used    bool          // a token was ever registered
	closed  bool          // the producer is closed: no outcome of it is still open
	ready   chan struct{} // signalled on every delivery and on close
}

func newCompletionQueue() *completionQueue {
	return &completionQueue{ready: make(chan struct{}, 1)}
}

// notify (gokpl_outcome_notify) arranges for token to be queued once o is
// done. It reports false, queueing nothing, when o is done already or the
// producer is closed (and so o is done).
func (q *completionQueue) notify(o *core.Outcome, token uint64) bool {
	if o.IsDone() {
		return false
	}
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return false
	}
	q.pending++
	q.used = true
	q.mu.Unlock()
	if !o.OnDone(func() { q.deliver(token) }) {
		q.mu.Lock()
		q.pending-- // done meanwhile: the caller acts at once
		q.mu.Unlock()
		q.signal()
		return false
	}
	return true
}

func (q *completionQueue) deliver(token uint64) {
	q.mu.Lock()
	q.tokens = append(q.tokens, token)
	q.pending--
	q.mu.Unlock()
	q.signal()
}

func (q *completionQueue) signal() {
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

// close marks the queue closed once its producer has resolved every record.
func (q *completionQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.signal()
}

// unused reports whether the queue is closed and never had a token, so that
// nobody will collect from it.
func (q *completionQueue) unused() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.closed && !q.used
}

// next moves up to len(out) queued tokens into out, waiting up to timeout
// (negative: no limit) for the first. It returns how many it moved and
// whether the queue is drained.
func (q *completionQueue) next(out []uint64, timeout time.Duration) (n int, drained bool) {
	var expired <-chan time.Time
	if timeout > 0 {
		timer := time.NewTimer(timeout)
		defer timer.Stop()
		expired = timer.C
	}
	for {
		q.mu.Lock()
		if len(q.tokens) > 0 {
			n = copy(out, q.tokens)
			rest := copy(q.tokens, q.tokens[n:])
			q.tokens = q.tokens[:rest]
			q.mu.Unlock()
			if rest > 0 {
				q.signal() // for a concurrent caller waiting while tokens are left
			}
			return n, false
		}
		if q.closed && q.pending == 0 {
			q.mu.Unlock()
			return 0, true
		}
		q.mu.Unlock()
		if timeout == 0 {
			return 0, false
		}
		select {
		case <-q.ready:
		case <-expired:
			return 0, false
		}
	}
}
