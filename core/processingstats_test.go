package core

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// acceptAll is a Client that lists one shard and accepts every entry.
type acceptAll struct{}

func (acceptAll) ListShards(context.Context, *kinesis.ListShardsInput, ...func(*kinesis.Options)) (*kinesis.ListShardsOutput, error) {
	return &kinesis.ListShardsOutput{Shards: []types.Shard{{
		ShardId:      aws.String("shardId-000000000000"),
		HashKeyRange: &types.HashKeyRange{StartingHashKey: aws.String("0"), EndingHashKey: aws.String(maxHashKey.String())},
	}}}, nil
}

func (acceptAll) PutRecords(_ context.Context, in *kinesis.PutRecordsInput, _ ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error) {
	out := make([]types.PutRecordsResultEntry, len(in.Records))
	for i := range out {
		out[i] = types.PutRecordsResultEntry{ShardId: aws.String("shardId-000000000000"), SequenceNumber: aws.String("1")}
	}
	return &kinesis.PutRecordsOutput{Records: out}, nil
}

func TestProcessingStatisticsAreLoggedPerStream(t *testing.T) {
	var logs bytes.Buffer
	cfg := DefaultConfig()
	cfg.Region, cfg.RecordMaxBufferedTime = "us-east-1", 10*time.Millisecond
	p, err := New(context.Background(), cfg, WithClient(acceptAll{}), WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())
	start := time.Now().Unix() - 1
	for i := range 100 {
		if _, err := p.Put(context.Background(), Record{Stream: "s", PartitionKey: string(rune('a' + i%26)), Data: []byte("x")}); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * metricsSampleInterval) // the received records are sampled
	now := time.Now()
	pl := p.pipeline("s")
	p.metrics.record(now, MetricBufferingTime, "", "s", "", stat{count: 1000, sum: 1e6, min: 1000, max: 1000}) // far beyond 5 × 10 ms
	pl.logProcessingStatistics(start, now.Unix())
	out := logs.String()
	for _, want := range []string{"processing statistics", "stream=s", "records_in=100", "records_out=100", "collector_flushes", "mean_request_ms", "records wait far longer"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
}

// Consecutive ticks log every second once: samples recorded after a tick,
// within the second it came in, are in the next interval.
func TestProcessingStatisticsKeepTheSecondOfATick(t *testing.T) {
	var logs bytes.Buffer
	cfg := DefaultConfig()
	cfg.Region = "us-east-1"
	p, err := New(context.Background(), cfg, WithClient(acceptAll{}), WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())
	p.pipeline("s")
	tick := time.Unix(time.Now().Unix()+1, 300*int64(time.Millisecond))
	last := p.logProcessingStatisticsSince(tick.Unix()-15, tick)
	p.metrics.record(tick.Add(300*time.Millisecond), MetricUserRecordsReceived, "", "s", "", stat{count: 7, sum: 7, min: 1, max: 1})
	p.logProcessingStatisticsSince(last, tick.Add(processingStatsInterval))
	if !strings.Contains(logs.String(), "records_in=7") {
		t.Fatalf("the records received after a tick, within its second, were not logged:\n%s", logs.String())
	}
}
