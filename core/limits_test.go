package core_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go"

	"github.com/gokpl/gokpl/core"
)

// serviceClient plays the service's side of a producer in memory, with its
// limits: an entry of data and partition key over the stream's maximum
// record size, or a request over 10 MiB, refuses the whole PutRecords with
// ValidationException, as the service does. It records every request.
type serviceClient struct {
	maxRecordKiB  int32         // in DescribeStreamSummary's answer; 0 leaves the field out
	describeErr   error         // DescribeStreamSummary's failure, if any
	listShardsLag time.Duration // how long ListShards takes
	shards        int

	mu        sync.Mutex
	puts      []*kinesis.PutRecordsInput
	lists     []*kinesis.ListShardsInput
	describes []*kinesis.DescribeStreamSummaryInput
	stored    []types.PutRecordsRequestEntry
}

const serviceStreamARN = "arn:aws:kinesis:us-east-1:123456789012:stream/s"

func (c *serviceClient) limit() int {
	if c.maxRecordKiB == 0 {
		return core.DefaultMaxRecordSize
	}
	return int(c.maxRecordKiB) << 10
}

func (c *serviceClient) ListShards(ctx context.Context, in *kinesis.ListShardsInput, _ ...func(*kinesis.Options)) (*kinesis.ListShardsOutput, error) {
	c.mu.Lock()
	c.lists = append(c.lists, in)
	c.mu.Unlock()
	select {
	case <-time.After(c.listShardsLag):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	n := int64(max(c.shards, 1))
	space := new(big.Int).Lsh(big.NewInt(1), 128)
	out := &kinesis.ListShardsOutput{}
	for i := range n {
		start := new(big.Int).Div(new(big.Int).Mul(space, big.NewInt(i)), big.NewInt(n))
		end := new(big.Int).Sub(new(big.Int).Div(new(big.Int).Mul(space, big.NewInt(i+1)), big.NewInt(n)), big.NewInt(1))
		out.Shards = append(out.Shards, types.Shard{
			ShardId:      aws.String(fmt.Sprintf("shardId-%012d", i)),
			HashKeyRange: &types.HashKeyRange{StartingHashKey: aws.String(start.String()), EndingHashKey: aws.String(end.String())},
		})
	}
	return out, nil
}

func (c *serviceClient) DescribeStreamSummary(_ context.Context, in *kinesis.DescribeStreamSummaryInput, _ ...func(*kinesis.Options)) (*kinesis.DescribeStreamSummaryOutput, error) {
	c.mu.Lock()
	c.describes = append(c.describes, in)
	c.mu.Unlock()
	if c.describeErr != nil {
		return nil, c.describeErr
	}
	summary := &types.StreamDescriptionSummary{StreamName: aws.String("s"), StreamARN: aws.String(serviceStreamARN)}
	if c.maxRecordKiB != 0 {
		summary.MaxRecordSizeInKiB = aws.Int32(c.maxRecordKiB)
	}
	return &kinesis.DescribeStreamSummaryOutput{StreamDescriptionSummary: summary}, nil
}

func (c *serviceClient) PutRecords(_ context.Context, in *kinesis.PutRecordsInput, _ ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.puts = append(c.puts, in)
	total := 0
	for i, e := range in.Records {
		size := len(e.Data) + len(aws.ToString(e.PartitionKey))
		total += size
		if size > c.limit() {
			return nil, &smithy.GenericAPIError{Code: "ValidationException", Message: fmt.Sprintf(
				"1 validation error detected: Value at 'records.%d.member.data' failed to satisfy constraint: Member must have length less than or equal to %d", i+1, c.limit())}
		}
	}
	if total > core.MaxRequestBytes || len(in.Records) > core.MaxRequestEntries {
		return nil, &smithy.GenericAPIError{Code: "InvalidArgumentException", Message: "request too large"}
	}
	out := &kinesis.PutRecordsOutput{}
	for _, e := range in.Records {
		c.stored = append(c.stored, e)
		out.Records = append(out.Records, types.PutRecordsResultEntry{ShardId: aws.String(c.shardOf(e)), SequenceNumber: aws.String(fmt.Sprint(len(c.stored)))})
	}
	return out, nil
}

// shardOf is the shard ListShards' even split gives the entry's hash key.
func (c *serviceClient) shardOf(e types.PutRecordsRequestEntry) string {
	hash := new(big.Int)
	if ehk := aws.ToString(e.ExplicitHashKey); ehk != "" {
		hash.SetString(ehk, 10)
	} else {
		h := core.PartitionKeyHash(aws.ToString(e.PartitionKey))
		hash.SetString(h.String(), 10)
	}
	n := int64(max(c.shards, 1))
	shard := new(big.Int).Div(new(big.Int).Mul(hash, big.NewInt(n)), new(big.Int).Lsh(big.NewInt(1), 128))
	return fmt.Sprintf("shardId-%012d", shard.Int64())
}

// storedUserRecords counts the user records stored, de-aggregated, by partition key.
func (c *serviceClient) storedUserRecords(t *testing.T) (kinesisRecords int, byKey map[string]int) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	byKey = make(map[string]int)
	for _, e := range c.stored {
		records, err := core.Deaggregate(aws.ToString(e.PartitionKey), aws.ToString(e.ExplicitHashKey), e.Data)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range records {
			byKey[r.PartitionKey]++
		}
	}
	return len(c.stored), byKey
}

