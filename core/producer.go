package core

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Producer publishes records to Kinesis streams.
type Producer struct {
	cfg      Config
	client   Client
	log      *slog.Logger
	budget   *budget
	epochs   *epochs
	sender   *sender
	retrier  *retrier
	counters counters
	metrics  metrics

	metricsOff       bool
	metricsClient    MetricsClient
	metricsTransport interface{ CloseIdleConnections() }

	ctx        context.Context // ends when Close gives up on the records still open
	cancel     context.CancelFunc
	background sync.WaitGroup // the pipelines' goroutines, which end with ctx

	lifecycle sync.RWMutex // held for reading while a put enters a pipeline
	closed    atomic.Bool  // set under lifecycle's write lock; a put checks it first without the lock
	closeOnce sync.Once
	pipelines sync.Map // stream name → *pipeline
	newPipe   sync.Mutex

	lastPipeline atomic.Pointer[pipeline] // the one the latest put found, checked before pipelines
}

// Option adjusts how a Producer is built.
type Option func(*Producer)

// WithClient makes the producer use client instead of an SDK client built
// from the Config.
func WithClient(client Client) Option { return func(p *Producer) { p.client = client } }

// WithMetricsClient makes the producer upload metrics through client
// instead of a CloudWatch client built from the Config (when metrics_level
// is not none).
func WithMetricsClient(client MetricsClient) Option {
	return func(p *Producer) { p.metricsClient = client }
}

// WithoutMetrics turns the metrics off: nothing is computed, Metrics
// returns nothing and nothing is uploaded. Metrics cost a few percent of
// the engine's throughput (see BenchmarkPipeline and
// BenchmarkPipelineWithoutMetrics).
func WithoutMetrics() Option { return func(p *Producer) { p.metricsOff = true } }

// WithLogger sets the logger; the default is slog.Default().
func WithLogger(log *slog.Logger) Option { return func(p *Producer) { p.log = log } }

// New validates cfg and starts a producer. Without WithClient it builds an
// aws-sdk-go-v2 Kinesis client from cfg (endpoint, TLS, timeouts, credentials).
//
// ctx bounds only what New itself does: loading the AWS configuration
// (shared config files, and the credential chain's setup) for the Kinesis
// and, when metrics are uploaded, the CloudWatch client. It is not kept:
// ending it later stops nothing, and credentials are fetched when the first
// request needs them, not here. The producer runs until Close. Invalid
// fields fail with a *ConfigError.
func New(ctx context.Context, cfg Config, opts ...Option) (*Producer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	p := &Producer{cfg: cfg, log: slog.Default(), epochs: newEpochs()}
	for _, opt := range opts {
		opt(p)
	}
	sdkClient := p.client == nil
	if sdkClient {
		client, err := NewKinesisClient(ctx, &cfg, p.log)
		if err != nil {
			return nil, err
		}
		p.client = client
	}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	p.budget = newBudget(cfg.MaxOutstandingRecords, cfg.MaxOutstandingBytes)
	p.retrier = newRetrier(&p.cfg, p)
	if !p.metricsOff {
		p.retrier.metrics = &p.metrics
	}
	p.sender = newSender(p.ctx, p.client, sdkClient, &p.cfg, p.completed, p.closeRequest)
	p.sender.budget = p.budget
	p.retrier.resend = p.sender.send
	p.background.Add(2)
	go p.sampleMetrics()
	go p.logProcessingStatistics()
	if err := p.startUploader(ctx); err != nil {
		p.cancel()
		p.sender.stop()
		p.background.Wait()
		return nil, err
	}
	return p, nil
}

// startUploader starts uploading metrics to CloudWatch unless metrics_level
// is none.
func (p *Producer) startUploader(ctx context.Context) error {
	if p.cfg.MetricsLevel == "none" || p.metricsOff {
		return nil
	}
	if p.metricsClient == nil {
		client, transport, err := newCloudWatchClient(ctx, &p.cfg, p.log)
		if err != nil {
			return err
		}
		p.metricsClient = client
		if transport != nil {
			p.metricsTransport = transport
		}
	}
	u := newUploader(&p.cfg, p.metricsClient, &p.metrics, p.log)
	p.background.Add(1)
	go func() {
		defer p.background.Done()
		u.run(p.ctx)
	}()
	return nil
}

