package core

import "time"

// collector batches a stream's Kinesis records into PutRecords requests of at
// most collection_max_count entries and collection_max_size bytes, sent by the
// earliest deadline among them. Safe for concurrent use.
type collector struct {
	batch *batcher[*kinesisRecord]
}

func newCollector(cfg *Config, send func([]*kinesisRecord, flushReason)) *collector {
	return &collector{batch: newBatcher(
		int(cfg.CollectionMaxCount),
		cfg.CollectionMaxSize,
		(*kinesisRecord).wireSize,
		func(k *kinesisRecord) time.Time { return k.deadline },
		send,
	)}
}

func (c *collector) put(k *kinesisRecord) { c.batch.add(k) }
func (c *collector) flush()               { c.batch.flush(flushManual) }
func (c *collector) close()               { c.batch.close() }
