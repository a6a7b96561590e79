package core

import (
	"sync/atomic"
	"time"
)

// pipeline is one stream's chain of stages, and the only place that knows
// their order:
//
//	put → intake (to the pipeline's goroutine) → waiting room (first shard map)
//	    → aggregator (per predicted shard) → limiter (per-shard token buckets)
//	    → collector (PutRecords batches) → sender → retrier → finish | put again
//
// With aggregation off, records go straight to the collector, without a
// shard map or a limiter, as in the KPL. Each stage gets the next one as a
// function and never refers to another stage. A pipeline is created on a
// stream's first put and lives as long as the producer. Safe for concurrent
// use.
type pipeline struct {
	stream  string // as the records name it: id.key
	id      streamID
	p       *Producer
	maxSize recordLimit

	intake     *intake
	shards     *shardMap // nil without aggregation
	waiting    *waitingRoom
	aggregator *aggregator
	limiter    *limiter
	collector  *collector

	// received and pending count the stream's records for its metrics:
	// put since the last sample, and put but not finished.
	received, pending atomic.Int64

	// aggregatorFlushes and collectorFlushes count why batches left, for the
	// processing statistics in the log.
	aggregatorFlushes, collectorFlushes flushReasons

	// flushing is the epoch of the latest flush while it is unresolved:
	// records reaching the collector meanwhile are sent at once.
	flushing atomic.Pointer[epoch]
}

func newPipeline(p *Producer, id streamID) *pipeline {
	pl := &pipeline{stream: id.key, id: id, p: p}
	pl.maxSize.pl = pl
	pl.collector = newCollector(&p.cfg, pl.send)
	defer func() { pl.intake = newIntake(pl.put, pl.retryNow, pl.flushStages) }()
	if !p.cfg.AggregationEnabled {
		return pl
	}
	pl.shards = newShardMap(p.client, id, p.log)
	pl.limiter = newLimiter(&p.cfg, pl.collect, pl.expiredInLimiter)
	pl.aggregator = newAggregator(&p.cfg, pl.collectorGrace(), pl.limit)
	pl.waiting = newWaitingRoom(pl.route, pl.unaggregated)
	pl.shards.start(p.ctx)
	p.background.Add(1)
	go pl.awaitShardMap()
	return pl
}

// add takes a new, validated user record into the pipeline. It returns once
// the record is queued; the pipeline's goroutine takes it on.
func (pl *pipeline) add(u *userRecord) { pl.intake.add(u) }

// put takes a validated user record through the stages, first (from the
// intake) or again after a failed attempt. The partition key's MD5 is
// computed here, on the pipeline's goroutine, not on the putting thread. A
// record larger than every stream takes waits for its stream's limit.
func (pl *pipeline) put(u *userRecord) {
	u.ensureHash()
	switch {
	case u.outcome.cancelled():
		pl.p.finish(u, RecordResult{}) // withdrawn before it was sent
	case u.size() > DefaultMaxRecordSize && !pl.maxSize.admit(u):
	case pl.aggregator == nil:
		pl.unaggregated(u)
	default:
		pl.waiting.add(u)
	}
}

// retry takes back records after a failed attempt, through the intake, so
// that a flush's push cannot land between them and split the records of one
// failed aggregate into two; once the intake is closed, at once.
func (pl *pipeline) retry(records []*userRecord) {
	if !pl.intake.retry(records) {
		pl.retryNow(records)
	}
}

// retryNow takes retried records through the stages, together: no
// aggregator deadline splits them (their retry deadline may already be due).
// During a flush they are pushed through at once: the flush waits for them.
func (pl *pipeline) retryNow(records []*userRecord) {
	put := func() {
		for _, u := range records {
			pl.put(u)
		}
	}
	if pl.aggregator != nil {
		pl.aggregator.hold(put)
	} else {
		put()
	}
	pl.pushIfFlushing()
}

// pushIfFlushing sends on what the first stages hold while a flush waits:
// records that reached them after the flush pushed the stages are its too.
func (pl *pipeline) pushIfFlushing() {
	if pl.aggregator != nil && pl.flushPending() {
		pl.waiting.flush(pl.shards)
		pl.aggregator.flush()
	}
}

// flushPending reports whether a flush is waiting for its records.
func (pl *pipeline) flushPending() bool {
	e := pl.flushing.Load()
	return e != nil && !e.isDone()
}

// awaitShardMap opens the waiting room once the first shard map is ready.
// While listings fail for a setup problem (no credentials, an untrusted
// certificate), the records waiting are sent unaggregated after each
// failure, to fail with its code at once rather than at their deadline.
func (pl *pipeline) awaitShardMap() {
	defer pl.p.background.Done()
	for {
		select {
		case <-pl.shards.ready():
			pl.waiting.release()
			pl.pushIfFlushing() // a flush that waited for the map sends what it routed
			return
		case <-pl.shards.setupRefused():
			pl.waiting.evacuate()
			pl.collector.flush()
		case <-pl.p.ctx.Done():
			return
		}
	}
}

// route predicts the record's shard and aggregates it there; a hash that no
// open shard covers (the map is changing) goes unaggregated, and so does one
// whose shard's id ends in no number (never the service's, but an
// emulator's may): the aggregator's buffers and the limiter's buckets are
// kept by that number.
func (pl *pipeline) route(u *userRecord) {
	predicted := pl.shards.find(u.hash)
	if predicted == nil || predicted.shard < 0 {
		pl.unaggregated(u)
		return
	}
	u.predicted = predicted
	pl.aggregator.put(u, predicted.shard)
}

