package kinesistest_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/gokpl/gokpl/core/kinesistest"
)

func TestSplitShardClosesParentAndRoutesToChildren(t *testing.T) {
	srv := startServer(t, kinesistest.Options{Streams: map[string]int{"s": 2}})
	client := newClient(srv)
	ctx := testContext(t)
	// Hash key 0 lives in shard 0 before the split and in its lower child after.
	putAtZero := func() *kinesis.PutRecordOutput {
		out, err := client.PutRecord(ctx, &kinesis.PutRecordInput{
			StreamName: aws.String("s"), PartitionKey: aws.String("k"), Data: []byte("v"), ExplicitHashKey: aws.String("0"),
		})
		if err != nil {
			t.Fatalf("PutRecord: %v", err)
		}
		return out
	}
	before := putAtZero()

	const splitAt = "85070591730234615865843651857942052864" // 2^126
	if _, err := client.SplitShard(ctx, &kinesis.SplitShardInput{
		StreamName: aws.String("s"), ShardToSplit: aws.String("shardId-000000000000"), NewStartingHashKey: aws.String(splitAt),
	}); err != nil {
		t.Fatalf("SplitShard: %v", err)
	}
	shards := listAllShards(t, client, "s")
	if len(shards) != 4 {
		t.Fatalf("%d shards after split", len(shards))
	}
	parent, low, high := shards[0], shards[2], shards[3]
	ending := aws.ToString(parent.SequenceNumberRange.EndingSequenceNumber)
	if ending == "" || ending < aws.ToString(before.SequenceNumber) {
		t.Errorf("parent ending sequence number %q, last record %s", ending, aws.ToString(before.SequenceNumber))
	}
	if aws.ToString(low.ParentShardId) != "shardId-000000000000" || aws.ToString(high.ParentShardId) != "shardId-000000000000" {
		t.Errorf("children parents %v %v", aws.ToString(low.ParentShardId), aws.ToString(high.ParentShardId))
	}
	if aws.ToString(low.HashKeyRange.StartingHashKey) != "0" ||
		aws.ToString(low.HashKeyRange.EndingHashKey) != "85070591730234615865843651857942052863" ||
		aws.ToString(high.HashKeyRange.StartingHashKey) != splitAt ||
		aws.ToString(high.HashKeyRange.EndingHashKey) != aws.ToString(parent.HashKeyRange.EndingHashKey) {
		t.Errorf("children ranges %+v %+v", *low.HashKeyRange, *high.HashKeyRange)
	}
	if after := putAtZero(); aws.ToString(after.ShardId) != "shardId-000000000002" {
		t.Errorf("record routed to %s after split", aws.ToString(after.ShardId))
	}

	// Reading the closed parent to its end yields its record, then no next
	// iterator and the children.
	it, err := client.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{
		StreamName: aws.String("s"), ShardId: aws.String("shardId-000000000000"), ShardIteratorType: types.ShardIteratorTypeTrimHorizon,
	})
	if err != nil {
		t.Fatalf("GetShardIterator: %v", err)
	}
	out, err := client.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: it.ShardIterator})
	if err != nil {
		t.Fatalf("GetRecords: %v", err)
	}
	if len(out.Records) != 1 || out.NextShardIterator != nil || len(out.ChildShards) != 2 {
		t.Fatalf("closed shard read: %d records, next %v, children %d", len(out.Records), out.NextShardIterator, len(out.ChildShards))
	}
	if aws.ToString(out.ChildShards[0].ShardId) != "shardId-000000000002" || out.ChildShards[0].ParentShards[0] != "shardId-000000000000" {
		t.Errorf("child shards %+v", out.ChildShards)
	}

	_, err = client.SplitShard(ctx, &kinesis.SplitShardInput{
		StreamName: aws.String("s"), ShardToSplit: aws.String("shardId-000000000000"), NewStartingHashKey: aws.String(splitAt),
	})
	asError[*types.InvalidArgumentException](t, err)
}

func TestMergeShardsJoinsAdjacentRanges(t *testing.T) {
	srv := startServer(t, kinesistest.Options{Streams: map[string]int{"s": 3}})
	client := newClient(srv)
	ctx := testContext(t)

	_, err := client.MergeShards(ctx, &kinesis.MergeShardsInput{
		StreamName: aws.String("s"), ShardToMerge: aws.String("shardId-000000000000"), AdjacentShardToMerge: aws.String("shardId-000000000002"),
	})
	asError[*types.InvalidArgumentException](t, err)

	if _, err := client.MergeShards(ctx, &kinesis.MergeShardsInput{
		StreamName: aws.String("s"), ShardToMerge: aws.String("shardId-000000000002"), AdjacentShardToMerge: aws.String("shardId-000000000001"),
	}); err != nil {
		t.Fatalf("MergeShards: %v", err)
	}
	shards := srv.Shards("s")
	if len(shards) != 4 {
		t.Fatalf("%d shards after merge", len(shards))
	}
	child := shards[3]
	if child.ShardID != "shardId-000000000003" || child.ParentShardID != "shardId-000000000002" ||
		child.AdjacentParentShardID != "shardId-000000000001" || !child.Open {
		t.Errorf("child = %+v", child)
	}
	if child.StartingHashKey != shards[1].StartingHashKey || child.EndingHashKey != "340282366920938463463374607431768211455" {
		t.Errorf("child range %s..%s", child.StartingHashKey, child.EndingHashKey)
	}
	if shards[1].Open || shards[2].Open || shards[1].EndingSequenceNumber == "" {
		t.Errorf("parents still open: %+v %+v", shards[1], shards[2])
	}
}

func TestServerSplitShardAtMidpoint(t *testing.T) {
	srv := startServer(t, kinesistest.Options{Streams: map[string]int{"s": 1}})
	if err := srv.SplitShard("s", "shardId-000000000000", ""); err != nil {
		t.Fatalf("SplitShard: %v", err)
	}
	shards := srv.Shards("s")
	if len(shards) != 3 || shards[1].EndingHashKey != "170141183460469231731687303715884105727" ||
		shards[2].StartingHashKey != "170141183460469231731687303715884105728" {
		t.Errorf("shards after midpoint split: %+v", shards)
	}
	if err := srv.SplitShard("s", "shardId-000000000007", ""); err == nil {
		t.Error("split of a missing shard succeeded")
	}
	if err := srv.MergeShards("s", "shardId-000000000001", "shardId-000000000002"); err != nil {
		t.Errorf("MergeShards: %v", err)
	}
}
