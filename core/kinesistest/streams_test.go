package kinesistest_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/gokpl/gokpl/core/kinesistest"
)

func TestCreateStreamSplitsHashKeySpaceEvenly(t *testing.T) {
	srv := startServer(t, kinesistest.Options{})
	client := newClient(srv)
	ctx := testContext(t)

	if _, err := client.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("orders"), ShardCount: aws.Int32(3)}); err != nil {
		t.Fatalf("CreateStream: %v", err)
	}
	summary, err := client.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String("orders")})
	if err != nil {
		t.Fatalf("DescribeStreamSummary: %v", err)
	}
	s := summary.StreamDescriptionSummary
	if s.StreamStatus != types.StreamStatusActive || aws.ToInt32(s.OpenShardCount) != 3 {
		t.Errorf("status %s, open shards %d", s.StreamStatus, aws.ToInt32(s.OpenShardCount))
	}
	if want := "arn:aws:kinesis:us-east-1:123456789012:stream/orders"; aws.ToString(s.StreamARN) != want {
		t.Errorf("ARN = %s, want %s", aws.ToString(s.StreamARN), want)
	}

	want := [][2]string{
		{"0", "113427455640312821154458202477256070484"},
		{"113427455640312821154458202477256070485", "226854911280625642308916404954512140969"},
		{"226854911280625642308916404954512140970", "340282366920938463463374607431768211455"},
	}
	shards := listAllShards(t, client, "orders")
	if len(shards) != len(want) {
		t.Fatalf("got %d shards", len(shards))
	}
	for i, sh := range shards {
		if id := aws.ToString(sh.ShardId); id != []string{"shardId-000000000000", "shardId-000000000001", "shardId-000000000002"}[i] {
			t.Errorf("shard %d id = %s", i, id)
		}
		got := [2]string{aws.ToString(sh.HashKeyRange.StartingHashKey), aws.ToString(sh.HashKeyRange.EndingHashKey)}
		if got != want[i] {
			t.Errorf("shard %d range = %v, want %v", i, got, want[i])
		}
		if len(aws.ToString(sh.SequenceNumberRange.StartingSequenceNumber)) != 56 || sh.SequenceNumberRange.EndingSequenceNumber != nil {
			t.Errorf("shard %d sequence range = %+v", i, sh.SequenceNumberRange)
		}
	}

	_, err = client.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("orders"), ShardCount: aws.Int32(1)})
	asError[*types.ResourceInUseException](t, err)
}

func TestListShardsPaginates(t *testing.T) {
	srv := startServer(t, kinesistest.Options{Streams: map[string]int{"s": 3}})
	client := newClient(srv)
	ctx := testContext(t)

	var ids []string
	input := &kinesis.ListShardsInput{StreamName: aws.String("s"), MaxResults: aws.Int32(1)}
	pages := 0
	for {
		out, err := client.ListShards(ctx, input)
		if err != nil {
			t.Fatalf("ListShards page %d: %v", pages, err)
		}
		pages++
		for _, sh := range out.Shards {
			ids = append(ids, aws.ToString(sh.ShardId))
		}
		if out.NextToken == nil {
			break
		}
		input = &kinesis.ListShardsInput{NextToken: out.NextToken, MaxResults: aws.Int32(1)}
	}
	if pages != 3 || strings.Join(ids, ",") != "shardId-000000000000,shardId-000000000001,shardId-000000000002" {
		t.Errorf("%d pages, shards %v", pages, ids)
	}
}

func TestListShardsRejectsNextTokenWithStreamName(t *testing.T) {
	srv := startServer(t, kinesistest.Options{Streams: map[string]int{"s": 2}})
	client := newClient(srv)
	ctx := testContext(t)
	first, err := client.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String("s"), MaxResults: aws.Int32(1)})
	if err != nil || first.NextToken == nil {
		t.Fatalf("ListShards: %v, token %v", err, first.NextToken)
	}
	_, err = client.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String("s"), NextToken: first.NextToken})
	asError[*types.InvalidArgumentException](t, err)
}

