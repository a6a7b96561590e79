package core

import "time"

// perShardBytesCap makes a PutRecords batch leave early once it holds this
// many bytes for one predicted shard, as the KPL does: more would only wait
// for that shard's throughput.
const perShardBytesCap = 256 << 10

// collector batches a stream's Kinesis records into PutRecords requests of at
// most collection_max_count entries and collection_max_size bytes, sent by the
// earliest deadline among them less sendMargin, once one predicted shard
// has perShardBytesCap bytes in the batch, or once the batch holds
// dueRequestBytes of due records: records whose deadline falls within the
// collector's grace wait only to share a request with other shards' records,
// and once they fill one, more waiting delays them without saving a request
// worth having. It is a reducer (reducer.go) of a requestBatch.
// Safe for concurrent use.
type collector struct {
	acc *reducer[*kinesisRecord, []*kinesisRecord]
}

func newCollector(cfg *Config, send func([]*kinesisRecord, flushReason)) *collector {
	batch := &requestBatch{
		maxCount:   int(cfg.CollectionMaxCount),
		maxSize:    cfg.CollectionMaxSize,
		margin:     sendMargin(cfg.RecordMaxBufferedTime),
		shardBytes: make(map[int64]int64),
	}
	passOn := func(k *kinesisRecord) { send([]*kinesisRecord{k}, flushClose) }
	return &collector{acc: newReducer(batch, send, passOn)}
}

// sendMargin is how long before its earliest deadline a batch is sent: the
// timer's lateness, the sender's pickup and the request's encoding take a
// millisecond or two on a loaded machine, and record_max_buffered_time_ms is
// a maximum, so that a record's request starts within it at the 99th
// percentile too, not only on average. A twentieth of the buffering time,
// at most 5 ms.
func sendMargin(buffered time.Duration) time.Duration {
	return min(5*time.Millisecond, buffered/20)
}

func (c *collector) put(k *kinesisRecord) { c.acc.add(k) }
func (c *collector) flush()               { c.acc.flush(flushManual) }
func (c *collector) close()               { c.acc.close() }

// requestBatch is the collector's buffer: the Kinesis records of the next
// PutRecords request.
type requestBatch struct {
	maxCount int
	maxSize  int64
	margin   time.Duration

	records    []*kinesisRecord
	size       int64
	shardBytes map[int64]int64 // per predicted shard
	dueBytes   int64
}

func (b *requestBatch) add(k *kinesisRecord) (overflow, full bool, reason flushReason) {
	size := k.wireSize()
	if len(b.records) > 0 && b.size+size > b.maxSize {
		return true, false, 0
	}
	b.records = append(b.records, k)
	b.size += size
	switch {
	case len(b.records) >= b.maxCount:
		return false, true, flushCount
	case b.size >= b.maxSize:
		return false, true, flushSize
	case b.fillsARequest(k, size):
		return false, true, flushPredicate
	}
	return false, false, 0
}

// fillsARequest reports whether the batch should leave now that k, of size
// bytes, is in it: its due records, or its records for k's shard, fill a
// request.
func (b *requestBatch) fillsARequest(k *kinesisRecord, size int64) bool {
	if k.due {
		b.dueBytes += size
		if b.dueBytes >= dueRequestBytes {
			return true
		}
	}
	if k.predictedShardID == "" {
		return false
	}
	b.shardBytes[k.shard] += size
	return b.shardBytes[k.shard] >= perShardBytesCap
}

// departure is the record's deadline less the send margin.
func (b *requestBatch) departure(k *kinesisRecord) time.Time { return k.deadline.Add(-b.margin) }

func (b *requestBatch) empty() bool { return len(b.records) == 0 }

func (b *requestBatch) take() []*kinesisRecord {
	records := b.records
	b.records = nil
	b.size = 0
	clear(b.shardBytes)
	b.dueBytes = 0
	return records
}

// takeDue takes the whole batch: it leaves at its earliest departure.
func (b *requestBatch) takeDue(time.Time) ([]*kinesisRecord, time.Time) {
	return b.take(), time.Time{}
}