// Put validates r and hands it to its stream's pipeline, returning the Outcome
// that resolves with its RecordResult. While the producer holds
// max_outstanding_records or max_outstanding_bytes, Put blocks until room frees
// or ctx ends (then the error wraps ErrBackpressure). Invalid records fail
// with *InvalidRecordError; the caller must not modify r.Data afterwards.
func (p *Producer) Put(ctx context.Context, r Record) (*Outcome, error) {
	hash, err := r.validate()
	if err != nil {
		return nil, err
	}
	var tagsSize int
	if len(r.Tags) > 0 {
		if tagsSize, err = validateTags(r.Tags); err != nil {
			return nil, err
		}
	}
	pl, err := p.validateForStream(&r)
	if err != nil {
		return nil, err
	}
	if p.isClosed() {
		return nil, ErrClosed
	}
	size := budgetBytes(r.PartitionKey, r.Data, r.Tags)
	if err := p.budget.acquire(ctx, size); err != nil {
		return nil, err
	}
	now := instantOf(time.Now())
	o := &Outcome{}
	u := newUserRecord(&r)
	u.outcome, u.hash = o, hash
	u.setTags(r.Tags, tagsSize)
	u.arrival, u.expiration = now, now.add(p.cfg.RecordTTL)
	u.deadline = min(now.add(p.cfg.RecordMaxBufferedTime), u.expiration)
	p.lifecycle.RLock()
	defer p.lifecycle.RUnlock()
	if p.closed.Load() {
		p.budget.release(1, size)
		return nil, ErrClosed
	}
	u.epoch = p.epochs.enter()
	p.counters.recordsPut.Add(1)
	if pl == nil {
		pl = p.pipeline(r.Stream) // the stream's first put
	}
	u.pipeline = pl
	u.pipeline.received.Add(1)
	u.pipeline.pending.Add(1)
	u.pipeline.add(u)
	return o, nil
}

// Flush sends everything buffered now and waits until every record put before
// the call is resolved, or until ctx ends (returning ctx.Err()). Safe to call
// concurrently with Put and with other Flushes.
func (p *Producer) Flush(ctx context.Context) error {
	return p.BeginFlush().Wait(ctx)
}

// FlushTicket is a flush in progress: it covers the records put before
// BeginFlush, whatever is put afterwards, so that waiting for it in several
// calls (a caller that waits in slices) does not chase new records. Safe for
// concurrent use.
type FlushTicket struct {
	p      *Producer
	sealed *epoch
}

// BeginFlush sends everything buffered now and returns the ticket of the
// records put so far. It does not block.
func (p *Producer) BeginFlush() *FlushTicket {
	t := &FlushTicket{p: p, sealed: p.epochs.seal()}
	t.push()
	return t
}

// Done reports whether every record the ticket covers is resolved.
func (t *FlushTicket) Done() bool { return t.sealed.isDone() }

// Wait waits until the ticket's records are resolved or ctx ends.
func (t *FlushTicket) Wait(ctx context.Context) error {
	// Records can be between stages when a push passes (a put that took
	// its place in the epoch just before the seal, records leaving the
	// waiting room), so push again until the epoch is done, more and more
	// rarely.
	again := time.NewTimer(flushRepushFirst)
	defer again.Stop()
	for wait := flushRepushFirst; ; {
		if t.Done() {
			return nil
		}
		select {
		case <-t.sealed.done:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		case <-again.C:
			// Not a push more, for records put since, once only room is
			// left to return.
			if !t.sealed.finished() {
				t.push()
			}
			wait = min(2*wait, flushRepushMax)
			again.Reset(wait)
		}
	}
}

func (t *FlushTicket) push() {
	t.p.eachPipeline(func(pl *pipeline) { pl.flush(t.sealed) })
}

// How soon a flush pushes the stages again while its records are not all
// resolved, and at most how long it waits between pushes.
const (
	flushRepushFirst = 5 * time.Millisecond
	flushRepushMax   = 100 * time.Millisecond
)

// Outstanding is the number of records put and not yet resolved.
func (p *Producer) Outstanding() int64 { return p.budget.outstanding() }

// Close stops taking records, flushes until ctx ends, then resolves every
// record still open as a failure with error code ProducerClosed and stops all
// goroutines. It returns once every outcome is resolved; later calls return
// at once (with nil). When the flush did not finish in time, the error wraps
// ctx's error.
//
// Past ctx, Close cancels the requests in flight and waits for the
// goroutines it stops (with metrics uploaded, the last upload takes at most
// finalUploadTimeout, 2 s), then for the outcomes they resolve, for at most
// closeSafetyNet (10 s): every outcome is resolved at once unless gokpl has
// a bug, and Close reports such records in its error rather than hang.
func (p *Producer) Close(ctx context.Context) error {
	var err error
	p.closeOnce.Do(func() { err = p.shutdown(ctx) })
	return err
}

