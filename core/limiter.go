package core

import (
	"container/heap"
	"sync"
	"sync/atomic"
	"time"
)

// limiterBurst is how much time's worth of its refill rate a shard's bucket
// holds. The KPL lets 1,000 records and 10 MiB through at once whatever the
// rate; the service allows 1,000 records and 1 MiB per second per shard, so
// a 10 MiB burst mostly buys throttling errors and retries. Half a second
// at the configured rates stays inside the service's own one-second
// allowance even when the burst's requests reach the shard out of order or
// late (its bucket, full meanwhile, earns nothing), and scales down with the
// rates when producers share a stream. The sustained rate is unaffected.
const limiterBurst = 500 * time.Millisecond

// limiterExpiredMessage is the attempt message for records that expire
// while the limiter holds them.
const limiterExpiredMessage = "Expiration reached while waiting in limiter"

// limiter caps one stream's traffic per predicted shard with a token bucket
// of records and bytes, so that a hot shard waits in the producer instead of
// earning throttling errors. It does not prevent throttling (other producers
// write to the same shards, and predictions can be stale), but it bounds how
// much of it one producer causes.
//
// A Kinesis record costs one record and its wire size in bytes. It passes at
// once when its shard has the tokens and nothing is waiting there; otherwise
// it waits in the shard's queue. Every drain interval (a single timer, armed
// only while records wait) and on every put to a shard with waiting records,
// the shard's queue first hands expired records to expire, then admits
// records in deadline order until one lacks tokens: that record holds back
// the rest of its shard, but not other shards.
//
// All methods are safe for concurrent use. emit and expire are called
// outside the limiter's locks, possibly concurrently.
type limiter struct {
	recordRate, byteRate         float64
	recordCapacity, byteCapacity float64
	interval                     time.Duration
	emit, expire                 func(*kinesisRecord)

	// shards is replaced, never modified, so that put finds its shard
	// without a lock; writers hold mu.
	shards atomic.Pointer[map[int64]*shardLimiter]
	// closedTo is set once by close: the function every record goes to from
	// then on. It is written under mu and read under a shard's lock.
	closedTo atomic.Pointer[func(*kinesisRecord)]

	// drainMu is held by a drain until it has handed its records on, so
	// drains run one at a time and none emits after close returns.
	drainMu sync.Mutex

	mu      sync.Mutex
	waiting []*shardLimiter // shards with queued records
	armed   bool            // timer is due to fire
	timer   *time.Timer
}

// shardLimiter is one shard's bucket and queue, guarded by mu.
type shardLimiter struct {
	mu     sync.Mutex
	bucket tokenBucket
	queue  limiterQueue
	listed bool // in limiter.waiting; guarded by limiter.mu
}

// newLimiter returns a limiter refilling at cfg's per-shard rates and
// draining every cfg.DrainInterval. Admitted records go to emit, records
// that expire while queued to expire.
func newLimiter(cfg *Config, emit, expire func(k *kinesisRecord)) *limiter {
	return newLimiterWithBurst(cfg, limiterBurst, emit, expire)
}

// newLimiterWithBurst is newLimiter with buckets holding burst's worth of
// the rates.
func newLimiterWithBurst(cfg *Config, burst time.Duration, emit, expire func(k *kinesisRecord)) *limiter {
	l := &limiter{
		recordRate:     cfg.RateLimitRecordsPerSecPerShard,
		byteRate:       cfg.RateLimitBytesPerSecPerShard,
		recordCapacity: max(cfg.RateLimitRecordsPerSecPerShard*burst.Seconds(), 1),
		// No larger than the service's own one-second allowance: a bigger
		// bucket admits a burst the shard then throttles. An entry costing
		// more than the capacity passes on a full bucket and leaves it in
		// debt (tryTake), so that large entries keep to the rate as well.
		byteCapacity: max(cfg.RateLimitBytesPerSecPerShard*burst.Seconds(), 1),
		interval:     cfg.DrainInterval,
		emit:         emit,
		expire:       expire,
	}
	l.shards.Store(&map[int64]*shardLimiter{})
	return l
}

