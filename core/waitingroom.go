package core

import "time"

// waitingRoom holds a stream's records while its first shard map loads, so
// that they can still be aggregated by predicted shard (the KPL sends them
// unaggregated at once instead). A record whose deadline passes first leaves
// without a prediction, and so does every record once a flush's wait for the
// map runs out. Once the map is ready the room stays open and every record
// passes straight through. It is a reducer (reducer.go) of
// waitingRecords, which the room's opening closes. Safe for concurrent use;
// route and fallback run outside the lock.
type waitingRoom struct {
	route    func(*userRecord) // with the map: predict, aggregate
	fallback func(*userRecord) // without it: send unaggregated

	acc *reducer[*userRecord, []*userRecord]
}

func newWaitingRoom(route, fallback func(*userRecord)) *waitingRoom {
	w := &waitingRoom{route: route, fallback: fallback}
	w.acc = newReducer(&waitingRecords{}, w.leave, route)
	return w
}

// add routes u if the map is ready, else keeps it until the map or its deadline.
func (w *waitingRoom) add(u *userRecord) { w.acc.add(u) }

// release opens the room: the map is ready, and every waiting record is routed.
func (w *waitingRoom) release() { w.acc.close() }

// flushWithin makes every waiting record leave, without a prediction, in
// wait at the latest, unless the map is ready first: a flush waits that
// long for a first map that is loading, so that a burst put just after the
// start is still aggregated. A later flush does not extend an earlier one's
// wait.
func (w *waitingRoom) flushWithin(wait time.Duration) { w.acc.leaveWithin(wait) }

// flush sends every waiting record on for a flush: routed if the first
// map is in (whether or not release has run yet), once it is ready if it
// is loading (within firstMapFlushWait), else now, without a prediction.
func (w *waitingRoom) flush(shards *shardMap) {
	switch {
	case shards.hasMap():
		w.release()
	case shards.loadingFirst():
		w.flushWithin(firstMapFlushWait)
	default:
		w.evacuate()
	}
}

// firstMapFlushWait is how long a flush lets records wait for a first shard
// map that is loading (a listing takes milliseconds), so that they are
// aggregated instead of sent one by one.
const firstMapFlushWait = 2 * time.Second

// evacuate sends every waiting record on without a prediction (close, or a
// flush while no map is loading).
func (w *waitingRoom) evacuate() { w.acc.flush(flushManual) }

// leave sends on records that leave the room: routed when the room opens
// (its reducer closes), else unaggregated.
func (w *waitingRoom) leave(records []*userRecord, reason flushReason) {
	send := w.fallback
	if reason == flushClose {
		send = w.route
	}
	for _, u := range records {
		send(u)
	}
}

// waitingRecords is the waiting room's buffer: records in arrival order,
// without limits, each leaving at its own deadline.
type waitingRecords struct {
	records []*userRecord
}

func (r *waitingRecords) add(u *userRecord) (overflow, full bool, reason flushReason) {
	r.records = append(r.records, u)
	return false, false, 0
}

func (r *waitingRecords) departure(u *userRecord) time.Time { return u.deadline.time() }

func (r *waitingRecords) empty() bool { return len(r.records) == 0 }

func (r *waitingRecords) take() []*userRecord {
	records := r.records
	r.records = nil
	return records
}

// takeDue takes the records whose deadline has come and keeps the rest, in
// order.
func (r *waitingRecords) takeDue(now time.Time) (due []*userRecord, next time.Time) {
	at := instantOf(now)
	keep := r.records[:0]
	var soonest instant
	for _, u := range r.records {
		if u.deadline <= at {
			due = append(due, u)
			continue
		}
		if len(keep) == 0 || u.deadline < soonest {
			soonest = u.deadline
		}
		keep = append(keep, u)
	}
	clear(r.records[len(keep):])
	r.records = keep
	if len(keep) > 0 {
		next = soonest.time()
	}
	return due, next
}