func (p *Producer) shutdown(ctx context.Context) error {
	p.lifecycle.Lock()
	p.closed.Store(true)
	p.lifecycle.Unlock()
	flushErr := p.Flush(ctx)
	p.cancel()
	p.retrier.close()
	p.eachPipeline((*pipeline).close)
	p.sender.stop()
	p.background.Wait()
	p.eachPipeline(func(pl *pipeline) {
		if pl.shards != nil {
			<-pl.shards.stopped()
		}
	})
	if idle, ok := p.client.(interface{ CloseIdleConnections() }); ok {
		idle.CloseIdleConnections()
	}
	if p.metricsTransport != nil {
		p.metricsTransport.CloseIdleConnections()
	}
	all := p.epochs.seal()
	select {
	case <-all.done:
	case <-time.After(closeSafetyNet):
		return fmt.Errorf("gokpl: close: %d records still unresolved after shutdown", p.Outstanding())
	}
	if flushErr != nil {
		return fmt.Errorf("gokpl: close: records left when the flush timed out were failed with %s: %w", CodeProducerClosed, flushErr)
	}
	return nil
}

// closeSafetyNet is how long Close waits, after shutting every stage down,
// for the last outcomes to resolve; they all are at once unless something
// is wrong, and then Close returns an error instead of hanging.
const closeSafetyNet = 10 * time.Second

func (p *Producer) isClosed() bool { return p.closed.Load() }

// validateForStream checks what depends on the record's stream: the stream
// name or ARN itself, the first time the stream is seen (a stream with a
// pipeline was checked), and a record larger than every stream takes
// against the stream's own limit, once that is known. It returns the
// stream's pipeline, nil before its first put.
func (p *Producer) validateForStream(r *Record) (*pipeline, error) {
	pl := p.existingPipeline(r.Stream)
	if pl == nil {
		_, err := parseStream(r.Stream)
		return nil, err
	}
	if size := recordSize(r.PartitionKey, r.Data); size > DefaultMaxRecordSize {
		return nil, pl.maxSize.check(size)
	}
	return pl, nil
}

// existingPipeline returns the stream's pipeline, or nil before its first put.
func (p *Producer) existingPipeline(stream string) *pipeline {
	if pl := p.lastPipeline.Load(); pl != nil && pl.stream == stream {
		return pl // most puts go to the stream of the put before
	}
	if pl, ok := p.pipelines.Load(stream); ok {
		p.lastPipeline.Store(pl.(*pipeline))
		return pl.(*pipeline)
	}
	return nil
}

// pipeline returns the stream's pipeline, making it on the stream's first
// put (the stream was validated by then).
func (p *Producer) pipeline(stream string) *pipeline {
	if pl := p.existingPipeline(stream); pl != nil {
		return pl
	}
	p.newPipe.Lock()
	defer p.newPipe.Unlock()
	if pl, ok := p.pipelines.Load(stream); ok {
		return pl.(*pipeline)
	}
	id, err := parseStream(stream)
	if err != nil {
		panic("gokpl: pipeline for an unvalidated stream: " + err.Error())
	}
	pl := newPipeline(p, id)
	p.pipelines.Store(stream, pl)
	return pl
}

func (p *Producer) eachPipeline(f func(*pipeline)) {
	p.pipelines.Range(func(_, pl any) bool {
		f(pl.(*pipeline))
		return true
	})
}

// again sends records of one stream back into its pipeline for another attempt.
func (p *Producer) again(records []*userRecord) {
	p.counters.recordsRetried.Add(int64(len(records)))
	// A record retried for minutes gathers attempts: the budget counts them,
	// so that a long outage makes puts wait rather than memory grow.
	history := int64(0)
	for _, u := range records {
		history += u.chargeHistory()
	}
	p.budget.hold(history)
	if p.ctx.Err() != nil {
		for _, u := range records {
			p.closeRecord(u)
		}
		return
	}
	records[0].pipeline.retry(records)
}

