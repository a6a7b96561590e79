package core

import (
	"sync"
	"time"
)

// waitingRoom holds a stream's records while its first shard map loads, so
// that they can still be aggregated by predicted shard (the KPL sends them
// unaggregated at once instead). A record whose deadline passes first leaves
// without a prediction. Once the map is ready the room stays open and every
// record passes straight through. Safe for concurrent use; route and
// fallback run outside the lock.
type waitingRoom struct {
	route    func(*userRecord) // with the map: predict, aggregate
	fallback func(*userRecord) // without it: send unaggregated

	mu       sync.Mutex
	open     bool
	records  []*userRecord
	deadline time.Time
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

// evacuate sends every waiting record on without a prediction (flush, close).
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
	w.deadline = time.Time{}
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
	var due []*userRecord
	keep := w.records[:0]
	next := time.Time{}
	for _, u := range w.records {
		if !u.deadline.After(now) {
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