func TestListShardsExclusiveStartAndFilter(t *testing.T) {
	srv := startServer(t, kinesistest.Options{Streams: map[string]int{"s": 3}})
	client := newClient(srv)
	ctx := testContext(t)
	out, err := client.ListShards(ctx, &kinesis.ListShardsInput{
		StreamName:            aws.String("s"),
		ExclusiveStartShardId: aws.String("shardId-000000000000"),
	})
	if err != nil || len(out.Shards) != 2 || aws.ToString(out.Shards[0].ShardId) != "shardId-000000000001" {
		t.Fatalf("ListShards after shard 0: %v, %+v", err, out)
	}
	if err := srv.SplitShard("s", "shardId-000000000001", ""); err != nil {
		t.Fatalf("SplitShard: %v", err)
	}
	latest, err := client.ListShards(ctx, &kinesis.ListShardsInput{
		StreamName:  aws.String("s"),
		ShardFilter: &types.ShardFilter{Type: types.ShardFilterTypeAtLatest},
	})
	if err != nil {
		t.Fatalf("ListShards AT_LATEST: %v", err)
	}
	var ids []string
	for _, sh := range latest.Shards {
		ids = append(ids, aws.ToString(sh.ShardId))
	}
	if got := strings.Join(ids, ","); got != "shardId-000000000000,shardId-000000000002,shardId-000000000003,shardId-000000000004" {
		t.Errorf("AT_LATEST shards = %s", got)
	}
}

func TestListAndDeleteStreams(t *testing.T) {
	srv := startServer(t, kinesistest.Options{Streams: map[string]int{"b": 1, "a": 1, "c": 2}})
	client := newClient(srv)
	ctx := testContext(t)

	first, err := client.ListStreams(ctx, &kinesis.ListStreamsInput{Limit: aws.Int32(2)})
	if err != nil {
		t.Fatalf("ListStreams: %v", err)
	}
	if strings.Join(first.StreamNames, ",") != "a,b" || !aws.ToBool(first.HasMoreStreams) || first.NextToken == nil {
		t.Fatalf("first page = %v more=%v", first.StreamNames, aws.ToBool(first.HasMoreStreams))
	}
	second, err := client.ListStreams(ctx, &kinesis.ListStreamsInput{NextToken: first.NextToken})
	if err != nil || strings.Join(second.StreamNames, ",") != "c" || aws.ToBool(second.HasMoreStreams) {
		t.Fatalf("second page = %v, %v", second.StreamNames, err)
	}
	if len(second.StreamSummaries) != 1 || second.StreamSummaries[0].StreamStatus != types.StreamStatusActive {
		t.Errorf("summaries = %+v", second.StreamSummaries)
	}

	if _, err := client.DeleteStream(ctx, &kinesis.DeleteStreamInput{StreamName: aws.String("b")}); err != nil {
		t.Fatalf("DeleteStream: %v", err)
	}
	if got := strings.Join(srv.StreamNames(), ","); got != "a,c" {
		t.Errorf("streams after delete = %s", got)
	}
	_, err = client.DeleteStream(ctx, &kinesis.DeleteStreamInput{StreamName: aws.String("b")})
	asError[*types.ResourceNotFoundException](t, err)
}

func TestUnknownStreamIsResourceNotFound(t *testing.T) {
	srv := startServer(t, kinesistest.Options{})
	client := newClient(srv)
	ctx := testContext(t)

	_, err := client.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String("missing")})
	e := asError[*types.ResourceNotFoundException](t, err)
	if !strings.Contains(e.ErrorMessage(), "missing") {
		t.Errorf("message = %q", e.ErrorMessage())
	}
	_, err = client.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("missing"), Records: putEntries(1, "k")})
	asError[*types.ResourceNotFoundException](t, err)
	_, err = client.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String("missing")})
	asError[*types.ResourceNotFoundException](t, err)
}

func TestStreamARNAddressesStream(t *testing.T) {
	srv := startServer(t, kinesistest.Options{Streams: map[string]int{"s": 1}, Region: "eu-west-1", AccountID: "111122223333"})
	client := newClient(srv)
	ctx := testContext(t)
	arn := "arn:aws:kinesis:eu-west-1:111122223333:stream/s"
	out, err := client.PutRecord(ctx, &kinesis.PutRecordInput{StreamARN: aws.String(arn), PartitionKey: aws.String("k"), Data: []byte("v")})
	if err != nil || aws.ToString(out.ShardId) != "shardId-000000000000" {
		t.Fatalf("PutRecord by ARN: %v, %+v", err, out)
	}
	_, err = client.ListShards(ctx, &kinesis.ListShardsInput{StreamARN: aws.String("arn:aws:kinesis:eu-west-1:111122223333:stream/other")})
	asError[*types.ResourceNotFoundException](t, err)
}

