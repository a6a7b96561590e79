package kinesistest_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/gokpl/gokpl/core/kinesistest"
)

// TestConcurrentWritesReadsAndReshards runs writers, a reader and a split
// at once; under -race it checks the locking, and afterwards that every
// acknowledged record was stored exactly once.
func TestConcurrentWritesReadsAndReshards(t *testing.T) {
	srv := startServer(t, kinesistest.Options{Streams: map[string]int{"s": 2}})
	client := newClient(srv)
	ctx := testContext(t)

	const writers, batches, perBatch = 4, 10, 50
	acked := make(chan string, writers*batches*perBatch)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for b := range batches {
				out, err := client.PutRecords(ctx, &kinesis.PutRecordsInput{
					StreamName: aws.String("s"), Records: putEntries(perBatch, fmt.Sprintf("w%d-b%d", w, b)),
				})
				if err != nil {
					t.Errorf("PutRecords: %v", err)
					return
				}
				for _, r := range out.Records {
					acked <- aws.ToString(r.SequenceNumber)
				}
			}
		})
	}
	wg.Go(func() {
		if err := srv.SplitShard("s", "shardId-000000000000", ""); err != nil {
			t.Errorf("SplitShard: %v", err)
		}
	})
	wg.Go(func() {
		it, err := client.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{
			StreamName: aws.String("s"), ShardId: aws.String("shardId-000000000001"), ShardIteratorType: types.ShardIteratorTypeTrimHorizon,
		})
		if err != nil {
			t.Errorf("GetShardIterator: %v", err)
			return
		}
		iterator := it.ShardIterator
		for range 20 {
			out, err := client.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: iterator, Limit: aws.Int32(25)})
			if err != nil {
				t.Errorf("GetRecords: %v", err)
				return
			}
			iterator = out.NextShardIterator
		}
	})
	wg.Wait()
	close(acked)

	stored := map[string]int{}
	for _, r := range srv.Records("s") {
		stored[r.SequenceNumber]++
	}
	count := 0
	for seq := range acked {
		count++
		if stored[seq] != 1 {
			t.Errorf("acknowledged %s stored %d times", seq, stored[seq])
		}
	}
	if count != writers*batches*perBatch || len(stored) != count {
		t.Errorf("acknowledged %d, stored %d", count, len(stored))
	}
}
