package core

import (
	"context"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// Client is the part of the Kinesis API the producer uses. *kinesis.Client
// implements it; tests substitute fakes.
type Client interface {
	PutRecords(ctx context.Context, in *kinesis.PutRecordsInput, opts ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error)
	ListShards(ctx context.Context, in *kinesis.ListShardsInput, opts ...func(*kinesis.Options)) (*kinesis.ListShardsOutput, error)
}

// putRequest is one PutRecords call and what came of it.
type putRequest struct {
	stream     streamID
	records    []*kinesisRecord
	shards     shardOracle // the stream's shard map; nil without predictions
	start, end time.Time
	output     *kinesis.PutRecordsOutput
	err        error
}

// sender runs PutRecords requests on a fixed pool of max_connections
// goroutines, so the number of requests in flight is bounded whatever the
// load. Requests wait their turn in a FIFO; send never blocks, so a put that
// fills a batch is not held up by a slow endpoint (memory stays bounded by
// the producer's budget of outstanding records and bytes). Each result goes
// to done on the goroutine that sent it. Safe for concurrent use.
type sender struct {
	client  Client
	recycle bool // hand aggregated data buffers back once a request is serialized
	timeout time.Duration
	done    func(*putRequest)
	closed  func(*putRequest) // resolves a request that will never be sent
	budget  *budget           // counts the bodies of requests in flight

	ctx     context.Context
	wake    chan struct{} // one token per request a sleeping worker may take
	workers sync.WaitGroup

	mu      sync.Mutex
	pending []*putRequest
	stopped bool
}

func newSender(ctx context.Context, client Client, recycle bool, cfg *Config, done, closed func(*putRequest)) *sender {
	s := &sender{
		client:  client,
		recycle: recycle,
		timeout: cfg.RequestTimeout,
		done:    done,
		closed:  closed,
		ctx:     ctx,
		wake:    make(chan struct{}, cfg.MaxConnections),
	}
	for range cfg.MaxConnections {
		s.workers.Add(1)
		go s.work()
	}
	return s
}

// send queues a request, or resolves it as closed once the producer shuts down.
func (s *sender) send(r *putRequest) {
	s.mu.Lock()
	if s.stopped || s.ctx.Err() != nil {
		s.mu.Unlock()
		s.closed(r)
		return
	}
	s.pending = append(s.pending, r)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default: // every worker already has a token to wake up with
	}
}

// next takes the oldest pending request, or nil.
func (s *sender) next() *putRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.pending) == 0 {
		return nil
	}
	r := s.pending[0]
	s.pending[0] = nil
	s.pending = s.pending[1:]
	return r
}

func (s *sender) work() {
	defer s.workers.Done()
	for {
		if r := s.next(); r != nil {
			s.run(r)
			continue
		}
		select {
		case <-s.wake:
		case <-s.ctx.Done():
			return
		}
	}
}

// run sends one request and hands on its result, unless the producer is
// shutting down.
func (s *sender) run(r *putRequest) {
	if s.ctx.Err() != nil {
		s.closed(r)
		return
	}
	s.do(r)
	s.done(r)
}

// stop waits for the workers to return after the producer's context ended,
// then resolves requests still pending.
func (s *sender) stop() {
	s.workers.Wait()
	s.mu.Lock()
	s.stopped = true
	pending := s.pending
	s.pending = nil
	s.mu.Unlock()
	for _, r := range pending {
		s.closed(r)
	}
}

func (s *sender) do(r *putRequest) {
	entries := make([]types.PutRecordsRequestEntry, len(r.records))
	keys := make([]string, 2*len(r.records)) // what the entries' key pointers point at, in one allocation
	for i, k := range r.records {
		k.encode()
		partitionKey, explicitHashKey := &keys[2*i], &keys[2*i+1]
		*partitionKey, *explicitHashKey = k.partitionKey, k.explicitHashKey
		entries[i] = types.PutRecordsRequestEntry{
			Data:            k.data,
			PartitionKey:    partitionKey,
			ExplicitHashKey: explicitHashKey,
		}
	}
	body := requestBodyEstimate(r.records)
	s.budget.hold(body)
	defer s.budget.unhold(body)
	ctx, cancel := context.WithTimeout(s.ctx, s.timeout)
	defer cancel()
	r.start = time.Now()
	in := &kinesis.PutRecordsInput{Records: entries}
	r.stream.address(&in.StreamName, &in.StreamARN)
	r.output, r.err = s.client.PutRecords(ctx, in)
	r.end = time.Now()
	if s.recycle {
		for _, k := range r.records {
			k.releaseData()
		}
	}
}

// requestBodyEstimate is about the size of a request's body: its data in
// base64 and its keys, with room for the JSON around each entry. It is not
// putRecordsBodySize, which is exact but reads every string (the protocol
// reads them again to write the body) and gives nothing for a body with a
// string to escape, such as a non-ASCII partition key.
func requestBodyEstimate(records []*kinesisRecord) int64 {
	const perEntry = 64
	n := int64(0)
	for _, k := range records {
		n += int64((k.dataLen()+2)/3*4+len(k.partitionKey)+len(k.explicitHashKey)) + perEntry
	}
	return n
}

// throttled reports whether the service throttled the request as a whole or
// any of its entries.
func (r *putRequest) throttled() bool {
	if r.err != nil {
		code, _ := requestErrorCode(r.err)
		return classifyCode(code) == actionThrottled
	}
	for _, e := range r.output.Records {
		if e.ErrorCode != nil && classifyCode(*e.ErrorCode) == actionThrottled {
			return true
		}
	}
	return false
}
