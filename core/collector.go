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
// worth having. Safe for concurrent use.
type collector struct {
	batch *batcher[*kinesisRecord]

	// Guarded by batch's lock (used only from its hooks).
	shardBytes map[int64]int64
	dueBytes   int64
}

func newCollector(cfg *Config, send func([]*kinesisRecord, flushReason)) *collector {
	c := &collector{shardBytes: make(map[int64]int64)}
	margin := sendMargin(cfg.RecordMaxBufferedTime)
	c.batch = newBatcher(
		int(cfg.CollectionMaxCount),
		cfg.CollectionMaxSize,
		(*kinesisRecord).wireSize,
		func(k *kinesisRecord) time.Time { return k.deadline.Add(-margin) },
		send,
	)
	c.batch.full = c.full
	c.batch.reset = func() {
		clear(c.shardBytes)
		c.dueBytes = 0
	}
	return c
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

// full reports whether the batch should leave now that k is in it.
func (c *collector) full(k *kinesisRecord) bool {
	if k.due {
		c.dueBytes += k.wireSize()
		if c.dueBytes >= dueRequestBytes {
			return true
		}
	}
	if k.predictedShardID == "" {
		return false
	}
	c.shardBytes[k.shard] += k.wireSize()
	return c.shardBytes[k.shard] >= perShardBytesCap
}

func (c *collector) put(k *kinesisRecord) { c.batch.add(k) }
func (c *collector) flush()               { c.batch.flush(flushManual) }
func (c *collector) close()               { c.batch.close() }
