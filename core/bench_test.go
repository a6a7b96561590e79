package core_test

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/gokpl/gokpl/core"
	"github.com/gokpl/gokpl/core/kinesistest"
)

// discardClient is a Client that accepts every PutRecords entry without a
// network, routing each by its explicit hash key over evenly split shards,
// so the benchmark measures the producer and nothing else.
type discardClient struct {
	shards   []types.Shard
	ids      []string
	sequence atomic.Int64
}

func newDiscardClient(n int) *discardClient {
	c := &discardClient{}
	step := new(bigStep).init(n)
	for i := range n {
		id := fmt.Sprintf("shardId-%012d", i)
		c.ids = append(c.ids, id)
		c.shards = append(c.shards, types.Shard{
			ShardId:             aws.String(id),
			HashKeyRange:        &types.HashKeyRange{StartingHashKey: aws.String(step.start(i)), EndingHashKey: aws.String(step.end(i))},
			SequenceNumberRange: &types.SequenceNumberRange{StartingSequenceNumber: aws.String("0")},
		})
	}
	return c
}

func (c *discardClient) ListShards(context.Context, *kinesis.ListShardsInput, ...func(*kinesis.Options)) (*kinesis.ListShardsOutput, error) {
	return &kinesis.ListShardsOutput{Shards: c.shards}, nil
}

func (c *discardClient) PutRecords(_ context.Context, in *kinesis.PutRecordsInput, _ ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error) {
	out := make([]types.PutRecordsResultEntry, len(in.Records))
	seq := aws.String(strconv.FormatInt(c.sequence.Add(1), 10))
	for i, e := range in.Records {
		h, _ := core.ParseHashKey(aws.ToString(e.ExplicitHashKey))
		shard := int(h.Hi / (math.MaxUint64/uint64(len(c.ids)) + 1))
		out[i] = types.PutRecordsResultEntry{ShardId: &c.ids[shard], SequenceNumber: seq}
	}
	return &kinesis.PutRecordsOutput{Records: out}, nil
}

// bigStep renders even shard boundaries over the 128-bit hash space.
type bigStep struct{ n int }

func (s *bigStep) init(n int) *bigStep { s.n = n; return s }
func (s *bigStep) start(i int) string {
	return core.HashKey{Hi: uint64(i) * (math.MaxUint64/uint64(s.n) + 1)}.String()
}
func (s *bigStep) end(i int) string {
	if i == s.n-1 {
		return core.HashKey{Hi: math.MaxUint64, Lo: math.MaxUint64}.String()
	}
	return core.HashKey{Hi: uint64(i+1)*(math.MaxUint64/uint64(s.n)+1) - 1, Lo: math.MaxUint64}.String()
}

func benchConfig() core.Config {
	cfg := core.DefaultConfig()
	cfg.Region = "us-east-1"
	cfg.RecordMaxBufferedTime = 50 * time.Millisecond
	cfg.RateLimitRecordsPerSecPerShard = 1e9
	cfg.RateLimitBytesPerSecPerShard = 1e12
	cfg.MaxOutstandingRecords = 1 << 20
	cfg.MaxOutstandingBytes = 1 << 32
	return cfg
}

// runPuts puts b.N 200-byte records with 1000 partition keys, then flushes,
// and reports records/s.
func runPuts(b *testing.B, p *core.Producer) {
	data := make([]byte, 200)
	keys := make([]string, 1000)
	for i := range keys {
		keys[i] = fmt.Sprintf("partition-key-%d", i)
	}
	// Warm up: the first put loads the shard map.
	o, err := p.Put(context.Background(), core.Record{Stream: "s", PartitionKey: "warm-up", Data: data})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := o.Wait(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		if _, err := p.Put(context.Background(), core.Record{Stream: "s", PartitionKey: keys[i%len(keys)], Data: data}); err != nil {
			b.Fatal(err)
		}
	}
	if err := p.Flush(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "records/s")
	if s := p.Stats(); s.RecordsSucceeded != int64(b.N)+1 {
		b.Fatalf("%d of %d records succeeded: %+v", s.RecordsSucceeded, b.N+1, s)
	}
}

