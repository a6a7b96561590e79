package kinesistest_test

import (
	"context"
	"crypto/md5"
	"errors"
	"math/big"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"go.uber.org/goleak"

	"github.com/gokpl/gokpl/core/kinesistest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// startServer starts a server that the test closes when it ends.
func startServer(t *testing.T, opts kinesistest.Options) *kinesistest.Server {
	t.Helper()
	srv := kinesistest.NewServer(opts)
	t.Cleanup(srv.Close)
	return srv
}

// newClient returns an SDK client for srv that does not retry, so tests see
// every error as the server sent it.
func newClient(srv *kinesistest.Server, optFns ...func(*kinesis.Options)) *kinesis.Client {
	cfg := aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("k", "s", ""),
		BaseEndpoint: aws.String(srv.URL),
		Retryer:      func() aws.Retryer { return aws.NopRetryer{} },
	}
	return kinesis.NewFromConfig(cfg, optFns...)
}

// withFastRetries makes the client retry up to attempts times without
// waiting between attempts.
func withFastRetries(attempts int) func(*kinesis.Options) {
	return func(o *kinesis.Options) {
		o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
			so.MaxAttempts = attempts
			so.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) {
				return time.Millisecond, nil
			})
		})
	}
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// fakeClock is a settable clock for Options.Now.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// md5HashKey computes a partition key's hash key independently of the
// server's 128-bit arithmetic.
func md5HashKey(partitionKey string) *big.Int {
	sum := md5.Sum([]byte(partitionKey))
	return new(big.Int).SetBytes(sum[:])
}

// shardContaining returns the id of the shard whose range holds key.
func shardContaining(t *testing.T, shards []types.Shard, key *big.Int) string {
	t.Helper()
	for _, sh := range shards {
		start, _ := new(big.Int).SetString(aws.ToString(sh.HashKeyRange.StartingHashKey), 10)
		end, _ := new(big.Int).SetString(aws.ToString(sh.HashKeyRange.EndingHashKey), 10)
		if start.Cmp(key) <= 0 && key.Cmp(end) <= 0 {
			return aws.ToString(sh.ShardId)
		}
	}
	t.Fatalf("no shard contains %s", key)
	return ""
}

func listAllShards(t *testing.T, client *kinesis.Client, stream string) []types.Shard {
	t.Helper()
	out, err := client.ListShards(testContext(t), &kinesis.ListShardsInput{StreamName: aws.String(stream)})
	if err != nil {
		t.Fatalf("ListShards: %v", err)
	}
	return out.Shards
}

// readShard reads every record of a shard from TRIM_HORIZON.
func readShard(t *testing.T, client *kinesis.Client, stream, shardID string) []types.Record {
	t.Helper()
	ctx := testContext(t)
	it, err := client.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{
		StreamName:        aws.String(stream),
		ShardId:           aws.String(shardID),
		ShardIteratorType: types.ShardIteratorTypeTrimHorizon,
	})
	if err != nil {
		t.Fatalf("GetShardIterator: %v", err)
	}
	var records []types.Record
	iterator := it.ShardIterator
	for iterator != nil {
		out, err := client.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: iterator})
		if err != nil {
			t.Fatalf("GetRecords: %v", err)
		}
		records = append(records, out.Records...)
		if len(out.Records) == 0 {
			break
		}
		iterator = out.NextShardIterator
	}
	return records
}

// asError asserts that err wraps an error of type T and returns it.
func asError[T error](t *testing.T, err error) T {
	t.Helper()
	var target T
	if !errors.As(err, &target) {
		t.Fatalf("error %v (%T) is not a %T", err, err, target)
	}
	return target
}

func putEntries(n int, prefix string) []types.PutRecordsRequestEntry {
	entries := make([]types.PutRecordsRequestEntry, n)
	for i := range entries {
		key := prefix + "-" + string(rune('a'+i%26)) + "-" + big.NewInt(int64(i)).String()
		entries[i] = types.PutRecordsRequestEntry{Data: []byte("data " + key), PartitionKey: aws.String(key)}
	}
	return entries
}