// put admits k to its predicted shard now or queues it. A negative shard
// means no prediction: k bypasses the limiter and goes to emit at once.
// After close, k goes to close's function instead.
func (l *limiter) put(k *kinesisRecord, shard int64) {
	if shard < 0 {
		if fn := l.closedTo.Load(); fn != nil {
			(*fn)(k)
			return
		}
		l.emit(k)
		return
	}
	s := l.shard(shard)
	now := time.Now()
	s.mu.Lock()
	if fn := l.closedTo.Load(); fn != nil {
		s.mu.Unlock()
		(*fn)(k)
		return
	}
	if s.queue.len() == 0 && s.bucket.tryTake(now, 1, float64(k.wireSize())) {
		s.mu.Unlock()
		l.emit(k)
		return
	}
	s.queue.push(k)
	admitted, expired := s.drainLocked(now, nil, nil)
	if s.queue.len() > 0 {
		l.wait(s)
	}
	s.mu.Unlock()
	l.hand(admitted, expired)
}

// flush drains every shard now, after any drain in progress. Records that
// still lack tokens keep waiting: a flush does not bypass the rate limit.
func (l *limiter) flush() { l.drain() }

// close stops the timer and hands every queued record, each shard's in
// deadline order, to fn; records put afterwards go to fn too. It waits for
// a drain in progress to finish first. Only the first close has effect.
func (l *limiter) close(fn func(k *kinesisRecord)) {
	l.drainMu.Lock()
	defer l.drainMu.Unlock()
	l.mu.Lock()
	if l.closedTo.Load() != nil {
		l.mu.Unlock()
		return
	}
	l.closedTo.Store(&fn)
	if l.timer != nil {
		l.timer.Stop()
	}
	l.armed = false
	for _, s := range l.waiting {
		s.listed = false
	}
	l.waiting = nil
	shards := *l.shards.Load()
	l.mu.Unlock()

	var rest []*kinesisRecord
	for _, s := range shards {
		s.mu.Lock()
		rest = s.queue.takeAll(rest)
		s.mu.Unlock()
	}
	for _, k := range rest {
		fn(k)
	}
}

// shard returns the shard's limiter, creating it with a full bucket.
func (l *limiter) shard(id int64) *shardLimiter {
	if s, ok := (*l.shards.Load())[id]; ok {
		return s
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	old := *l.shards.Load()
	if s, ok := old[id]; ok {
		return s
	}
	s := &shardLimiter{
		bucket: newTokenBucket(time.Now(), l.recordRate, l.byteRate, l.recordCapacity, l.byteCapacity),
		queue:  limiterQueue{byDeadline: recordHeap{order: orderDeadline}, byExpiration: recordHeap{order: orderExpiration}},
	}
	next := make(map[int64]*shardLimiter, len(old)+1)
	for k, v := range old {
		next[k] = v
	}
	next[id] = s
	l.shards.Store(&next)
	return s
}

// wait lists s for the next drain and arms the timer. s.mu must be held.
func (l *limiter) wait(s *shardLimiter) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closedTo.Load() != nil {
		return // close takes the queue
	}
	if !s.listed {
		s.listed = true
		l.waiting = append(l.waiting, s)
	}
	if !l.armed {
		l.armed = true
		if l.timer == nil {
			l.timer = time.AfterFunc(l.interval, l.tick)
		} else {
			l.timer.Reset(l.interval)
		}
	}
}

// tick is the timer's drain. While another drain runs (it may be blocked
// handing records to a full downstream) it tries again an interval later
// instead of queueing behind it, so timer goroutines never pile up.
func (l *limiter) tick() {
	if !l.drainMu.TryLock() {
		l.mu.Lock()
		if l.armed && l.closedTo.Load() == nil {
			l.timer.Reset(l.interval)
		}
		l.mu.Unlock()
		return
	}
	defer l.drainMu.Unlock()
	l.mu.Lock()
	l.armed = false
	l.mu.Unlock()
	l.drainLocked()
}

// drain expires and admits what it can on every shard with waiting
// records, then re-lists those that still have some.
func (l *limiter) drain() {
	l.drainMu.Lock()
	defer l.drainMu.Unlock()
	l.drainLocked()
}

// drainLocked is drain with drainMu held.
func (l *limiter) drainLocked() {
	if l.closedTo.Load() != nil {
		return
	}
	l.mu.Lock()
	shards := l.waiting
	l.waiting = nil
	for _, s := range shards {
		s.listed = false
	}
	l.mu.Unlock()

	now := time.Now()
	var admitted, expired []*kinesisRecord
	for _, s := range shards {
		s.mu.Lock()
		admitted, expired = s.drainLocked(now, admitted, expired)
		if s.queue.len() > 0 {
			l.wait(s)
		}
		s.mu.Unlock()
	}

	l.mu.Lock()
	if len(l.waiting) == 0 && l.armed {
		l.timer.Stop() // a flush emptied the queues before the timer fired
		l.armed = false
	}
	l.mu.Unlock()
	l.hand(admitted, expired)
}

