package core

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kinesis"
)

// StreamDescriber is the optional part of a Client that tells a stream's
// maximum record size. *kinesis.Client implements it; a Client without it
// makes the producer assume DefaultMaxRecordSize.
type StreamDescriber interface {
	DescribeStreamSummary(ctx context.Context, in *kinesis.DescribeStreamSummaryInput, opts ...func(*kinesis.Options)) (*kinesis.DescribeStreamSummaryOutput, error)
}

// describeStreamTimeout bounds one DescribeStreamSummary call.
const describeStreamTimeout = 10 * time.Second

// recordLimit is one stream's maximum record size (data + partition key).
// Records up to DefaultMaxRecordSize are valid on every stream and never
// ask for it. The limit is learnt from DescribeStreamSummary
// (MaxRecordSizeInKiB) when the stream's first larger record arrives, not
// when the stream's pipeline starts: that call is limited to 20 per second
// per account, which a fleet of producers starting together would spend
// for nothing. Larger records wait for the answer, then go on or fail alone
// with CodeRecordTooLarge. When the call is denied, or the answer has no
// limit, the limit is DefaultMaxRecordSize, logged once; transient failures
// are retried with the shard map's backoff while the waiting records' TTL
// allows.
//
// check is lock-free; the other methods are safe for concurrent use.
type recordLimit struct {
	pl    *pipeline
	bytes atomic.Int64 // 0 until known

	mu      sync.Mutex
	asked   bool // the lookup has started
	closed  bool
	waiting []*userRecord
}

// check refuses, at Put, a record of size bytes over the stream's limit
// once the limit is known.
func (l *recordLimit) check(size int) error {
	if limit := int(l.bytes.Load()); limit != 0 && size > limit {
		return tooLarge(size, limit, fmt.Sprintf("on stream %s (its maximum record size)", l.pl.id.name))
	}
	return nil
}

// admit reports whether u, larger than DefaultMaxRecordSize, may go on now.
// If not, u is kept until the limit is known, or failed, or closed.
func (l *recordLimit) admit(u *userRecord) bool {
	if limit := int(l.bytes.Load()); limit != 0 {
		if u.size() <= limit {
			return true
		}
		l.reject(u, limit)
		return false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		l.pl.p.closeRecord(u)
		return false
	}
	l.waiting = append(l.waiting, u)
	if !l.asked {
		l.asked = true
		l.pl.p.background.Add(1) // under mu: close, which precedes the producer's wait, cannot pass first
		go l.learn(l.pl.p.ctx)
	}
	return false
}

// close resolves the records still waiting as closed.
func (l *recordLimit) close() {
	waiting := l.take(func() { l.closed = true })
	for _, u := range waiting {
		l.pl.p.closeRecord(u)
	}
}

// learn asks the service for the limit until it answers, a failure shows
// that asking again will not help, or ctx ends.
func (l *recordLimit) learn(ctx context.Context) {
	defer l.pl.p.background.Done()
	describer, ok := l.pl.p.client.(StreamDescriber)
	if !ok {
		l.assume("the Kinesis client given to the producer cannot call DescribeStreamSummary")
		return
	}
	var backoff lookupBackoff
	for {
		limit, err := l.describe(ctx, describer)
		switch {
		case err == nil && limit > 0:
			l.set(limit)
			return
		case err == nil:
			l.assume("DescribeStreamSummary did not give the stream's MaxRecordSizeInKiB")
			return
		case ctx.Err() != nil:
			return // close resolves the waiting records
		case isSetupProblem(err):
			l.failWaiting(err) // and the next large record asks again
			return
		case !transientLookupError(err):
			l.assume("DescribeStreamSummary failed: " + err.Error())
			return
		}
		l.pl.p.log.Debug("gokpl: maximum record size lookup failed; retrying", "stream", l.pl.id.name, "error", err)
		l.expireWaiting(time.Now())
		if !sleepContext(ctx, backoff.wait()) {
			return
		}
	}
}

func (l *recordLimit) describe(ctx context.Context, describer StreamDescriber) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, describeStreamTimeout)
	defer cancel()
	in := &kinesis.DescribeStreamSummaryInput{}
	l.pl.id.address(&in.StreamName, &in.StreamARN)
	out, err := describer.DescribeStreamSummary(ctx, in)
	if err != nil {
		return 0, err
	}
	if out.StreamDescriptionSummary == nil || out.StreamDescriptionSummary.MaxRecordSizeInKiB == nil {
		return 0, nil
	}
	return int(*out.StreamDescriptionSummary.MaxRecordSizeInKiB) << 10, nil
}

// assume settles on DefaultMaxRecordSize, saying why once.
func (l *recordLimit) assume(why string) {
	l.pl.p.log.Warn("gokpl: maximum record size of the stream unknown; records larger than 1 MiB (data and partition key) fail with "+CodeRecordTooLarge,
		"stream", l.pl.id.name, "reason", why)
	l.set(DefaultMaxRecordSize)
}

// take takes the waiting records, changing the state with change under
// the same lock.
func (l *recordLimit) take(change func()) []*userRecord {
	l.mu.Lock()
	defer l.mu.Unlock()
	change()
	waiting := l.waiting
	l.waiting = nil
	return waiting
}

// set publishes the limit and lets the waiting records go on or fail.
func (l *recordLimit) set(limit int) {
	waiting := l.take(func() { l.bytes.Store(int64(limit)) })
	var pass []*userRecord
	for _, u := range waiting {
		if u.size() > limit {
			l.reject(u, limit)
			continue
		}
		pass = append(pass, u)
	}
	if len(pass) > 0 {
		l.pl.retry(pass)
	}
}

// reject fails u, put before its stream's limit was known and over it.
func (l *recordLimit) reject(u *userRecord, limit int) {
	now := time.Now()
	l.pl.p.fail(u, Attempt{StartedAt: now, EndedAt: now, ErrorCode: CodeRecordTooLarge, ErrorMessage: fmt.Sprintf(
		"data and partition key together are %d bytes; stream %s takes records of at most %d bytes (its maximum record size)", u.size(), l.pl.id.name, limit)})
}

// failWaiting fails the waiting records with err, a setup problem that no
// request can get past, and leaves the limit to be asked again.
func (l *recordLimit) failWaiting(err error) {
	code, message := requestErrorCode(err)
	waiting := l.take(func() { l.asked = false })
	now := time.Now()
	for _, u := range waiting {
		l.pl.p.fail(u, Attempt{StartedAt: now, EndedAt: now, ErrorCode: code, ErrorMessage: message})
	}
}

// expireWaiting fails the waiting records whose TTL passed.
func (l *recordLimit) expireWaiting(now time.Time) {
	l.mu.Lock()
	var expired []*userRecord
	keep := l.waiting[:0]
	for _, u := range l.waiting {
		if u.expiredAt(now) {
			expired = append(expired, u)
		} else {
			keep = append(keep, u)
		}
	}
	clear(l.waiting[len(keep):])
	l.waiting = keep
	l.mu.Unlock()
	for _, u := range expired {
		l.pl.p.retrier.expire(u, now)
	}
}
