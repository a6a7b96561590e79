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
// All methods are safe for concurrent use. Each shard's buffer is an
// reducer (reducer.go) with its own lock, so puts to different
// shards do not wait for each other. emit runs outside the locks, on the caller's goroutine or on a deadline timer's, and
// may run concurrently with itself; Kinesis records of one shard may then
// reach it out of order.
type aggregator struct {
	maxCount int64
	maxSize  int           // of an aggregated record's data: aggregation_max_size less its partition key
	lead     time.Duration // how long before its earliest deadline a buffer leaves
	emit     func(k *kinesisRecord, reason flushReason)

	shards sync.Map     // int64 shard number → *shardReducer
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
func (a *aggregator) put(u *userRecord, shard int64) { a.buffer(shard).add(u) }

// hold runs add with the buffers' deadline timers held back, so that records
// added together (the records of one failed aggregate, back for a retry,
// whose deadlines may be due at once) are not split by a timer firing
// between them; buffers that fell due meanwhile leave when add returns.
func (a *aggregator) hold(add func()) {
	a.held.Add(1)
	add()
	a.held.Add(-1)
	a.shards.Range(func(_, s any) bool {
		s.(*shardReducer).emitIfDue()
		return true
	})
}

// flush emits everything buffered now.
func (a *aggregator) flush() {
	a.shards.Range(func(_, s any) bool {
		s.(*shardReducer).flush(flushManual)
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
		s.(*shardReducer).close()
		return true
	})
}

// shardReducer accumulates one predicted shard's user records into an
// aggregated Kinesis record.
type shardReducer = reducer[*userRecord, *aggregation]

func (a *aggregator) buffer(shard int64) *shardReducer {
	if s, ok := a.shards.Load(shard); ok {
		return s.(*shardReducer)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if s, ok := a.shards.Load(shard); ok {
		return s.(*shardReducer)
	}
	s := newReducer(&shardAggregation{a: a, agg: new(aggregation)}, a.emitTaken, a.emitRaw)
	s.held = &a.held
	if a.closed {
		s.close()
	}
	a.shards.Store(shard, s)
	return s
}

// emitTaken turns a taken aggregation into its Kinesis record, to be encoded
// when its request is written, and emits it.
func (a *aggregator) emitTaken(g *aggregation, reason flushReason) {
	k := g.pendingKinesisRecord()
	if k.pending == nil { // one record, sent raw: the aggregation is free again
		g.recycle()
		aggregations.Put(g)
	}
	a.emit(k, reason)
}

// emitRaw emits u alone, raw: the aggregator is closed.
func (a *aggregator) emitRaw(u *userRecord) {
	a.emit(newKinesisRecord([]*userRecord{u}), flushClose)
}

// aggregations holds taken aggregations for reuse, so that a shard's tables
// keep their capacity from one Kinesis record to the next.
var aggregations = sync.Pool{New: func() any { return new(aggregation) }}

// shardAggregation is one predicted shard's aggregation in progress: the
// buffer of its reducer.
type shardAggregation struct {
	a   *aggregator
	agg *aggregation
}

func (s *shardAggregation) add(u *userRecord) (overflow, full bool, reason flushReason) {
	add := s.agg.measure(u)
	if len(s.agg.records) > 0 && s.agg.size()+add.grow > s.a.maxSize {
		return true, false, 0
	}
	s.agg.add(u, add)
	switch {
	case int64(len(s.agg.records)) >= s.a.maxCount:
		return false, true, flushCount
	case s.agg.size() >= s.a.maxSize:
		return false, true, flushSize
	}
	return false, false, 0
}

// departure is the record's deadline less the lead the next stages need.
func (s *shardAggregation) departure(u *userRecord) time.Time {
	return u.deadline.time().Add(-s.a.lead)
}

func (s *shardAggregation) empty() bool { return len(s.agg.records) == 0 }

// take takes the aggregation and starts an empty one, which inherits the
// key lookups (cleared, keeping their capacity) and a records slice the
// size of the last Kinesis record's.
func (s *shardAggregation) take() *aggregation {
	taken := s.agg
	next := aggregations.Get().(*aggregation)
	next.records = make([]*userRecord, 0, len(taken.records))
	next.partitionKeyIndex, taken.partitionKeyIndex = taken.partitionKeyIndex, nil
	next.hashKeyIndex, taken.hashKeyIndex = taken.hashKeyIndex, nil
	clear(next.partitionKeyIndex)
	clear(next.hashKeyIndex)
	s.agg = next
	return taken
}

// takeDue takes the whole aggregation: it leaves at its earliest departure.
func (s *shardAggregation) takeDue(time.Time) (*aggregation, time.Time) {
	return s.take(), time.Time{}
}
