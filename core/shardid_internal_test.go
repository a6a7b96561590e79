package core

import (
	"context"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// unnumberedShards lists two shards whose ids end in no number, splitting
// the hash-key range in halves, and keeps every entry it is sent.
type unnumberedShards struct {
	mu      sync.Mutex
	entries []types.PutRecordsRequestEntry
}

func (c *unnumberedShards) ListShards(context.Context, *kinesis.ListShardsInput, ...func(*kinesis.Options)) (*kinesis.ListShardsOutput, error) {
	half := HashKey{Hi: 1 << 63}
	below := HashKey{Hi: 1<<63 - 1, Lo: 1<<64 - 1}
	return &kinesis.ListShardsOutput{Shards: []types.Shard{
		{ShardId: aws.String("shard-low"), HashKeyRange: &types.HashKeyRange{StartingHashKey: aws.String("0"), EndingHashKey: aws.String(below.String())}},
		{ShardId: aws.String("shard-high"), HashKeyRange: &types.HashKeyRange{StartingHashKey: aws.String(half.String()), EndingHashKey: aws.String(maxHashKey.String())}},
	}}, nil
}

func (c *unnumberedShards) PutRecords(_ context.Context, in *kinesis.PutRecordsInput, _ ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error) {
	c.mu.Lock()
	c.entries = append(c.entries, in.Records...)
	c.mu.Unlock()
	out := make([]types.PutRecordsResultEntry, len(in.Records))
	for i, e := range in.Records {
		shard := "shard-low"
		if h, _ := ParseHashKey(aws.ToString(e.ExplicitHashKey)); !h.Less(HashKey{Hi: 1 << 63}) && e.ExplicitHashKey != nil {
			shard = "shard-high"
		}
		out[i] = types.PutRecordsResultEntry{ShardId: aws.String(shard), SequenceNumber: aws.String("1")}
	}
	return &kinesis.PutRecordsOutput{Records: out}, nil
}

// Shards whose ids end in no number are told apart by nothing the
// aggregator keys its buffers by, so their records go unaggregated rather
// than into one aggregate for two shards.
func TestShardsWithoutANumberInTheirIDsAreNotAggregatedTogether(t *testing.T) {
	client := &unnumberedShards{}
	cfg := DefaultConfig()
	cfg.Region = "us-east-1"
	p, err := New(context.Background(), cfg, WithClient(client))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())
	var outcomes []*Outcome
	for _, key := range []string{"a", "b", "c", "d", "e", "f", "g", "h"} {
		o, err := p.Put(context.Background(), Record{Stream: "s", PartitionKey: key, Data: []byte(key)})
		if err != nil {
			t.Fatal(err)
		}
		outcomes = append(outcomes, o)
	}
	if err := p.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, o := range outcomes {
		if r, _ := o.Wait(context.Background()); !r.Success {
			t.Fatalf("result %+v", r)
		}
	}
	client.mu.Lock()
	defer client.mu.Unlock()
	for _, e := range client.entries {
		if IsAggregated(e.Data) {
			t.Fatalf("an aggregated entry of %d bytes was sent for shards the aggregator cannot tell apart", len(e.Data))
		}
	}
	if len(client.entries) != len(outcomes) {
		t.Fatalf("%d entries sent, want one per record", len(client.entries))
	}
}