func newServiceProducer(t *testing.T, client core.Client, adjust func(*core.Config)) *core.Producer {
	t.Helper()
	cfg := core.DefaultConfig()
	cfg.Region = "us-east-1"
	cfg.RecordMaxBufferedTime = 20 * time.Millisecond
	if adjust != nil {
		adjust(&cfg)
	}
	p, err := core.New(context.Background(), cfg, core.WithClient(client), core.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeProducer(t, p) })
	return p
}

func invalidField(err error) string {
	var ire *core.InvalidRecordError
	if errors.As(err, &ire) {
		return ire.Field
	}
	return ""
}

func TestPutValidatesStreamNamesAndARNs(t *testing.T) {
	p := newServiceProducer(t, &serviceClient{}, nil)
	for _, stream := range []string{
		"",
		"bad name!",
		strings.Repeat("s", core.MaxStreamNameLength+1),
		"arn:aws:kinesis:us-east-1:12345:stream/s",                                                      // account of 5 digits
		"arn:aws:kinesis:us-east-1:123456789012:stream/",                                                // no name
		"arn:aws:kinesis:us-east-1:123456789012:stream/bad name",                                        // space
		"arn:aws:s3:us-east-1:123456789012:stream/s",                                                    // another service
		"arn:aws:kinesis:us-east-1:123456789012:stream/" + strings.Repeat("s", core.MaxStreamARNLength), // too long
	} {
		if _, err := p.Put(context.Background(), core.Record{Stream: stream, PartitionKey: "k"}); invalidField(err) != "stream" {
			t.Errorf("stream %.60q: err = %v, want an InvalidRecordError naming stream", stream, err)
		}
	}
	for _, stream := range []string{"s", "a.b-c_D9", strings.Repeat("s", core.MaxStreamNameLength), serviceStreamARN, "arn:aws-cn:kinesis:cn-north-1:123456789012:stream/s"} {
		o := put(t, p, core.Record{Stream: stream, PartitionKey: "k"})
		if r := wait(t, o); !r.Success {
			t.Errorf("stream %q: %+v", stream, r)
		}
	}
}

func TestRecordsToAStreamARNAreSentAndListedByARN(t *testing.T) {
	client := &serviceClient{}
	p := newServiceProducer(t, client, nil)
	if r := wait(t, put(t, p, core.Record{Stream: serviceStreamARN, PartitionKey: "k", Data: []byte("x")})); !r.Success {
		t.Fatalf("%+v", r)
	}
	client.mu.Lock()
	defer client.mu.Unlock()
	for _, in := range client.puts {
		if aws.ToString(in.StreamARN) != serviceStreamARN || in.StreamName != nil {
			t.Errorf("PutRecords named the stream %q by name and %q by ARN; want the ARN only", aws.ToString(in.StreamName), aws.ToString(in.StreamARN))
		}
	}
	for _, in := range client.lists {
		if aws.ToString(in.StreamARN) != serviceStreamARN || in.StreamName != nil {
			t.Errorf("ListShards named the stream %q by name and %q by ARN; want the ARN only", aws.ToString(in.StreamName), aws.ToString(in.StreamARN))
		}
	}
	if len(client.lists) == 0 {
		t.Error("no ListShards call")
	}
}

