package core

import "time"

// perShardBytesCap makes a PutRecords batch leave early once it holds this
// many bytes for one predicted shard, as the KPL does: more would only wait
// for that shard's throughput.
const perShardBytesCap = 256 << 10

// collector batches a stream's Kinesis records into PutRecords requests of at
// most collection_max_count entries and collection_max_size bytes, sent by the
// earliest deadline among them, or once one predicted shard has
// perShardBytesCap bytes in the batch. Safe for concurrent use.
type collector struct {
	batch      *batcher[*kinesisRecord]
	shardBytes map[int64]int64 // guarded by batch's lock (used only from its hooks)
}

func newCollector(cfg *Config, send func([]*kinesisRecord, flushReason)) *collector {
	c := &collector{shardBytes: make(map[int64]int64)}
	c.batch = newBatcher(
		int(cfg.CollectionMaxCount),
		cfg.CollectionMaxSize,
		(*kinesisRecord).wireSize,
		func(k *kinesisRecord) time.Time { return k.deadline },
		send,
	)
	c.batch.full = c.shardFull
	c.batch.reset = func() { clear(c.shardBytes) }
	return c
}

func (c *collector) shardFull(k *kinesisRecord) bool {
	if k.predictedShardID == "" {
		return false
	}
	c.shardBytes[k.shard] += k.wireSize()
	return c.shardBytes[k.shard] >= perShardBytesCap
}

func (c *collector) put(k *kinesisRecord) { c.batch.add(k) }
func (c *collector) flush()               { c.batch.flush(flushManual) }
func (c *collector) close()               { c.batch.close() }