// BenchmarkPipeline measures the engine alone: 200-byte records, aggregation
// on, 4 shards, into a client that discards. Run with -cpu 1 for one core.
func BenchmarkPipeline(b *testing.B) {
	p, err := core.New(context.Background(), benchConfig(), core.WithClient(newDiscardClient(4)))
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close(context.Background())
	runPuts(b, p)
}

// BenchmarkPipelineWithoutMetrics is BenchmarkPipeline with metrics off,
// to show what computing them costs.
func BenchmarkPipelineWithoutMetrics(b *testing.B) {
	p, err := core.New(context.Background(), benchConfig(), core.WithClient(newDiscardClient(4)), core.WithoutMetrics())
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close(context.Background())
	runPuts(b, p)
}

// BenchmarkEndToEndFake measures the producer against the fake endpoint
// over loopback HTTP, with the real SDK client (the endpoint discards data).
func BenchmarkEndToEndFake(b *testing.B) {
	srv := kinesistest.NewServer(kinesistest.Options{Streams: map[string]int{"s": 4}, Discard: true})
	defer srv.Close()
	cfg := benchConfig()
	cfg.EndpointURL = srv.URL
	p, err := core.New(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close(context.Background())
	runPuts(b, p)
}

// BenchmarkRateLimitedShard runs the producer flat out for a few seconds
// against a fake endpoint that enforces the service's per-shard limits
// (1 MiB/s, 1000 records/s), with the producer's limiter at the same rates,
// and reports the share of the byte limit sustained and of requests that
// met throttling.
func BenchmarkRateLimitedShard(b *testing.B) {
	const shards = 2
	const run = 6 * time.Second
	srv := kinesistest.NewServer(kinesistest.Options{Streams: map[string]int{"s": shards}, Discard: true, ShardRateLimit: kinesistest.DefaultShardRateLimit})
	defer srv.Close()
	cfg := core.DefaultConfig()
	cfg.Region, cfg.EndpointURL = "us-east-1", srv.URL
	cfg.MaxOutstandingRecords = 3000
	p, err := core.New(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close(context.Background())
	data := make([]byte, 1000)
	wait := func(o *core.Outcome) {
		if _, err := o.Wait(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	wait(must(p.Put(context.Background(), core.Record{Stream: "s", PartitionKey: "warm-up", Data: data})))
	b.ResetTimer()
	for range b.N {
		throttledBefore := p.Stats().RequestsThrottled
		requestsBefore := p.Stats().Requests
		start := time.Now()
		var steadyFrom time.Time
		var steadyBytes int64
		for i := 0; time.Since(start) < run; i++ {
			if steadyFrom.IsZero() && time.Since(start) >= time.Second {
				// The first second includes the buckets' burst; measure after it.
				steadyFrom, steadyBytes = time.Now(), srv.Stats("s").Bytes
			}
			if _, err := p.Put(context.Background(), core.Record{Stream: "s", PartitionKey: strconv.Itoa(i), Data: data}); err != nil {
				b.Fatal(err)
			}
		}
		elapsed := time.Since(steadyFrom)
		rate := float64(srv.Stats("s").Bytes-steadyBytes) / elapsed.Seconds()
		stats := p.Stats()
		b.ReportMetric(100*rate/float64(shards*(1<<20)), "%-of-limit")
		b.ReportMetric(100*float64(stats.RequestsThrottled-throttledBefore)/float64(max(stats.Requests-requestsBefore, 1)), "%-requests-throttled")
		b.ReportMetric(rate/(1<<20), "MiB/s")
	}
}

func must(o *core.Outcome, err error) *core.Outcome {
	if err != nil {
		panic(err)
	}
	return o
}