// finish is the one exit of every record: it resolves the outcome (unless it
// was cancelled) and returns the record's room to the budget and its epoch.
// (finishDelivered does the same for many records at once.) The order is the
// budget's and the epoch's contract: the record stops counting as
// outstanding before whoever its outcome wakes can look; its epoch learns it
// is resolved before its room lets a waiting put in, so that a Flush that
// covered it does not push that put's record out; and the epoch lets go of
// it only after its room is back, so that a put after the Flush finds room.
func (p *Producer) finish(u *userRecord, r RecordResult) {
	if !r.Success && !p.metricsOff && !u.outcome.cancelled() {
		// Before resolving, so that the metrics include the record by the
		// time its outcome wakes a waiter. (Successes are counted per
		// Kinesis record by the retrier.)
		var stats recordStats
		stats.addFailed(u)
		shardID, _ := u.prediction()
		p.metrics.recordStats(time.Now(), u.pipeline.id.name, shardID, &stats)
	}
	// Count before resolving, so that Stats and Outstanding show the record
	// finished by the time its outcome wakes a waiter; a Cancel winning in
	// between moves it.
	outcomeCounter := &p.counters.recordsFailed
	if r.Success {
		outcomeCounter = &p.counters.recordsSucceeded
	}
	outcomeCounter.Add(1)
	p.budget.settle(1)
	size := p.resolve(u, &r, outcomeCounter)
	u.pipeline.pending.Add(-1)
	u.epoch.resolved(1)
	p.budget.returnSettled(1, size)
	u.epoch.releaseResolved(1)
}

// finishDelivered is finish for the records of one Kinesis record that the
// service wrote at shardID with sequenceNumber, by the trip from start to
// end. The counters that puts update too (the producer's, the stream's
// pending count, the budget, the flush epochs) change once for the lot, not
// once per record: hundreds of records share a Kinesis record, and each
// change of a counter the putting thread also writes costs a cache-line
// transfer between cores.
func (p *Producer) finishDelivered(records []*userRecord, start, end time.Time, shardID, sequenceNumber string) {
	n := int64(len(records))
	p.counters.recordsSucceeded.Add(n) // before resolving, as in finish
	p.budget.settle(n)
	// One result for every record delivered at its first attempt, the rule;
	// a record with failed attempts before has its own.
	first := deliveredResult(nil, start, end, shardID, sequenceNumber)
	var size int64
	for _, u := range records {
		r := &first
		if failed := u.attempts(); len(failed) > 0 {
			own := deliveredResult(failed, start, end, shardID, sequenceNumber)
			r = &own
		}
		size += p.resolve(u, r, &p.counters.recordsSucceeded)
	}
	forRuns(records, func(u *userRecord) *pipeline { return u.pipeline }, func(pl *pipeline, n int64) { pl.pending.Add(-n) })
	epochOf := func(u *userRecord) *epoch { return u.epoch }
	forRuns(records, epochOf, (*epoch).resolved)
	p.budget.returnSettled(n, size)
	forRuns(records, epochOf, (*epoch).releaseResolved)
}

// resolve resolves u's outcome with r, moving the record from counter to the
// cancelled count if a Cancel won, drops the record's data, and returns the
// room it held in the budget.
func (p *Producer) resolve(u *userRecord, r *RecordResult, counter *atomic.Int64) int64 {
	size := u.budgetBytes() + int64(u.historyBytes)
	if !u.outcome.resolve(r) {
		counter.Add(-1)
		p.counters.recordsCancelled.Add(1)
	}
	u.dropData()
	return size
}

// forRuns calls f once for each run of consecutive records that share
// key(record), with the run's length.
func forRuns[K comparable](records []*userRecord, key func(*userRecord) K, f func(K, int64)) {
	for i := 0; i < len(records); {
		k, j := key(records[i]), i+1
		for j < len(records) && key(records[j]) == k {
			j++
		}
		f(k, int64(j-i))
		i = j
	}
}

// fail is finish for a record that failed: its last attempts (none when the
// caller added them already) join its history, which is its result.
func (p *Producer) fail(u *userRecord, last ...Attempt) {
	for _, a := range last {
		u.addAttempt(a)
	}
	p.finish(u, historyResult(u.attempts()))
}

func (p *Producer) closeRecord(u *userRecord) { p.fail(u, closedAttempt(time.Now())) }

// completed counts a finished request and hands it to the retrier.
func (p *Producer) completed(r *putRequest) {
	p.counters.requests.Add(1)
	p.counters.kinesisRecordsSent.Add(int64(len(r.records)))
	if r.err != nil {
		p.counters.requestErrors.Add(1)
	}
	if r.throttled() {
		p.counters.requestsThrottled.Add(1)
	}
	p.retrier.handle(r)
}

// closeRequest resolves the records of a request that will never be sent.
func (p *Producer) closeRequest(r *putRequest) {
	for _, k := range r.records {
		for _, u := range k.records {
			p.closeRecord(u)
		}
	}
}