// hand passes drained records on, expired ones first. No lock is held.
func (l *limiter) hand(admitted, expired []*kinesisRecord) {
	for _, k := range expired {
		l.expire(k)
	}
	for _, k := range admitted {
		l.emit(k)
	}
}

// drainLocked appends the queue's expired records to expired, then the
// records the bucket admits, in deadline order, to admitted. s.mu must be
// held.
func (s *shardLimiter) drainLocked(now time.Time, admitted, expired []*kinesisRecord) ([]*kinesisRecord, []*kinesisRecord) {
	for {
		k, ok := s.queue.popExpired(now)
		if !ok {
			break
		}
		expired = append(expired, k)
	}
	for s.queue.len() > 0 {
		k := s.queue.head()
		if !s.bucket.tryTake(now, 1, float64(k.wireSize())) {
			break
		}
		s.queue.popHead()
		admitted = append(admitted, k)
	}
	return admitted, expired
}

// limiterQueue holds one shard's waiting records, indexed by deadline (the
// order they are admitted in) and by expiration (the order they expire in).
// Records with equal times keep their arrival order.
type limiterQueue struct {
	byDeadline   recordHeap
	byExpiration recordHeap
	seq          uint64
}

// queuedRecord is a record in both heaps of a limiterQueue; at holds its
// index in each.
type queuedRecord struct {
	k   *kinesisRecord
	seq uint64
	at  [2]int
}

const (
	orderDeadline = iota
	orderExpiration
)

func (q *limiterQueue) len() int { return len(q.byDeadline.items) }

func (q *limiterQueue) push(k *kinesisRecord) {
	q.seq++
	r := &queuedRecord{k: k, seq: q.seq}
	heap.Push(&q.byDeadline, r)
	heap.Push(&q.byExpiration, r)
}

// head is the record with the earliest deadline; the queue must not be empty.
func (q *limiterQueue) head() *kinesisRecord { return q.byDeadline.items[0].k }

func (q *limiterQueue) popHead() *kinesisRecord {
	r := heap.Pop(&q.byDeadline).(*queuedRecord)
	heap.Remove(&q.byExpiration, r.at[orderExpiration])
	return r.k
}

// popExpired removes and returns a record whose expiration is before now.
func (q *limiterQueue) popExpired(now time.Time) (*kinesisRecord, bool) {
	if q.len() == 0 || !now.After(q.byExpiration.items[0].k.expiration) {
		return nil, false
	}
	r := heap.Pop(&q.byExpiration).(*queuedRecord)
	heap.Remove(&q.byDeadline, r.at[orderDeadline])
	return r.k, true
}

// takeAll empties the queue, appending its records to out in deadline order.
func (q *limiterQueue) takeAll(out []*kinesisRecord) []*kinesisRecord {
	for q.len() > 0 {
		out = append(out, q.popHead())
	}
	return out
}

// recordHeap is a container/heap of queued records by deadline or by
// expiration, keeping each record's index current.
type recordHeap struct {
	items []*queuedRecord
	order int // orderDeadline or orderExpiration
}

func (h *recordHeap) Len() int { return len(h.items) }

func (h *recordHeap) Less(i, j int) bool {
	a, b := h.items[i], h.items[j]
	ta, tb := a.k.deadline, b.k.deadline
	if h.order == orderExpiration {
		ta, tb = a.k.expiration, b.k.expiration
	}
	if !ta.Equal(tb) {
		return ta.Before(tb)
	}
	return a.seq < b.seq
}

func (h *recordHeap) Swap(i, j int) {
	h.items[i], h.items[j] = h.items[j], h.items[i]
	h.items[i].at[h.order] = i
	h.items[j].at[h.order] = j
}

func (h *recordHeap) Push(x any) {
	r := x.(*queuedRecord)
	r.at[h.order] = len(h.items)
	h.items = append(h.items, r)
}

func (h *recordHeap) Pop() any {
	n := len(h.items) - 1
	r := h.items[n]
	h.items[n] = nil
	h.items = h.items[:n]
	return r
}
