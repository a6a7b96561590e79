package core

import (
	"context"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
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
	stream     string
	records    []*kinesisRecord
	shards     shardOracle // the stream's shard map; nil without predictions
	start, end time.Time
	output     *kinesis.PutRecordsOutput
	err        error
}

// sender runs PutRecords requests on a fixed pool of max_connections
// goroutines, so the number of requests in flight is bounded whatever the
// load. Each result goes to done on the goroutine that sent it. send blocks
// while every worker is busy and the queue is full; that is backpressure on the
// stages before it. Safe for concurrent use.
type sender struct {
	client  Client
	timeout time.Duration
	done    func(*putRequest)
	closed  func(*putRequest) // resolves a request that will never be sent

	ctx     context.Context
	queue   chan *putRequest
	workers sync.WaitGroup
	gate    sync.RWMutex // held for reading while a request is queued
	stopped bool
}

func newSender(ctx context.Context, client Client, cfg *Config, done, closed func(*putRequest)) *sender {
	s := &sender{
		client:  client,
		timeout: cfg.RequestTimeout,
		done:    done,
		closed:  closed,
		ctx:     ctx,
		queue:   make(chan *putRequest, cfg.MaxConnections),
	}
	for range cfg.MaxConnections {
		s.workers.Add(1)
		go s.work()
	}
	return s
}

// send queues a request, or resolves it as closed once the producer shuts down.
func (s *sender) send(r *putRequest) {
	s.gate.RLock()
	defer s.gate.RUnlock()
	if s.stopped || s.ctx.Err() != nil {
		s.closed(r)
		return
	}
	select {
	case s.queue <- r:
	case <-s.ctx.Done():
		s.closed(r)
	}
}

func (s *sender) work() {
	defer s.workers.Done()
	for {
		select {
		case r := <-s.queue:
			s.do(r)
			s.done(r)
		case <-s.ctx.Done():
			return
		}
	}
}

// stop waits for the workers to return after the producer's context ended,
// then resolves requests still queued.
func (s *sender) stop() {
	s.workers.Wait()
	s.gate.Lock()
	defer s.gate.Unlock()
	s.stopped = true
	for {
		select {
		case r := <-s.queue:
			s.closed(r)
		default:
			return
		}
	}
}

func (s *sender) do(r *putRequest) {
	entries := make([]types.PutRecordsRequestEntry, len(r.records))
	for i, k := range r.records {
		entries[i] = types.PutRecordsRequestEntry{
			Data:            k.data,
			PartitionKey:    aws.String(k.partitionKey),
			ExplicitHashKey: aws.String(k.explicitHashKey),
		}
	}
	ctx, cancel := context.WithTimeout(s.ctx, s.timeout)
	defer cancel()
	r.start = time.Now()
	r.output, r.err = s.client.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String(r.stream), Records: entries})
	r.end = time.Now()
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
