package kinesistest_test

import (
	"bytes"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/gokpl/gokpl/core/kinesistest"
)

func TestPutRecordsRoutesByExplicitHashKeyAndMD5(t *testing.T) {
	srv := startServer(t, kinesistest.Options{Streams: map[string]int{"s": 3}})
	client := newClient(srv)
	ctx := testContext(t)
	shards := listAllShards(t, client, "s")

	// A key just inside shard 2's range, written out independently of the
	// server's arithmetic: floor(2 * 2^128 / 3) + 5.
	shard2Key := new(big.Int).Lsh(big.NewInt(2), 128)
	shard2Key.Div(shard2Key, big.NewInt(3)).Add(shard2Key, big.NewInt(5))
	entries := []types.PutRecordsRequestEntry{
		{Data: []byte("explicit"), PartitionKey: aws.String("ignored"), ExplicitHashKey: aws.String(shard2Key.String())},
		{Data: []byte("zero"), PartitionKey: aws.String("ignored"), ExplicitHashKey: aws.String("0")},
	}
	entries = append(entries, putEntries(40, "md5")...)

	out, err := client.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("s"), Records: entries})
	if err != nil {
		t.Fatalf("PutRecords: %v", err)
	}
	if aws.ToInt32(out.FailedRecordCount) != 0 || len(out.Records) != len(entries) {
		t.Fatalf("failed %d, %d results", aws.ToInt32(out.FailedRecordCount), len(out.Records))
	}
	if got := aws.ToString(out.Records[0].ShardId); got != "shardId-000000000002" {
		t.Errorf("explicit hash key routed to %s", got)
	}
	if got := aws.ToString(out.Records[1].ShardId); got != "shardId-000000000000" {
		t.Errorf("hash key 0 routed to %s", got)
	}
	used := map[string]bool{}
	for i, e := range entries[2:] {
		want := shardContaining(t, shards, md5HashKey(aws.ToString(e.PartitionKey)))
		if got := aws.ToString(out.Records[i+2].ShardId); got != want {
			t.Errorf("partition key %s routed to %s, want %s", aws.ToString(e.PartitionKey), got, want)
		}
		used[want] = true
	}
	if len(used) != 3 {
		t.Errorf("40 keys used only shards %v", used)
	}

	stored := srv.Records("s")
	if len(stored) != len(entries) {
		t.Fatalf("stored %d records", len(stored))
	}
	for i, r := range stored {
		if !bytes.Equal(r.Data, entries[i].Data) || r.PartitionKey != aws.ToString(entries[i].PartitionKey) ||
			r.SequenceNumber != aws.ToString(out.Records[i].SequenceNumber) || r.ShardID != aws.ToString(out.Records[i].ShardId) {
			t.Errorf("stored record %d = %+v", i, r)
		}
	}
	if stored[0].ExplicitHashKey != shard2Key.String() || stored[2].ExplicitHashKey != "" {
		t.Errorf("explicit hash keys stored as %q and %q", stored[0].ExplicitHashKey, stored[2].ExplicitHashKey)
	}
}

func TestSequenceNumbersIncrease(t *testing.T) {
	srv := startServer(t, kinesistest.Options{Streams: map[string]int{"s": 2}})
	client := newClient(srv)
	ctx := testContext(t)
	last := map[string]*big.Int{}
	for batch := range 3 {
		out, err := client.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("s"), Records: putEntries(20, fmt.Sprint(batch))})
		if err != nil {
			t.Fatalf("PutRecords: %v", err)
		}
		for _, r := range out.Records {
			seq := aws.ToString(r.SequenceNumber)
			n, ok := new(big.Int).SetString(seq, 10)
			if !ok || len(seq) != 56 {
				t.Fatalf("sequence number %q", seq)
			}
			shard := aws.ToString(r.ShardId)
			if prev := last[shard]; prev != nil && n.Cmp(prev) <= 0 {
				t.Errorf("shard %s: %s after %s", shard, n, prev)
			}
			last[shard] = n
		}
	}
}

