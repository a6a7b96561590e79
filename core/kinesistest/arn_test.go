package kinesistest_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/gokpl/gokpl/core/kinesistest"
)

func TestStreamARNWorksWhereverAStreamIsNamed(t *testing.T) {
	srv := startServer(t, kinesistest.Options{Streams: map[string]int{"s": 2}})
	client := newClient(srv)
	ctx := testContext(t)
	arn := aws.String(srv.StreamARN("s"))
	if *arn != "arn:aws:kinesis:us-east-1:123456789012:stream/s" {
		t.Errorf("StreamARN = %s", *arn)
	}

	if _, err := client.PutRecords(ctx, &kinesis.PutRecordsInput{StreamARN: arn, Records: putEntries(2, "k")}); err != nil {
		t.Errorf("PutRecords: %v", err)
	}
	if _, err := client.PutRecord(ctx, &kinesis.PutRecordInput{StreamARN: arn, StreamName: aws.String("s"), PartitionKey: aws.String("k"), Data: []byte("v")}); err != nil {
		t.Errorf("PutRecord by ARN and name: %v", err)
	}
	shards, err := client.ListShards(ctx, &kinesis.ListShardsInput{StreamARN: arn})
	if err != nil || len(shards.Shards) != 2 {
		t.Fatalf("ListShards: %v, %+v", err, shards)
	}
	if _, err := client.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamARN: arn}); err != nil {
		t.Errorf("DescribeStreamSummary: %v", err)
	}
	if _, err := client.DescribeStream(ctx, &kinesis.DescribeStreamInput{StreamARN: arn}); err != nil {
		t.Errorf("DescribeStream: %v", err)
	}
	_, err = client.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamARN: arn, ShardId: shards.Shards[0].ShardId, ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
	if err != nil {
		t.Errorf("GetShardIterator: %v", err)
	}
	wantStored(t, srv, "s", 3)
}

func TestStreamARNOfAnotherAccountOrRegionIsNotFound(t *testing.T) {
	srv := startServer(t, kinesistest.Options{Streams: map[string]int{"s": 1}})
	client := newClient(srv)
	for _, arn := range []string{
		"arn:aws:kinesis:us-east-1:210987654321:stream/s",
		"arn:aws:kinesis:eu-west-1:123456789012:stream/s",
		"arn:aws-cn:kinesis:us-east-1:123456789012:stream/s",
		srv.StreamARN("missing"),
	} {
		_, err := client.PutRecords(testContext(t), &kinesis.PutRecordsInput{StreamARN: aws.String(arn), Records: putEntries(1, "k")})
		wantMessage(t, rejected[*types.ResourceNotFoundException](t, err), "not found")
	}
	wantStored(t, srv, "s", 0)
}

func TestMalformedStreamARNIsValidationException(t *testing.T) {
	srv := startServer(t, kinesistest.Options{Streams: map[string]int{"s": 1}})
	client := newClient(srv)
	for _, arn := range []string{
		"s",
		"arn:aws:kinesis:us-east-1:12345:stream/s",
		"arn:aws:sqs:us-east-1:123456789012:stream/s",
		"arn:aws:kinesis:us-east-1:123456789012:stream/",
		"arn:aws:kinesis:us-east-1:123456789012:stream/a b",
	} {
		_, err := client.PutRecord(testContext(t), &kinesis.PutRecordInput{StreamARN: aws.String(arn), PartitionKey: aws.String("k"), Data: []byte("v")})
		wantMessage(t, rejected[*types.ValidationException](t, err), "'streamARN'")
	}
	wantStored(t, srv, "s", 0)
}

func TestStreamNameAndARNMustAgreeAndOneIsNeeded(t *testing.T) {
	srv := startServer(t, kinesistest.Options{Streams: map[string]int{"s": 1, "t": 1}})
	client := newClient(srv)
	ctx := testContext(t)

	_, err := client.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("t"), StreamARN: aws.String(srv.StreamARN("s")), Records: putEntries(1, "k")})
	rejected[*types.InvalidArgumentException](t, err)
	_, err = client.PutRecords(ctx, &kinesis.PutRecordsInput{Records: putEntries(1, "k")})
	rejected[*types.InvalidArgumentException](t, err)
	wantStored(t, srv, "s", 0)
	wantStored(t, srv, "t", 0)
}
