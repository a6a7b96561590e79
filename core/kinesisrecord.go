package core

import "time"

// kinesisRecord is one PutRecords entry: a single user record sent as it is,
// or several packed in the KPL aggregated format. Its deadline and
// expiration are the earliest of its user records'.
//
// The aggregator's records are encoded only when their request is about to
// be written (encode): until then pending holds the aggregation, whose size
// is exact, so that records waiting for tokens or for a request (under
// throttling, most of a full budget) are held once, as the user records'
// data, not twice.
type kinesisRecord struct {
	records         []*userRecord
	partitionKey    string
	explicitHashKey string
	data            []byte
	pending         *aggregation // to encode into data; nil once encoded, and for raw records
	deadline        time.Time
	expiration      time.Time

	// predictedShardID is the shard the shard map expects the record to
	// land in, "" when the record went out without a prediction; shard is
	// its number (the digits of the id).
	predictedShardID string
	shard            int64

	// due marks an aggregated record whose deadline came within the
	// collector's grace: it waits in the collector only to share a request.
	due bool

	// pooled marks data as a buffer of aggregatedBuffers; released is the
	// length data had when it went back there (and data is nil).
	pooled   bool
	released int
}

// wireSize is how the service counts the entry against the 5 MiB request limit.
func (k *kinesisRecord) wireSize() int64 { return int64(len(k.partitionKey) + k.dataLen()) }

// dataLen is the length of the record's data, also before it is encoded and
// once its buffer is released.
func (k *kinesisRecord) dataLen() int {
	if k.pending != nil {
		return k.pending.size()
	}
	return len(k.data) + k.released
}

// repacked is a Kinesis record of records, some of k's, encoded afresh,
// for the shard k was predicted to land in.
func (k *kinesisRecord) repacked(records []*userRecord) *kinesisRecord {
	r := newKinesisRecord(records)
	r.predictedShardID, r.shard = k.predictedShardID, k.shard
	return r
}

// encode writes a pending aggregation into a pooled data buffer, and gives
// the aggregation back for reuse.
func (k *kinesisRecord) encode() {
	g := k.pending
	if g == nil {
		return
	}
	k.data, k.pooled, k.pending = g.appendEncoded(aggregatedBuffers.get(g.size())), true, nil
	g.recycle()
	aggregations.Put(g)
}

// releaseData hands a pooled data buffer back for another aggregated record,
// once the request that carried it is serialized; only the length is kept.
func (k *kinesisRecord) releaseData() {
	if !k.pooled || k.data == nil {
		return
	}
	k.released = len(k.data)
	aggregatedBuffers.put(k.data)
	k.data = nil
}

// aggregatedBuffers recycle the data buffers of aggregated Kinesis records,
// so that a busy producer does not allocate, zero and collect a buffer of up
// to aggregation_max_size for every aggregated record. Only the sender of the
// SDK client returns buffers (sender.recycle): a client of the caller's
// (WithClient) may keep the data.
var aggregatedBuffers bufferPool

// nonNil returns b, or an empty slice for nil: the service requires the
// Data field even when it is empty.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
