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
}

// newSingleKinesisRecord wraps one user record, sent unaggregated with its own
// partition key and its hash key in decimal, as the KPL sends it.
func newSingleKinesisRecord(u *userRecord) *kinesisRecord {
	return &kinesisRecord{
		records:         []*userRecord{u},
		partitionKey:    u.PartitionKey,
		explicitHashKey: u.hash.String(),
		data:            nonNil(u.Data),
		deadline:        u.deadline,
		expiration:      u.expiration,
	}
}

// wireSize is how the service counts the entry against the 5 MiB request limit.
func (k *kinesisRecord) wireSize() int64 { return int64(len(k.partitionKey) + len(k.data)) }

// live drops user records whose outcome was cancelled; it reports whether any remain.
func (k *kinesisRecord) live() bool {
	for _, u := range k.records {
		if !u.outcome.cancelled() {
			return true
		}
	}
	return false
}

// nonNil returns b, or an empty slice for nil: the service requires the
// Data field even when it is empty.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
