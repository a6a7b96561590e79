package core

import (
	"sync"
	"sync/atomic"
	"time"
)

// aggregator packs a stream's user records into Kinesis records, one buffer
// per predicted shard, as the KPL's aggregator does. A shard's buffer leaves
// as one Kinesis record when it holds aggregation_max_count records, when its
// exact encoded size reaches aggregation_max_size, at the earliest deadline
// among its records less a lead time, or on flush or close. A record that would take the
// buffer past aggregation_max_size makes the buffer leave first, so an
// aggregated record never exceeds the limit; a record too big to share a
// Kinesis record with another goes alone, raw. Sizes are exact (the KPL
// estimates, then trims), so nothing is ever put back.
//
// Which records bypass aggregation is the pipeline's decision; the
// aggregator packs whatever it is given. Buffers are created on a shard's
// first record and kept, as the KPL keeps its reducers after resharding.
//
// All methods are safe for concurrent use; each shard's buffer has its own
// lock, so puts to different shards do not wait for each other. emit runs
// outside the locks, on the caller's goroutine or on a deadline timer's, and
// may run concurrently with itself; Kinesis records of one shard may then
// reach it out of order.
type aggregator struct {
	maxCount int64
	maxSize  int           // of an aggregated record's data: aggregation_max_size less its partition key
	lead     time.Duration // how long before its earliest deadline a buffer leaves
	emit     func(k *kinesisRecord, reason flushReason)

	shards sync.Map     // int64 shard number → *shardBuffer
	held   atomic.Int32 // hold calls running: deadline timers leave buffers to them

	mu     sync.Mutex // orders creating a shard's buffer with close
	closed bool
}

// newAggregator makes an aggregator whose buffers leave lead before their
// earliest deadline (the time the next stages may still hold a record
// without making it late).
func newAggregator(cfg *Config, lead time.Duration, emit func(k *kinesisRecord, reason flushReason)) *aggregator {
	return &aggregator{
		maxCount: cfg.AggregationMaxCount,
		maxSize:  aggregatedMaxDataSize(cfg.AggregationMaxSize),
		lead:     lead,
		emit:     emit,
	}
}

// put buffers u for the shard the shard map predicts for it (the number in
// "shardId-000000000123"), emitting whatever leaves because of it.
func (a *aggregator) put(u *userRecord, shard int64) { a.buffer(shard).put(u) }

// hold runs add with the buffers' deadline timers held back, so that records
// added together (the records of one failed aggregate, back for a retry,
// whose deadlines may be due at once) are not split by a timer firing
// between them; buffers that fell due meanwhile leave when add returns.
func (a *aggregator) hold(add func()) {
	a.held.Add(1)
	add()
	a.held.Add(-1)
	a.shards.Range(func(_, s any) bool {
		s.(*shardBuffer).emitIfDue()
		return true
	})
}

// flush emits everything buffered now.
func (a *aggregator) flush() {
	a.shards.Range(func(_, s any) bool {
		s.(*shardBuffer).flush(flushManual, false)
		return true
	})
}

// close flushes, and makes every later put emit its record at once, raw.
func (a *aggregator) close() {
	a.mu.Lock()
	a.closed = true
	a.mu.Unlock()
	// Every buffer created before closed was set is visible to Range; every
	// one created after it starts closed.
	a.shards.Range(func(_, s any) bool {
		s.(*shardBuffer).flush(flushClose, true)
		return true
	})
}

// buffered is the number of user records waiting, over all shards.
func (a *aggregator) buffered() int {
	n := 0
	a.shards.Range(func(_, v any) bool {
		s := v.(*shardBuffer)
		s.mu.Lock()
		n += len(s.agg.records)
		s.mu.Unlock()
		return true
	})
	return n
}

