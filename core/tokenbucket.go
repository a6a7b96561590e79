package core

import "time"

// tokenStream is one kind of token (records or bytes) in a tokenBucket.
type tokenStream struct {
	tokens   float64
	rate     float64 // tokens added per second
	capacity float64
}

// refill adds rate × elapsed tokens, up to capacity. Multiplying by the
// nanosecond count before dividing keeps whole-number rates over whole
// milliseconds exact.
func (s *tokenStream) refill(elapsed time.Duration) {
	s.tokens = min(s.capacity, s.tokens+s.rate*float64(elapsed)/float64(time.Second))
}

// tokenBucket meters two streams of tokens, records and bytes, that refill
// lazily with time: nothing runs between calls, each call first adds what
// the time since the previous one earned. A bucket starts full. A take is
// all-or-nothing across both streams.
//
// A tokenBucket is not safe for concurrent use; its owner locks it.
type tokenBucket struct {
	records, bytes tokenStream
	last           time.Time
}

// newTokenBucket returns a full bucket refilling at the given rates per
// second, holding at most the given capacities.
func newTokenBucket(now time.Time, recordRate, byteRate, recordCapacity, byteCapacity float64) tokenBucket {
	return tokenBucket{
		records: tokenStream{tokens: recordCapacity, rate: recordRate, capacity: recordCapacity},
		bytes:   tokenStream{tokens: byteCapacity, rate: byteRate, capacity: byteCapacity},
		last:    now,
	}
}

// tryTake takes records and bytes tokens if both streams can pay at now,
// and otherwise takes nothing. A cost above a stream's capacity passes once
// the stream is full and leaves it in debt by the excess, so that such
// costs keep to the rate too: the next take waits until the debt is paid
// back by the refill.
func (b *tokenBucket) tryTake(now time.Time, records, bytes float64) bool {
	if elapsed := now.Sub(b.last); elapsed > 0 {
		b.records.refill(elapsed)
		b.bytes.refill(elapsed)
		b.last = now
	}
	if !b.records.canPay(records) || !b.bytes.canPay(bytes) {
		return false
	}
	b.records.tokens -= records
	b.bytes.tokens -= bytes
	return true
}

// canPay reports whether the stream holds cost tokens, or is full when cost
// is above its capacity.
func (s *tokenStream) canPay(cost float64) bool { return s.tokens >= min(cost, s.capacity) }