func TestCreateDelayKeepsStreamCreating(t *testing.T) {
	clock := newFakeClock()
	srv := startServer(t, kinesistest.Options{CreateDelay: time.Minute, Now: clock.Now})
	client := newClient(srv)
	ctx := testContext(t)
	if _, err := client.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("s"), ShardCount: aws.Int32(1)}); err != nil {
		t.Fatalf("CreateStream: %v", err)
	}
	status := func() types.StreamStatus {
		out, err := client.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String("s")})
		if err != nil {
			t.Fatalf("DescribeStreamSummary: %v", err)
		}
		return out.StreamDescriptionSummary.StreamStatus
	}
	if got := status(); got != types.StreamStatusCreating {
		t.Errorf("status = %s, want CREATING", got)
	}
	_, err := client.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("s"), PartitionKey: aws.String("k"), Data: []byte("v")})
	asError[*types.ResourceNotFoundException](t, err)
	clock.Advance(time.Minute)
	if got := status(); got != types.StreamStatusActive {
		t.Errorf("status = %s, want ACTIVE", got)
	}
}

// post sends a raw AWS JSON request and returns the status, error type
// header and decoded body.
func post(t *testing.T, url, target, contentType, body string) (int, string, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url+"/", bytes.NewBufferString(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Amz-Target", target)
	req.Header.Set("Content-Type", contentType)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST: %v", err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var decoded map[string]any
	if err := json.Unmarshal(raw, &decoded); err != nil {
		t.Fatalf("response %q is not JSON: %v", raw, err)
	}
	return resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"), decoded
}

func TestRawProtocolErrors(t *testing.T) {
	srv := startServer(t, kinesistest.Options{Streams: map[string]int{"s": 1}})
	defer http.DefaultClient.CloseIdleConnections()
	const jsonType = "application/x-amz-json-1.1"
	tests := []struct {
		name, target, contentType, body, wantType string
	}{
		{"unknown operation", "Kinesis_20131202.Nope", jsonType, "{}", "UnknownOperationException"},
		{"malformed JSON", "Kinesis_20131202.PutRecord", jsonType, "{", "SerializationException"},
		{"CBOR", "Kinesis_20131202.PutRecord", "application/x-amz-cbor-1.1", "", "SerializationException"},
		{"no stream", "Kinesis_20131202.ListShards", jsonType, "{}", "InvalidArgumentException"},
		{"bad shard count", "Kinesis_20131202.CreateStream", jsonType, `{"StreamName":"x","ShardCount":0}`, "ValidationException"},
		{"bad stream name", "Kinesis_20131202.CreateStream", jsonType, `{"StreamName":"a b","ShardCount":1}`, "ValidationException"},
		{"empty partition key", "Kinesis_20131202.PutRecord", jsonType, `{"StreamName":"s","PartitionKey":"","Data":"AA=="}`, "ValidationException"},
		{"missing data", "Kinesis_20131202.PutRecord", jsonType, `{"StreamName":"s","PartitionKey":"k"}`, "ValidationException"},
		{"hash key too large", "Kinesis_20131202.PutRecord", jsonType, `{"StreamName":"s","PartitionKey":"k","Data":"AA==","ExplicitHashKey":"340282366920938463463374607431768211456"}`, "InvalidArgumentException"},
		{"no records", "Kinesis_20131202.PutRecords", jsonType, `{"StreamName":"s","Records":[]}`, "ValidationException"},
		{"bad iterator type", "Kinesis_20131202.GetShardIterator", jsonType, `{"StreamName":"s","ShardId":"shardId-000000000000","ShardIteratorType":"NOW"}`, "ValidationException"},
		{"bad iterator", "Kinesis_20131202.GetRecords", jsonType, `{"ShardIterator":"xyz"}`, "InvalidArgumentException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, header, body := post(t, srv.URL, tt.target, tt.contentType, tt.body)
			if status != http.StatusBadRequest || header != tt.wantType || body["__type"] != tt.wantType {
				t.Errorf("status %d, header %q, body %v; want 400 %s", status, header, body, tt.wantType)
			}
			if msg, _ := body["message"].(string); msg == "" {
				t.Errorf("no message in %v", body)
			}
		})
	}
}

// TestSDKSpeaksJSON11 pins the protocol the SDK uses for Kinesis; newer
// SDKs of some services moved to CBOR, which the server does not speak.
func TestSDKSpeaksJSON11(t *testing.T) {
	srv := startServer(t, kinesistest.Options{Streams: map[string]int{"s": 1}})
	contentTypes := make(chan string, 1)
	srv.SetFaultFunc(func(req *kinesistest.Request) *kinesistest.Fault {
		contentTypes <- req.Header.Get("Content-Type") + " " + req.Header.Get("X-Amz-Target")
		return nil
	})
	if _, err := newClient(srv).ListShards(testContext(t), &kinesis.ListShardsInput{StreamName: aws.String("s")}); err != nil {
		t.Fatalf("ListShards: %v", err)
	}
	if got := <-contentTypes; got != "application/x-amz-json-1.1 Kinesis_20131202.ListShards" {
		t.Errorf("SDK sent %q", got)
	}
}