func (a *aggregator) buffer(shard int64) *shardBuffer {
	if s, ok := a.shards.Load(shard); ok {
		return s.(*shardBuffer)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if s, ok := a.shards.Load(shard); ok {
		return s.(*shardBuffer)
	}
	s := &shardBuffer{a: a, agg: new(aggregation), closed: a.closed}
	a.shards.Store(shard, s)
	return s
}

// emitTaken turns a taken buffer into its Kinesis record, to be encoded
// when its request is written, and emits it.
func (a *aggregator) emitTaken(g *aggregation, reason flushReason) {
	k := g.pendingKinesisRecord()
	if k.pending == nil { // one record, sent raw: the aggregation is free again
		g.recycle()
		aggregations.Put(g)
	}
	a.emit(k, reason)
}

// aggregations holds taken aggregations for reuse, so that a shard's tables
// keep their capacity from one Kinesis record to the next.
var aggregations = sync.Pool{New: func() any { return new(aggregation) }}

// shardBuffer is one predicted shard's aggregation in progress.
type shardBuffer struct {
	a *aggregator

	mu       sync.Mutex
	agg      *aggregation
	deadline time.Time // earliest deadline buffered; zero when empty
	timer    *time.Timer
	closed   bool
}

func (s *shardBuffer) put(u *userRecord) {
	a := s.a
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		a.emit(newKinesisRecord([]*userRecord{u}), flushClose)
		return
	}
	add := s.agg.measure(u)
	var full *aggregation
	if len(s.agg.records) > 0 && s.agg.size()+add.grow > a.maxSize {
		full = s.takeLocked()
		add = s.agg.measure(u) // its keys are new to the empty buffer
	}
	s.agg.add(u, add)
	var ready *aggregation
	reason := flushCount
	switch {
	case int64(len(s.agg.records)) >= a.maxCount:
		ready = s.takeLocked()
	case s.agg.size() >= a.maxSize:
		ready, reason = s.takeLocked(), flushSize
	default:
		s.armLocked(u.deadline.Add(-a.lead))
	}
	s.mu.Unlock()
	if full != nil {
		a.emitTaken(full, flushSize)
	}
	if ready != nil {
		a.emitTaken(ready, reason)
	}
}

func (s *shardBuffer) flush(reason flushReason, close bool) {
	s.mu.Lock()
	if close {
		s.closed = true
	}
	var taken *aggregation
	if len(s.agg.records) > 0 {
		taken = s.takeLocked()
	}
	s.mu.Unlock()
	if taken != nil {
		s.a.emitTaken(taken, reason)
	}
}

// takeLocked takes the buffered aggregation and starts an empty one, which
// inherits the key lookups (cleared, keeping their capacity) and a records
// slice the size of the last Kinesis record's.
func (s *shardBuffer) takeLocked() *aggregation {
	taken := s.agg
	next := aggregations.Get().(*aggregation)
	next.records = make([]*userRecord, 0, len(taken.records))
	next.partitionKeyIndex, taken.partitionKeyIndex = taken.partitionKeyIndex, nil
	next.hashKeyIndex, taken.hashKeyIndex = taken.hashKeyIndex, nil
	clear(next.partitionKeyIndex)
	clear(next.hashKeyIndex)
	s.agg = next
	s.deadline = time.Time{}
	if s.timer != nil {
		s.timer.Stop()
	}
	return taken
}

// armLocked makes the timer fire at the earliest of the buffered records'
// departure times.
func (s *shardBuffer) armLocked(deadline time.Time) {
	if !s.deadline.IsZero() && !deadline.Before(s.deadline) {
		return
	}
	s.deadline = deadline
	wait := time.Until(deadline)
	if s.timer == nil {
		s.timer = time.AfterFunc(wait, s.onDeadline)
		return
	}
	s.timer.Reset(wait)
}

func (s *shardBuffer) onDeadline() {
	if s.a.held.Load() > 0 {
		return // the hold emits the buffer if it is due when it ends
	}
	s.emitIfDue()
}

// emitIfDue emits the buffer if its deadline has come.
func (s *shardBuffer) emitIfDue() {
	s.mu.Lock()
	if s.deadline.IsZero() || time.Now().Before(s.deadline) {
		s.mu.Unlock() // a stale firing: the buffer left, and any refill is not due yet
		return
	}
	taken := s.takeLocked()
	s.mu.Unlock()
	s.a.emitTaken(taken, flushDeadline)
}
