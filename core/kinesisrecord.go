package core

import "time"

// kinesisRecord is one PutRecords entry: a single user record sent as it is,
// or several packed in the KPL aggregated format. Its deadline and
// expiration are the earliest of its user records'.
type kinesisRecord struct {
	records         []*userRecord
	partitionKey    string
	explicitHashKey string
	data            []byte
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
}

// wireSize is how the service counts the entry against the 5 MiB request limit.
func (k *kinesisRecord) wireSize() int64 { return int64(len(k.partitionKey) + len(k.data)) }

// nonNil returns b, or an empty slice for nil: the service requires the
// Data field even when it is empty.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