func TestGetRecordsReadsBackWhatWasPut(t *testing.T) {
	srv := startServer(t, kinesistest.Options{Streams: map[string]int{"s": 2}})
	client := newClient(srv)
	ctx := testContext(t)
	entries := putEntries(30, "k")
	out, err := client.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("s"), Records: entries})
	if err != nil {
		t.Fatalf("PutRecords: %v", err)
	}
	wantByShard := map[string][]string{}
	for i, r := range out.Records {
		wantByShard[aws.ToString(r.ShardId)] = append(wantByShard[aws.ToString(r.ShardId)],
			aws.ToString(r.SequenceNumber)+"|"+aws.ToString(entries[i].PartitionKey)+"|"+string(entries[i].Data))
	}
	for _, shard := range []string{"shardId-000000000000", "shardId-000000000001"} {
		var got []string
		for _, r := range readShard(t, client, "s", shard) {
			got = append(got, aws.ToString(r.SequenceNumber)+"|"+aws.ToString(r.PartitionKey)+"|"+string(r.Data))
			if r.ApproximateArrivalTimestamp == nil || time.Since(*r.ApproximateArrivalTimestamp) > time.Minute {
				t.Errorf("arrival timestamp %v", r.ApproximateArrivalTimestamp)
			}
		}
		if strings.Join(got, "\n") != strings.Join(wantByShard[shard], "\n") {
			t.Errorf("shard %s read\n%s\nwant\n%s", shard, strings.Join(got, "\n"), strings.Join(wantByShard[shard], "\n"))
		}
	}
}

func TestGetRecordsLimitAndMillisBehindLatest(t *testing.T) {
	clock := newFakeClock()
	srv := startServer(t, kinesistest.Options{Streams: map[string]int{"s": 1}, Now: clock.Now})
	client := newClient(srv)
	ctx := testContext(t)
	if _, err := client.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("s"), Records: putEntries(5, "k")}); err != nil {
		t.Fatalf("PutRecords: %v", err)
	}
	clock.Advance(3 * time.Second)
	it, err := client.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{
		StreamName: aws.String("s"), ShardId: aws.String("shardId-000000000000"), ShardIteratorType: types.ShardIteratorTypeTrimHorizon,
	})
	if err != nil {
		t.Fatalf("GetShardIterator: %v", err)
	}
	first, err := client.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: it.ShardIterator, Limit: aws.Int32(2)})
	if err != nil {
		t.Fatalf("GetRecords: %v", err)
	}
	if len(first.Records) != 2 || aws.ToInt64(first.MillisBehindLatest) != 3000 || first.NextShardIterator == nil {
		t.Fatalf("first batch: %d records, behind %d", len(first.Records), aws.ToInt64(first.MillisBehindLatest))
	}
	rest, err := client.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: first.NextShardIterator})
	if err != nil {
		t.Fatalf("GetRecords: %v", err)
	}
	if len(rest.Records) != 3 || aws.ToInt64(rest.MillisBehindLatest) != 0 || rest.NextShardIterator == nil {
		t.Fatalf("rest: %d records, behind %d", len(rest.Records), aws.ToInt64(rest.MillisBehindLatest))
	}

	clock.Advance(6 * time.Minute)
	_, err = client.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: rest.NextShardIterator})
	asError[*types.ExpiredIteratorException](t, err)
}

