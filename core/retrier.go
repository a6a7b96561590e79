package core

import (
	"math/rand/v2"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// Backoff between attempts: exponential with jitter, separately for throttling
// (the shard needs time) and for transient failures.
const (
	throttleBackoffBase  = 100 * time.Millisecond
	throttleBackoffCap   = 5 * time.Second
	transientBackoffBase = 50 * time.Millisecond
	transientBackoffCap  = 2 * time.Second
)

// shardOracle is what the retrier asks of a stream's shard map when a record
// lands in a shard other than the predicted one.
type shardOracle interface {
	hashRange(shardID string) (start, end HashKey, ok bool)
	invalidate(seenAt time.Time, predicted string)
}

// The message of an IncompleteResult attempt: an answer that breaks the
// API's promise, from a proxy or an emulator; the record is sent again.
const incompleteResultMessage = "PutRecords answered this record with neither an error code nor the shard id and sequence number it was written with"

// Wrong-shard attempts: the record was written, but not where its hash
// belongs, so a de-aggregating consumer would drop it; it is sent again.
const wrongShardMessage = "record landed in a shard whose hash-key range does not hold its hash key"

// retrier decides each record's fate after a PutRecords request: finish it
// with success or failure, or send it back into the pipeline after a backoff.
// The decisions follow the table in errors.go. Safe for concurrent use; it
// runs on the sender's goroutines.
type retrier struct {
	recordExits
	failIfThrottled bool
	retryDeadline   time.Duration
	metrics         *metrics
	resend          func(r *putRequest) // straight to the sender

	strings errorStrings

	mu      sync.Mutex
	waiting map[*retryWait]struct{}
	closed  bool
}

// errorStrings keeps one copy of each error code and message the service
// repeats, entry after entry and request after request (a throttled shard's
// message names only the shard and the stream), so that the attempts of
// records retried for minutes share them instead of each holding its own.
// It holds at most errorStringsMax strings and starts over when full. Safe
// for concurrent use.
type errorStrings struct {
	mu   sync.Mutex
	seen map[string]string
}

const errorStringsMax = 4096

func (e *errorStrings) intern(s string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if kept, ok := e.seen[s]; ok {
		return kept
	}
	if e.seen == nil || len(e.seen) >= errorStringsMax {
		e.seen = make(map[string]string)
	}
	e.seen[s] = s
	return s
}

// retryWait is a group of records from one request waiting out their backoff.
type retryWait struct {
	records []*userRecord
	timer   *time.Timer
}

// recordExits are where the retrier sends the records it has decided on:
// the producer's.
type recordExits interface {
	// fail resolves one record as failed, with its history and then last.
	fail(u *userRecord, last ...Attempt)
	// finishDelivered resolves the records of one Kinesis record that the
	// service wrote, by the trip from start to end.
	finishDelivered(records []*userRecord, start, end time.Time, shardID, sequenceNumber string)
	// again sends records back into their (one) stream's pipeline.
	again(records []*userRecord)
}

func newRetrier(cfg *Config, exits recordExits) *retrier {
	return &retrier{
		recordExits:     exits,
		failIfThrottled: cfg.FailIfThrottled,
		retryDeadline:   cfg.RetryDeadline,
		waiting:         make(map[*retryWait]struct{}),
	}
}

// handle classifies a completed request, record by record.
func (rt *retrier) handle(r *putRequest) {
	if r.err != nil {
		code, message := requestErrorCode(r.err)
		rt.metrics.request(r, code)
		if refusedWhole(code) && rt.isolate(r, code, message) {
			return
		}
		if code == "ResourceNotFoundException" && r.shards != nil {
			// The stream may come back re-created with other shard ranges.
			r.shards.invalidate(r.start, "")
		}
		rt.failAll(r, code, message, classifyRequest(code))
		return
	}
	rt.metrics.request(r, "")
	results := r.output.Records
	if len(results) != len(r.records) {
		rt.failAll(r, CodeRecordCountMismatch, "PutRecords answered a different number of records than were sent", actionFail)
		return
	}
	// The metrics of the entries written where predicted, all at once, before
	// any of their records resolves.
	var delivered deliveredMetrics
	for i, k := range r.records {
		if shardID, ok := writtenTo(results[i]); ok && asPredicted(r, k, shardID) {
			delivered.add(k, shardID, r.start)
		}
	}
	delivered.record(rt.metrics, r.end, r.stream.name)
	var retry []*userRecord
	var retryAction action
	for i, k := range r.records {
		entry := results[i]
		shardID, ok := writtenTo(entry)
		switch {
		case !ok:
			code, message := rt.entryError(entry)
			rt.metrics.kinesisRecordPut(r.end, r.stream.name, k, "", code)
			a := classifyCode(code)
			retry = append(retry, rt.failKinesisRecord(r, k, code, message, a)...)
			retryAction = max(retryAction, a)
		case asPredicted(r, k, shardID):
			rt.finishDelivered(k.records, r.start, r.end, shardID, aws.ToString(entry.SequenceNumber))
		default:
			rt.metrics.kinesisRecordPut(r.end, r.stream.name, k, shardID, "")
			retry = append(retry, rt.landedElsewhere(r, k, shardID, aws.ToString(entry.SequenceNumber))...)
		}
	}
	rt.schedule(retry, retryAction)
}

// writtenTo returns the shard an entry was written to, or false if the
// service refused it or did not say where it wrote it: an entry is written
// only with a shard id and a sequence number.
func writtenTo(entry types.PutRecordsResultEntry) (shardID string, ok bool) {
	if aws.ToString(entry.ErrorCode) != "" || aws.ToString(entry.SequenceNumber) == "" || aws.ToString(entry.ShardId) == "" {
		return "", false
	}
	return *entry.ShardId, true
}

// entryError is the error code and message of an entry that was not
// written: the service's, or CodeIncompleteResult for an entry with neither
// an error code nor where it was written.
func (rt *retrier) entryError(entry types.PutRecordsResultEntry) (code, message string) {
	if code := aws.ToString(entry.ErrorCode); code != "" {
		return rt.strings.intern(code), rt.strings.intern(aws.ToString(entry.ErrorMessage))
	}
	return CodeIncompleteResult, incompleteResultMessage
}

// asPredicted reports whether k, written to shardID, landed in the shard
// predicted for it, or was sent without a prediction: all its records are
// then delivered.
func asPredicted(r *putRequest, k *kinesisRecord, shardID string) bool {
	return k.predictedShardID == "" || k.predictedShardID == shardID || r.shards == nil
}

// landedElsewhere handles an entry the service wrote in a shard other than
// the predicted one (the stream was resharded): a record succeeds if the
// actual shard's range holds its hash (the first record's hash is the
// entry's explicit hash key, so it always does); the others go back as
// Wrong Shard, and the shard map is refreshed. Returns the records to retry.
func (rt *retrier) landedElsewhere(r *putRequest, k *kinesisRecord, shardID, sequenceNumber string) []*userRecord {
	start, end, known := r.shards.hashRange(shardID)
	routed := k.records[0].hash
	var ok, wrong []*userRecord
	for _, u := range k.records {
		if u.hash == routed || (known && !u.hash.Less(start) && !end.Less(u.hash)) {
			ok = append(ok, u)
		} else {
			wrong = append(wrong, u)
		}
	}
	rt.succeed(r, ok, shardID, sequenceNumber)
	if len(wrong) > 0 || !known || shardNumber(k.predictedShardID) < shardNumber(shardID) {
		r.shards.invalidate(r.start, k.predictedShardID)
	}
	var retry []*userRecord
	now := time.Now()
	for _, u := range wrong {
		u.addAttempt(Attempt{StartedAt: r.start, EndedAt: r.end, ShardID: shardID, SequenceNumber: sequenceNumber, ErrorCode: CodeWrongShard, ErrorMessage: wrongShardMessage})
		if u.expiredAt(now) {
			rt.expire(u, now)
			continue
		}
		retry = append(retry, u)
	}
	return retry
}

// refusedWhole reports whether a request failed with an error the service
// gives a whole PutRecords for one bad entry (too large, say), which the
// other entries need not share.
func refusedWhole(code string) bool {
	return code == "ValidationException" || code == "InvalidArgumentException"
}

// isolate sends again, at once, the halves of a request the service refused
// whole, so that only the entries it refuses on their own fail; an
// aggregated entry refused alone is sent again as its user records, each
// raw. Every record gets the refusal in its attempts. It reports false for
// a request of one raw entry, whose record fails with the refusal.
func (rt *retrier) isolate(r *putRequest, code, message string) bool {
	parts := splitRefused(r.records)
	if parts == nil {
		return false
	}
	message += " (the request was split to find the entries the service refuses)"
	for _, k := range r.records {
		for _, u := range k.records {
			u.addAttempt(Attempt{StartedAt: r.start, EndedAt: r.end, ErrorCode: code, ErrorMessage: message})
		}
	}
	for _, part := range parts {
		rt.resend(&putRequest{stream: r.stream, records: part, shards: r.shards})
	}
	return true
}

// splitRefused divides the entries of a refused request in two, or an
// aggregated entry alone into raw entries of its user records; nil for one
// raw entry. Aggregated entries are encoded afresh: the data of the ones
// sent was handed back to the buffer pools once the request was written.
func splitRefused(records []*kinesisRecord) [][]*kinesisRecord {
	switch {
	case len(records) > 1:
		half := len(records) / 2
		return [][]*kinesisRecord{reencoded(records[:half]), reencoded(records[half:])}
	case len(records[0].records) > 1:
		raw := make([]*kinesisRecord, len(records[0].records))
		for i, u := range records[0].records {
			u.predicted = nil
			raw[i] = newKinesisRecord([]*userRecord{u})
		}
		return [][]*kinesisRecord{raw}
	}
	return nil
}

func reencoded(records []*kinesisRecord) []*kinesisRecord {
	out := make([]*kinesisRecord, len(records))
	for i, k := range records {
		if len(k.records) == 1 {
			out[i] = k // raw: its data is the user record's own
			continue
		}
		out[i] = k.repacked(k.records)
	}
	return out
}

func classifyRequest(code string) action {
	if code == CodeProducerClosed {
		return actionFail
	}
	return classifyCode(code)
}

func (rt *retrier) succeed(r *putRequest, records []*userRecord, shardID, sequenceNumber string) {
	// Metrics first, so that they include a record by the time its outcome
	// wakes a waiter.
	var stats recordStats
	for _, u := range records {
		stats.addDelivered(u, r.start)
	}
	rt.metrics.recordStats(r.end, r.stream.name, shardID, &stats)
	rt.finishDelivered(records, r.start, r.end, shardID, sequenceNumber)
}

func (rt *retrier) failAll(r *putRequest, code, message string, a action) {
	var retry []*userRecord
	for _, k := range r.records {
		retry = append(retry, rt.failKinesisRecord(r, k, code, message, a)...)
	}
	rt.schedule(retry, a)
}

// failKinesisRecord records the failed attempt on each user record and returns
// those that may be retried.
func (rt *retrier) failKinesisRecord(r *putRequest, k *kinesisRecord, code, message string, a action) []*userRecord {
	var retry []*userRecord
	now := time.Now()
	for _, u := range k.records {
		u.addAttempt(Attempt{StartedAt: r.start, EndedAt: r.end, ErrorCode: code, ErrorMessage: message})
		switch {
		case a == actionFail || (a == actionThrottled && rt.failIfThrottled):
			rt.fail(u)
		case u.expiredAt(now):
			rt.expire(u, now)
		default:
			retry = append(retry, u)
		}
	}
	return retry
}

// expiredInLimiter handles a Kinesis record that expired while it waited for
// tokens: each user record gets an Expired attempt, and those whose own
// expiration passed fail while the younger ones go back into the pipeline.
func (rt *retrier) expiredInLimiter(k *kinesisRecord) {
	now := time.Now()
	var retry []*userRecord
	for _, u := range k.records {
		u.addAttempt(Attempt{StartedAt: now, EndedAt: now, ErrorCode: CodeExpired, ErrorMessage: limiterExpiredMessage})
		if u.expiredAt(now) {
			rt.fail(u)
			continue
		}
		u.retryBy(now, rt.retryDeadline)
		retry = append(retry, u)
	}
	if len(retry) > 0 {
		rt.again(retry)
	}
}

// expire fails a record whose TTL passed, with a synthetic Expired attempt after
// the one that failed.
func (rt *retrier) expire(u *userRecord, now time.Time) {
	rt.fail(u, Attempt{StartedAt: now, EndedAt: now, ErrorCode: CodeExpired, ErrorMessage: "record reached its expiration (record_ttl_ms) before it was delivered"})
}

// schedule sends records back into the pipeline after a jittered backoff,
// cut short at the first of their expirations, when fire fails those past
// it: a record fails at its TTL, not a backoff later.
func (rt *retrier) schedule(records []*userRecord, a action) {
	if len(records) == 0 {
		return
	}
	delay := min(backoff(len(records[0].attempts()), a), untilFirstExpiration(records, time.Now()))
	rt.mu.Lock()
	if rt.closed {
		rt.mu.Unlock()
		rt.closeRecords(records)
		return
	}
	w := &retryWait{records: records}
	w.timer = time.AfterFunc(delay, func() { rt.fire(w) })
	rt.waiting[w] = struct{}{}
	rt.mu.Unlock()
}

func (rt *retrier) fire(w *retryWait) {
	rt.mu.Lock()
	_, ok := rt.waiting[w]
	delete(rt.waiting, w)
	rt.mu.Unlock()
	if !ok {
		return // close took them
	}
	now := time.Now()
	retry := w.records[:0]
	for _, u := range w.records {
		if u.expiredAt(now) {
			rt.expire(u, now)
			continue
		}
		u.retryBy(now, rt.retryDeadline)
		retry = append(retry, u)
	}
	if len(retry) > 0 {
		rt.again(retry)
	}
}

// untilFirstExpiration is the time from now until the earliest expiration of
// records has passed (expiredAt), 0 if it has.
func untilFirstExpiration(records []*userRecord, now time.Time) time.Duration {
	first := records[0].expiration
	for _, u := range records[1:] {
		first = min(first, u.expiration)
	}
	return max(time.Duration(first-instantOf(now))+1, 0)
}

// close resolves every record waiting for a retry as closed, and every later
// retry at once.
func (rt *retrier) close() {
	rt.mu.Lock()
	rt.closed = true
	waiting := rt.waiting
	rt.waiting = make(map[*retryWait]struct{})
	rt.mu.Unlock()
	for w := range waiting {
		w.timer.Stop()
		rt.closeRecords(w.records)
	}
}

func (rt *retrier) closeRecords(records []*userRecord) {
	now := time.Now()
	for _, u := range records {
		rt.fail(u, closedAttempt(now))
	}
}

func closedAttempt(now time.Time) Attempt {
	return Attempt{StartedAt: now, EndedAt: now, ErrorCode: CodeProducerClosed, ErrorMessage: "producer closed before the record was delivered"}
}

// backoff is the wait before attempt n+1: exponential in n, capped, with the
// upper half jittered so that many producers do not retry in step.
func backoff(failedAttempts int, a action) time.Duration {
	base, ceiling := transientBackoffBase, transientBackoffCap
	if a == actionThrottled {
		base, ceiling = throttleBackoffBase, throttleBackoffCap
	}
	d := base << min(max(failedAttempts-1, 0), 16)
	if d > ceiling || d <= 0 {
		d = ceiling
	}
	return jittered(d)
}

// jittered draws a wait at random from the upper half of d, so that many
// producers do not retry in step.
func jittered(d time.Duration) time.Duration { return d/2 + rand.N(d/2+1) }
