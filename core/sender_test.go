package core

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// The sender's request carries each Kinesis record's data, partition key and
// explicit hash key, entry by entry, and the request's stream.
func TestSenderRequestCarriesEveryEntry(t *testing.T) {
	var got *kinesis.PutRecordsInput
	s := testSender(answerClient{seen: &got})
	r := testPutRequest(3)
	s.do(r)
	if r.err != nil {
		t.Fatal(r.err)
	}
	if got == nil || got.StreamName == nil || *got.StreamName != "s" || len(got.Records) != 3 {
		t.Fatalf("request %+v", got)
	}
	for i, e := range got.Records {
		k := r.records[i]
		if *e.PartitionKey != k.partitionKey || *e.ExplicitHashKey != k.explicitHashKey || string(e.Data) != string(k.data) {
			t.Errorf("entry %d: %q %q %q, want %q %q %q", i, *e.PartitionKey, *e.ExplicitHashKey, e.Data, k.partitionKey, k.explicitHashKey, k.data)
		}
	}
}

// BenchmarkSenderRequest sends a full request of 500 raw records through a
// client that answers at once: what the sender adds per request around the
// client's call.
func BenchmarkSenderRequest(b *testing.B) {
	s := testSender(answerClient{})
	r := testPutRequest(500)
	b.ReportAllocs()
	for b.Loop() {
		s.do(r)
	}
}

// testSender is a sender of client without workers, to call do on.
func testSender(client Client) *sender {
	return &sender{client: client, timeout: time.Minute, ctx: context.Background(), budget: newBudget(1<<20, 1<<40)}
}

// testPutRequest is a request of n raw records of 200 bytes to stream "s".
func testPutRequest(n int) *putRequest {
	r := &putRequest{stream: streamID{key: "s", name: "s"}}
	for i := range n {
		u := &userRecord{PartitionKey: fmt.Sprintf("key-%012d", i), Data: []byte(fmt.Sprintf("%0200d", i))}
		u.hash = HashKey{Lo: uint64(i)}
		r.records = append(r.records, singleKinesisRecord([]*userRecord{u}))
	}
	return r
}

// answerClient answers every PutRecords at once with one success per entry,
// keeping the input in *seen when seen is set.
type answerClient struct{ seen **kinesis.PutRecordsInput }

func (c answerClient) PutRecords(_ context.Context, in *kinesis.PutRecordsInput, _ ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error) {
	if c.seen != nil {
		*c.seen = in
	}
	return &kinesis.PutRecordsOutput{Records: make([]types.PutRecordsResultEntry, len(in.Records))}, nil
}

func (answerClient) ListShards(context.Context, *kinesis.ListShardsInput, ...func(*kinesis.Options)) (*kinesis.ListShardsOutput, error) {
	return &kinesis.ListShardsOutput{}, nil
}
