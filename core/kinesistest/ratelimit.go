package kinesistest

import "time"

// ShardRateLimit bounds the writes each shard accepts per second. A zero
// field means that dimension is unlimited.
type ShardRateLimit struct {
	RecordsPerSecond int
	BytesPerSecond   int
}

// DefaultShardRateLimit is the service's write limit per shard: 1000
// records and 1 MiB per second.
var DefaultShardRateLimit = ShardRateLimit{RecordsPerSecond: 1000, BytesPerSecond: 1 << 20}

func (l ShardRateLimit) enabled() bool {
	return l.RecordsPerSecond > 0 || l.BytesPerSecond > 0
}

// writeBudget is a token bucket that enforces a ShardRateLimit on one shard,
// allowing a burst of up to one second's worth. The owning stream's mutex
// guards it.
type writeBudget struct {
	limit   ShardRateLimit
	records float64
	bytes   float64
	last    time.Time
}

func newWriteBudget(limit ShardRateLimit, now time.Time) writeBudget {
	return writeBudget{
		limit:   limit,
		records: float64(limit.RecordsPerSecond),
		bytes:   float64(limit.BytesPerSecond),
		last:    now,
	}
}

// take spends one record of size bytes if the budget allows it at now.
func (b *writeBudget) take(now time.Time, size int) bool {
	if !b.limit.enabled() {
		return true
	}
	b.refill(now)
	recordsOK := b.limit.RecordsPerSecond == 0 || b.records >= 1
	// A record larger than a whole second's bytes passes on a full budget
	// and leaves it in debt, as a 1 MiB record does on the service.
	bytesOK := b.limit.BytesPerSecond == 0 || b.bytes >= min(float64(size), float64(b.limit.BytesPerSecond))
	if !recordsOK || !bytesOK {
		return false
	}
	b.records--
	b.bytes -= float64(size)
	return true
}

func (b *writeBudget) refill(now time.Time) {
	elapsed := now.Sub(b.last).Seconds()
	if elapsed <= 0 {
		return
	}
	b.last = now
	b.records = min(b.records+elapsed*float64(b.limit.RecordsPerSecond), float64(b.limit.RecordsPerSecond))
	b.bytes = min(b.bytes+elapsed*float64(b.limit.BytesPerSecond), float64(b.limit.BytesPerSecond))
}