// TestAnOversizedRecordFailsAloneAndLaterOnesAtPut puts, among small ones,
// records whose data alone is within 1 MiB but whose data and key are not:
// the service refuses a request holding one whole. Only those records fail.
func TestAnOversizedRecordFailsAloneAndLaterOnesAtPut(t *testing.T) {
	for _, aggregation := range []bool{true, false} {
		t.Run(fmt.Sprintf("aggregation=%v", aggregation), func(t *testing.T) {
			client := &serviceClient{maxRecordKiB: 1024}
			p := newServiceProducer(t, client, func(c *core.Config) { c.AggregationEnabled = aggregation })
			var small []*core.Outcome
			var big []*core.Outcome
			for i := range 400 {
				small = append(small, put(t, p, core.Record{Stream: "s", PartitionKey: fmt.Sprintf("k%d", i), Data: make([]byte, 100)}))
				if i%100 != 50 {
					continue
				}
				// Refused at put once the first one taught the producer the limit.
				o, err := p.Put(context.Background(), core.Record{Stream: "s", PartitionKey: "big", Data: make([]byte, core.DefaultMaxRecordSize)})
				switch {
				case err == nil:
					big = append(big, o)
				case invalidField(err) != "data":
					t.Fatalf("put: %v", err)
				}
			}
			if len(big) == 0 {
				t.Fatal("every oversized record was refused at put: none was put before the limit was known")
			}
			for i, o := range small {
				if r := wait(t, o); !r.Success {
					t.Fatalf("innocent record %d failed: %+v", i, r.Attempts()[len(r.Attempts())-1])
				}
			}
			for _, o := range big {
				r := wait(t, o)
				if r.Success || r.Attempts()[len(r.Attempts())-1].ErrorCode != core.CodeRecordTooLarge {
					t.Fatalf("oversized record: %+v, want a failure with %s", r, core.CodeRecordTooLarge)
				}
			}
			_, byKey := client.storedUserRecords(t)
			if len(byKey) != 400 || byKey["big"] != 0 {
				t.Fatalf("%d keys stored (big: %d), want the 400 small ones", len(byKey), byKey["big"])
			}
			// Now the limit is known: Put refuses at once, naming the field.
			_, err := p.Put(context.Background(), core.Record{Stream: "s", PartitionKey: "big", Data: make([]byte, core.DefaultMaxRecordSize)})
			if invalidField(err) != "data" {
				t.Fatalf("put over the known limit: %v, want an InvalidRecordError naming data", err)
			}
			// At the limit exactly, data and key together, is fine.
			if r := wait(t, put(t, p, core.Record{Stream: "s", PartitionKey: "edge", Data: make([]byte, core.DefaultMaxRecordSize-len("edge"))})); !r.Success {
				t.Fatalf("a record of exactly 1 MiB with its key: %+v", r)
			}
		})
	}
}

func TestLargeRecordsGoThroughOnAStreamConfiguredForThem(t *testing.T) {
	client := &serviceClient{maxRecordKiB: 4096}
	p := newServiceProducer(t, client, nil)
	var outcomes []*core.Outcome
	for i := range 6 {
		outcomes = append(outcomes, put(t, p, core.Record{Stream: "s", PartitionKey: fmt.Sprintf("k%d", i), Data: make([]byte, (3<<20)+i)}))
		outcomes = append(outcomes, put(t, p, core.Record{Stream: "s", PartitionKey: fmt.Sprintf("small%d", i), Data: []byte("x")}))
	}
	for i, o := range outcomes {
		if r := wait(t, o); !r.Success {
			t.Fatalf("record %d: %+v", i, r.Attempts())
		}
	}
	if _, err := p.Put(context.Background(), core.Record{Stream: "s", PartitionKey: "k", Data: make([]byte, 4<<20)}); invalidField(err) != "data" {
		t.Fatalf("4 MiB of data and a key on a 4 MiB stream: %v, want refused at put", err)
	}
	if _, err := p.Put(context.Background(), core.Record{Stream: "s", PartitionKey: "k", Data: make([]byte, core.MaxRecordSizeLimit)}); invalidField(err) != "data" {
		t.Fatalf("over 10 MiB: %v, want refused at put", err)
	}
	client.mu.Lock()
	defer client.mu.Unlock()
	if len(client.describes) != 1 {
		t.Errorf("%d DescribeStreamSummary calls, want 1", len(client.describes))
	}
}

func TestSmallRecordsNeverAskForTheStreamsLimit(t *testing.T) {
	client := &serviceClient{}
	p := newServiceProducer(t, client, nil)
	for i := range 3 {
		put(t, p, core.Record{Stream: "s", PartitionKey: fmt.Sprint(i), Data: make([]byte, core.DefaultMaxRecordSize-8)})
	}
	ecFlush(t, p)
	client.mu.Lock()
	defer client.mu.Unlock()
	if len(client.describes) != 0 {
		t.Fatalf("%d DescribeStreamSummary calls for records within 1 MiB", len(client.describes))
	}
}

