package core_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/gokpl/gokpl/core"
	"github.com/gokpl/gokpl/internal/kinesismock"
)

// Integration tests against kinesis-mock, the emulator LocalStack uses: a
// second, independent implementation of the service.

func emulatorProducer(t *testing.T, emu *kinesismock.Emulator, adjust func(*core.Config)) *core.Producer {
	t.Helper()
	cfg := core.DefaultConfig()
	cfg.Region = kinesismock.Region
	cfg.EndpointURL = emu.Endpoint()
	cfg.RecordMaxBufferedTime = 20 * time.Millisecond
	if adjust != nil {
		adjust(&cfg)
	}
	p, err := core.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeProducer(t, p) })
	return p
}

// readStream returns every copy of every user record in the stream,
// de-aggregated, keyed by its data. A record sent again after it landed
// outside its hash range (Wrong Shard) has two copies.
func readStream(t *testing.T, client *kinesis.Client, stream string) map[string][]storedRecord {
	t.Helper()
	ctx := context.Background()
	shards, err := client.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String(stream)})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]storedRecord{}
	for _, shard := range shards.Shards {
		it, err := client.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{
			StreamName: aws.String(stream), ShardId: shard.ShardId, ShardIteratorType: types.ShardIteratorTypeTrimHorizon,
		})
		if err != nil {
			t.Fatal(err)
		}
		iterator := it.ShardIterator
		for iterator != nil {
			page, err := client.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: iterator, Limit: aws.Int32(10000)})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range page.Records {
				users, err := core.Deaggregate(aws.ToString(r.PartitionKey), "", r.Data)
				if err != nil {
					t.Fatalf("record %s does not de-aggregate: %v", aws.ToString(r.SequenceNumber), err)
				}
				for _, u := range users {
					out[string(u.Data)] = append(out[string(u.Data)], storedRecord{ShardID: aws.ToString(shard.ShardId), SequenceNumber: aws.ToString(r.SequenceNumber), PartitionKey: u.PartitionKey, Data: string(u.Data)})
				}
			}
			if len(page.Records) == 0 || aws.ToInt64(page.MillisBehindLatest) == 0 {
				break
			}
			iterator = page.NextShardIterator
		}
	}
	return out
}

func TestEmulatorAggregatedRecordsReadBackDeaggregated(t *testing.T) {
	emu := kinesismock.Require(t, kinesismock.Options{Streams: map[string]int{"agg": 4}})
	p := emulatorProducer(t, emu, nil)
	// The first put starts loading the shard map; records aggregate once it
	// is there (ListShards on the emulator takes longer than the 20 ms
	// buffering time, so records put before it went out unaggregated).
	wait(t, put(t, p, core.Record{Stream: "agg", PartitionKey: "warm-up", Data: []byte("warm-up")}))
	const n = 3000
	outcomes := make([]*core.Outcome, n)
	for i := range n {
		outcomes[i] = put(t, p, core.Record{Stream: "agg", PartitionKey: fmt.Sprintf("user-%d", i%97), Data: []byte(fmt.Sprintf("record-%05d", i))})
	}
	if err := p.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := readStream(t, emu.Client(), "agg")
	for i, o := range outcomes {
		r := wait(t, o)
		if !r.Success {
			t.Fatalf("record %d: %+v", i, r)
		}
		copies := got[fmt.Sprintf("record-%05d", i)]
		if len(copies) != 1 || !reported(copies, r) || copies[0].PartitionKey != fmt.Sprintf("user-%d", i%97) {
			t.Fatalf("record %d: stored %+v, result %+v", i, copies, r)
		}
	}
	if stats := p.Stats(); stats.KinesisRecordsSent >= n/2 {
		t.Fatalf("%d Kinesis records for %d user records: aggregation did not happen", stats.KinesisRecordsSent, n)
	}
}

func TestEmulatorSplitShardMidRun(t *testing.T) {
	emu := kinesismock.Require(t, kinesismock.Options{Streams: map[string]int{"split": 2}, Env: []string{"SPLIT_SHARD_DURATION=0ms"}})
	p := emulatorProducer(t, emu, nil)
	client := emu.Client()
	ctx := context.Background()
	var outcomes []*core.Outcome
	putSome := func(from, to int) {
		for i := from; i < to; i++ {
			outcomes = append(outcomes, put(t, p, core.Record{Stream: "split", PartitionKey: fmt.Sprint(i), Data: []byte(fmt.Sprintf("r%05d", i))}))
		}
		if err := p.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	wait(t, put(t, p, core.Record{Stream: "split", PartitionKey: "warm-up", Data: []byte("warm-up")}))
	putSome(0, 1000)
	shards, err := client.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String("split")})
	if err != nil {
		t.Fatal(err)
	}
	first := shards.Shards[0]
	start, _ := core.ParseHashKey(aws.ToString(first.HashKeyRange.StartingHashKey))
	end, _ := core.ParseHashKey(aws.ToString(first.HashKeyRange.EndingHashKey))
	mid := midpoint(start, end)
	if _, err := client.SplitShard(ctx, &kinesis.SplitShardInput{StreamName: aws.String("split"), ShardToSplit: first.ShardId, NewStartingHashKey: aws.String(mid)}); err != nil {
		t.Fatal(err)
	}
	waitActive(t, client, "split")
	putSome(1000, 3000)
	got := readStream(t, client, "split")
	children := 0
	for i, o := range outcomes {
		r := wait(t, o)
		if !r.Success {
			t.Fatalf("record %d: %+v", i, r)
		}
		if copies := got[fmt.Sprintf("r%05d", i)]; !reported(copies, r) {
			t.Fatalf("record %d: stored %+v, result %+v", i, copies, r)
		}
		if r.ShardID != aws.ToString(first.ShardId) && r.ShardID != aws.ToString(shards.Shards[1].ShardId) {
			children++
		}
	}
	if children == 0 {
		t.Fatal("no record landed in the split's children")
	}
}

// reported says whether one of the stored copies is where the result says
// the record landed.
func reported(copies []storedRecord, r *core.RecordResult) bool {
	for _, c := range copies {
		if c.ShardID == r.ShardID && c.SequenceNumber == r.SequenceNumber {
			return true
		}
	}
	return false
}

func midpoint(start, end core.HashKey) string {
	// (start+end)/2 without overflow: start + (end-start)/2, on 128 bits.
	diffHi, diffLo := end.Hi-start.Hi, end.Lo-start.Lo
	if end.Lo < start.Lo {
		diffHi--
	}
	halfLo := diffLo>>1 | diffHi<<63
	halfHi := diffHi >> 1
	lo := start.Lo + halfLo
	hi := start.Hi + halfHi
	if lo < start.Lo {
		hi++
	}
	return core.HashKey{Hi: hi, Lo: lo}.String()
}

func waitActive(t *testing.T, client *kinesis.Client, stream string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		out, err := client.DescribeStreamSummary(context.Background(), &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(stream)})
		if err == nil && out.StreamDescriptionSummary.StreamStatus == types.StreamStatusActive {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("stream %s did not become ACTIVE", stream)
}