// unaggregated sends the record alone and without a prediction, bypassing
// the limiter.
func (pl *pipeline) unaggregated(u *userRecord) {
	u.predicted = nil
	pl.collect(newKinesisRecord([]*userRecord{u}))
}

// limit passes an aggregated Kinesis record to the limiter of its shard.
func (pl *pipeline) limit(k *kinesisRecord, reason flushReason) {
	pl.aggregatorFlushes.count(reason)
	pl.limiter.put(k, k.shard)
}

// collectorGrace is the least time a predicted Kinesis record waits in the
// collector, so that records of several shards, due at the same moment,
// share a request (the KPL gives min(50 ms, a fifth of the buffering time)).
// The aggregator lets its buffers go that long before their deadline, so
// that the grace fits in record_max_buffered_time_ms instead of adding to it.
func (pl *pipeline) collectorGrace() time.Duration {
	return min(50*time.Millisecond, pl.p.cfg.RecordMaxBufferedTime/5)
}

// collect adds a Kinesis record to the next PutRecords batch.
func (pl *pipeline) collect(k *kinesisRecord) {
	if k.predictedShardID != "" {
		graced := earlier(addTime(time.Now(), pl.collectorGrace()), k.expiration)
		if !graced.Before(k.deadline) {
			k.deadline, k.due = graced, true
		}
	}
	pl.collector.put(k)
	if pl.flushPending() {
		pl.collector.flush()
	}
}

// expiredInLimiter fails or retries the records of a Kinesis record whose
// earliest expiration passed while it waited for tokens.
func (pl *pipeline) expiredInLimiter(k *kinesisRecord) {
	pl.p.retrier.expiredInLimiter(k)
}

// send turns a collected batch into a request. Records cancelled while they
// waited are left out (a Kinesis record that aggregated some of them is
// rebuilt from the rest).
func (pl *pipeline) send(batch []*kinesisRecord, reason flushReason) {
	pl.collectorFlushes.count(reason)
	live := batch[:0]
	for _, k := range batch {
		if k = pl.withoutCancelled(k); k != nil {
			live = append(live, k)
		}
	}
	for _, part := range requestParts(live, reason) {
		pl.p.sender.send(&putRequest{stream: pl.id, records: part, shards: pl.shardOracle()})
	}
}

// dueRequestBytes is the most a batch that leaves because its deadline came
// puts in one request: a bigger one goes as several requests side by side,
// which answer sooner than one large request (at 90,000 records/s of 200
// bytes on the fake endpoint, put-to-response p99 fell from about 120 to
// about 100 ms). A batch that leaves because it is full, or is flushed,
// goes whole: as few requests as the limits allow is cheapest.
const dueRequestBytes = 256 << 10

// requestParts splits a batch into the records of each request.
func requestParts(batch []*kinesisRecord, reason flushReason) [][]*kinesisRecord {
	if len(batch) == 0 {
		return nil
	}
	if reason != flushDeadline {
		return [][]*kinesisRecord{batch}
	}
	var parts [][]*kinesisRecord
	start, size := 0, int64(0)
	for i, k := range batch {
		if i > start && size+k.wireSize() > dueRequestBytes {
			parts = append(parts, batch[start:i:i])
			start, size = i, 0
		}
		size += k.wireSize()
	}
	return append(parts, batch[start:])
}

func (pl *pipeline) withoutCancelled(k *kinesisRecord) *kinesisRecord {
	var live []*userRecord
	for i, u := range k.records {
		if !u.outcome.cancelled() {
			if live != nil {
				live = append(live, u)
			}
			continue
		}
		if live == nil {
			live = append(make([]*userRecord, 0, len(k.records)), k.records[:i]...)
		}
		pl.p.finish(u, RecordResult{})
	}
	switch {
	case live == nil:
		return k // nothing cancelled
	case len(live) == 0:
		return nil
	}
	return k.repacked(live)
}

func (pl *pipeline) shardOracle() shardOracle {
	if pl.shards == nil {
		return nil
	}
	return pl.shards
}

// flush pushes every stage, for the flush whose epoch is sealed, once the
// records put before it have left the intake. It does not wait.
func (pl *pipeline) flush(sealed *epoch) { pl.intake.flush(sealed) }

// flushStages pushes every stage now. What the stages hold goes out
// together; what reaches the collector after that (admitted later by the
// limiter, or retried) goes out at once while the flush is unresolved.
func (pl *pipeline) flushStages(sealed *epoch) {
	if pl.aggregator != nil {
		pl.waiting.flush(pl.shards)
		pl.aggregator.flush()
		pl.limiter.flush()
	}
	pl.flushing.Store(sealed)
	pl.collector.flush()
}

// close empties every stage into the (closed) sender, which resolves the
// records as ProducerClosed.
func (pl *pipeline) close() {
	pl.intake.close()
	pl.maxSize.close()
	if pl.aggregator != nil {
		pl.waiting.evacuate()
		pl.aggregator.close()
		pl.limiter.close(pl.collect)
	}
	pl.collector.close()
}