func TestShardIteratorTypes(t *testing.T) {
	srv := startServer(t, kinesistest.Options{Streams: map[string]int{"s": 1}})
	client := newClient(srv)
	ctx := testContext(t)
	put, err := client.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("s"), Records: putEntries(4, "k")})
	if err != nil {
		t.Fatalf("PutRecords: %v", err)
	}
	seq := func(i int) *string { return put.Records[i].SequenceNumber }

	firstRead := func(iteratorType types.ShardIteratorType, start *string) []types.Record {
		t.Helper()
		it, err := client.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{
			StreamName: aws.String("s"), ShardId: aws.String("shardId-000000000000"),
			ShardIteratorType: iteratorType, StartingSequenceNumber: start,
		})
		if err != nil {
			t.Fatalf("GetShardIterator %s: %v", iteratorType, err)
		}
		out, err := client.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: it.ShardIterator})
		if err != nil {
			t.Fatalf("GetRecords: %v", err)
		}
		return out.Records
	}
	if got := firstRead(types.ShardIteratorTypeTrimHorizon, nil); len(got) != 4 {
		t.Errorf("TRIM_HORIZON read %d", len(got))
	}
	if got := firstRead(types.ShardIteratorTypeAtSequenceNumber, seq(1)); len(got) != 3 || aws.ToString(got[0].SequenceNumber) != aws.ToString(seq(1)) {
		t.Errorf("AT_SEQUENCE_NUMBER read %d", len(got))
	}
	if got := firstRead(types.ShardIteratorTypeAfterSequenceNumber, seq(1)); len(got) != 2 || aws.ToString(got[0].SequenceNumber) != aws.ToString(seq(2)) {
		t.Errorf("AFTER_SEQUENCE_NUMBER read %d", len(got))
	}

	latest, err := client.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{
		StreamName: aws.String("s"), ShardId: aws.String("shardId-000000000000"), ShardIteratorType: types.ShardIteratorTypeLatest,
	})
	if err != nil {
		t.Fatalf("GetShardIterator LATEST: %v", err)
	}
	if _, err := client.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("s"), PartitionKey: aws.String("new"), Data: []byte("new")}); err != nil {
		t.Fatalf("PutRecord: %v", err)
	}
	out, err := client.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: latest.ShardIterator})
	if err != nil || len(out.Records) != 1 || string(out.Records[0].Data) != "new" {
		t.Errorf("LATEST read %v, %v", out, err)
	}

	_, err = client.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{
		StreamName: aws.String("s"), ShardId: aws.String("shardId-000000000000"),
		ShardIteratorType: types.ShardIteratorTypeAtSequenceNumber, StartingSequenceNumber: aws.String("12345"),
	})
	asError[*types.InvalidArgumentException](t, err)
	_, err = client.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{
		StreamName: aws.String("s"), ShardId: aws.String("shardId-000000000009"), ShardIteratorType: types.ShardIteratorTypeLatest,
	})
	asError[*types.ResourceNotFoundException](t, err)
}

func TestDiscardKeepsOnlyCounts(t *testing.T) {
	srv := startServer(t, kinesistest.Options{Streams: map[string]int{"s": 2}, Discard: true})
	client := newClient(srv)
	ctx := testContext(t)
	out, err := client.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("s"), Records: putEntries(10, "k")})
	if err != nil || len(out.Records) != 10 || aws.ToString(out.Records[0].SequenceNumber) == "" {
		t.Fatalf("PutRecords: %v, %+v", err, out)
	}
	if got := srv.Records("s"); len(got) != 0 {
		t.Errorf("Records returned %d records", len(got))
	}
	stats := srv.Stats("s")
	if stats.Records != 10 || stats.ShardRecords["shardId-000000000000"]+stats.ShardRecords["shardId-000000000001"] != 10 || stats.Bytes == 0 {
		t.Errorf("stats = %+v", stats)
	}
	if got := readShard(t, client, "s", "shardId-000000000000"); len(got) != 0 {
		t.Errorf("read %d discarded records", len(got))
	}
}

func TestAtTimestampIterator(t *testing.T) {
	clock := newFakeClock()
	srv := startServer(t, kinesistest.Options{Streams: map[string]int{"s": 1}, Now: clock.Now})
	client := newClient(srv)
	ctx := testContext(t)
	if _, err := client.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("s"), Records: putEntries(2, "early")}); err != nil {
		t.Fatalf("PutRecords: %v", err)
	}
	clock.Advance(time.Minute)
	since := clock.Now()
	if _, err := client.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("s"), Records: putEntries(3, "late")}); err != nil {
		t.Fatalf("PutRecords: %v", err)
	}
	it, err := client.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{
		StreamName: aws.String("s"), ShardId: aws.String("shardId-000000000000"),
		ShardIteratorType: types.ShardIteratorTypeAtTimestamp, Timestamp: aws.Time(since),
	})
	if err != nil {
		t.Fatalf("GetShardIterator: %v", err)
	}
	out, err := client.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: it.ShardIterator})
	if err != nil || len(out.Records) != 3 || !strings.HasPrefix(aws.ToString(out.Records[0].PartitionKey), "late") {
		t.Fatalf("AT_TIMESTAMP read %v, %v", out, err)
	}
	if !out.Records[0].ApproximateArrivalTimestamp.Equal(since) {
		t.Errorf("arrival %v, want %v", out.Records[0].ApproximateArrivalTimestamp, since)
	}
}
