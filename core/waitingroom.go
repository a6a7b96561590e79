package core

import (
	"sync"
	"time"
)

// waitingRoom holds a stream's records while its first shard map loads, so
// that they can still be aggregated by predicted shard (the KPL sends them
// unaggregated at once instead). A record whose deadline passes first leaves
// without a prediction, and so does every record once a flush's wait for the
// map runs out. Once the map is ready the room stays open and every record
// passes straight through. Safe for concurrent use; route and fallback run
// outside the lock.
type waitingRoom struct {
	route    func(*userRecord) // with the map: predict, aggregate
	fallback func(*userRecord) // without it: send unaggregated

	mu       sync.Mutex
	open     bool
	records  []*userRecord
	deadline time.Time // the timer's: the earliest record deadline, or flushBy
	flushBy  time.Time // a flush's: every record leaves by then; zero without one
	timer    *time.Timer
}

func newWaitingRoom(route, fallback func(*userRecord)) *waitingRoom {
	return &waitingRoom{route: route, fallback: fallback}
}

// add routes u if the map is ready, else keeps it until the map or its deadline.
func (w *waitingRoom) add(u *userRecord) {
	w.mu.Lock()
	if w.open {
		w.mu.Unlock()
		w.route(u)
		return
	}
	w.records = append(w.records, u)
	if w.deadline.IsZero() || u.deadline.Before(w.deadline) {
		w.armLocked(u.deadline)
	}
	w.mu.Unlock()
}

// release opens the room: the map is ready, and every waiting record is routed.
func (w *waitingRoom) release() {
	w.mu.Lock()
	w.open = true
	records := w.takeLocked()
	w.mu.Unlock()
	for _, u := range records {
		w.route(u)
	}
}

// flushWithin makes every waiting record leave, without a prediction, in
// wait at the latest, unless the map is ready first: a flush waits that
// long for a first map that is loading, so that a burst put just after the
// start is still aggregated. A later flush does not extend an earlier one's
// wait.
func (w *waitingRoom) flushWithin(wait time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.open || len(w.records) == 0 {
		return
	}
	by := time.Now().Add(wait)
	if !w.flushBy.IsZero() && !by.Before(w.flushBy) {
		return
	}
	w.flushBy = by
	if by.Before(w.deadline) {
		w.armLocked(by)
	}
}

// evacuate sends every waiting record on without a prediction (close, or a
// flush while no map is loading).
func (w *waitingRoom) evacuate() {
	w.mu.Lock()
	records := w.takeLocked()
	w.mu.Unlock()
	for _, u := range records {
		w.fallback(u)
	}
}

func (w *waitingRoom) takeLocked() []*userRecord {
	records := w.records
	w.records = nil
	w.deadline, w.flushBy = time.Time{}, time.Time{}
	if w.timer != nil {
		w.timer.Stop()
	}
	return records
}

func (w *waitingRoom) armLocked(deadline time.Time) {
	w.deadline = deadline
	if w.timer == nil {
		w.timer = time.AfterFunc(time.Until(deadline), w.onDeadline)
		return
	}
	w.timer.Reset(time.Until(deadline))
}

// onDeadline sends on the records whose deadline passed and waits for the rest.
func (w *waitingRoom) onDeadline() {
	now := time.Now()
	w.mu.Lock()
	flushed := !w.flushBy.IsZero() && !w.flushBy.After(now)
	if flushed {
		w.flushBy = time.Time{}
	}
	var due []*userRecord
	keep := w.records[:0]
	next := w.flushBy
	for _, u := range w.records {
		if flushed || !u.deadline.After(now) {
			due = append(due, u)
			continue
		}
		keep = append(keep, u)
		if next.IsZero() || u.deadline.Before(next) {
			next = u.deadline
		}
	}
	clear(w.records[len(keep):])
	w.records = keep
	w.deadline = time.Time{}
	if !next.IsZero() {
		w.armLocked(next)
	}
	w.mu.Unlock()
	for _, u := range due {
		w.fallback(u)
	}
}