func TestAStreamLimitThatCannotBeLearntIsTakenAsOneMiB(t *testing.T) {
	for name, client := range map[string]*serviceClient{
		"denied":       {describeErr: &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "not authorized to perform kinesis:DescribeStreamSummary"}},
		"field absent": {},
	} {
		t.Run(name, func(t *testing.T) {
			p := newServiceProducer(t, client, nil)
			o := put(t, p, core.Record{Stream: "s", PartitionKey: "k", Data: make([]byte, 2<<20)})
			small := put(t, p, core.Record{Stream: "s", PartitionKey: "k", Data: []byte("x")})
			if r := wait(t, o); r.Success || r.Attempts()[len(r.Attempts())-1].ErrorCode != core.CodeRecordTooLarge {
				t.Fatalf("a 2 MiB record: %+v", r)
			}
			if r := wait(t, small); !r.Success {
				t.Fatalf("a small record: %+v", r)
			}
		})
	}
}

// TestARequestRefusedWholeIsSplitToFailOnlyTheRefusedEntries has the
// service refuse whole every request holding an entry keyed "bad" (as it
// would one too large for a reason the producer could not know), with
// aggregation on and off: only the bad records fail.
func TestARequestRefusedWholeIsSplitToFailOnlyTheRefusedEntries(t *testing.T) {
	for _, aggregation := range []bool{true, false} {
		t.Run(fmt.Sprintf("aggregation=%v", aggregation), func(t *testing.T) {
			client := &refusingClient{serviceClient: serviceClient{shards: 4}, refuse: "bad"}
			p2 := newServiceProducer(t, client, func(c *core.Config) {
				c.AggregationEnabled = aggregation
				c.RecordMaxBufferedTime = 200 * time.Millisecond
			})
			var outcomes []*core.Outcome
			var keys []string
			for i := range 1000 {
				key := fmt.Sprintf("k%d", i)
				if i%250 == 7 {
					key = "bad"
				}
				keys = append(keys, key)
				outcomes = append(outcomes, put(t, p2, core.Record{Stream: "s", PartitionKey: key, Data: make([]byte, 50)}))
			}
			ecFlush(t, p2)
			for i, o := range outcomes {
				r := wait(t, o)
				switch {
				case keys[i] == "bad" && (r.Success || r.Attempts()[len(r.Attempts())-1].ErrorCode != "ValidationException"):
					t.Fatalf("bad record %d: %+v", i, r)
				case keys[i] != "bad" && !r.Success:
					t.Fatalf("innocent record %d failed: %+v", i, r.Attempts())
				}
			}
			_, byKey := client.storedUserRecords(t)
			if len(byKey) != 996 || byKey["bad"] != 0 {
				t.Fatalf("%d keys stored, bad %d", len(byKey), byKey["bad"])
			}
			for key, n := range byKey {
				if n != 1 {
					t.Fatalf("%s stored %d times", key, n)
				}
			}
		})
	}
}

// refusingClient refuses whole any request with an entry whose partition
// key, or the key of a user record it aggregates, is refuse.
type refusingClient struct {
	serviceClient
	refuse string
}

func (c *refusingClient) PutRecords(ctx context.Context, in *kinesis.PutRecordsInput, opts ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error) {
	for i, e := range in.Records {
		records, err := core.Deaggregate(aws.ToString(e.PartitionKey), aws.ToString(e.ExplicitHashKey), e.Data)
		if err != nil {
			return nil, err
		}
		for _, r := range records {
			if r.PartitionKey == c.refuse {
				return nil, &smithy.GenericAPIError{Code: "ValidationException", Message: fmt.Sprintf("records.%d.member refused", i+1)}
			}
		}
	}
	return c.serviceClient.PutRecords(ctx, in, opts...)
}

// TestABurstPutJustAfterStartThenFlushedIsAggregated: the flush waits for
// the first shard map, which is loading, instead of sending the burst one
// record per Kinesis record.
func TestABurstPutJustAfterStartThenFlushedIsAggregated(t *testing.T) {
	client := &serviceClient{shards: 3, listShardsLag: 300 * time.Millisecond}
	p := newServiceProducer(t, client, func(c *core.Config) { c.RecordMaxBufferedTime = 10 * time.Second })
	var outcomes []*core.Outcome
	for i := range 2000 {
		outcomes = append(outcomes, put(t, p, core.Record{Stream: "s", PartitionKey: fmt.Sprint(i), Data: make([]byte, 20)}))
	}
	ecFlush(t, p)
	ecWaitAll(t, outcomes)
	kinesisRecords, byKey := client.storedUserRecords(t)
	if len(byKey) != 2000 {
		t.Fatalf("%d of 2000 records stored", len(byKey))
	}
	if kinesisRecords > 100 {
		t.Fatalf("2000 records went out as %d Kinesis records: the flush did not wait for the shard map", kinesisRecords)
	}
}
