package kinesistest_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/gokpl/gokpl/core/kinesistest"
)

// control calls the control API and decodes its answer into out.
func control(t *testing.T, method, url string, body any, out any) int {
	t.Helper()
	var payload bytes.Buffer
	if body != nil {
		if err := json.NewEncoder(&payload).Encode(body); err != nil {
			t.Fatal(err)
		}
	}
	req, err := http.NewRequest(method, url, &payload)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatalf("%s %s: decoding answer: %v", method, url, err)
		}
	}
	return resp.StatusCode
}

func TestControlAPI(t *testing.T) {
	srv := startServer(t, kinesistest.Options{Streams: map[string]int{"s": 2}})
	defer http.DefaultClient.CloseIdleConnections()
	client := newClient(srv)
	ctx := testContext(t)
	base := srv.URL + kinesistest.ControlPathPrefix

	fault := kinesistest.ControlFault{Operation: "PutRecords", RecordFailures: []kinesistest.RecordFailure{{Index: 0}}}
	if status := control(t, http.MethodPost, base+"faults", fault, nil); status != http.StatusOK {
		t.Fatalf("inject: status %d", status)
	}
	out, err := client.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("s"), Records: putEntries(2, "k")})
	if err != nil || aws.ToInt32(out.FailedRecordCount) != 1 {
		t.Fatalf("PutRecords: %v, %+v", err, out)
	}

	var records struct{ Records []kinesistest.StoredRecord }
	control(t, http.MethodGet, base+"streams/s/records", nil, &records)
	if len(records.Records) != 1 || string(records.Records[0].Data) != "data k-b-1" {
		t.Errorf("records = %+v", records)
	}
	var requests map[string]int
	control(t, http.MethodGet, base+"requests", nil, &requests)
	if requests["PutRecords"] != 1 {
		t.Errorf("requests = %v", requests)
	}
	var stats kinesistest.StreamStats
	control(t, http.MethodGet, base+"streams/s/stats", nil, &stats)
	if stats.Records != 1 {
		t.Errorf("stats = %+v", stats)
	}

	if status := control(t, http.MethodPost, base+"streams/s/split", map[string]string{"ShardId": "shardId-000000000000"}, nil); status != http.StatusOK {
		t.Errorf("split: status %d", status)
	}
	var shards struct{ Shards []kinesistest.ShardInfo }
	control(t, http.MethodGet, base+"streams/s/shards", nil, &shards)
	if len(shards.Shards) != 4 || shards.Shards[0].Open {
		t.Errorf("shards = %+v", shards)
	}
	if status := control(t, http.MethodPost, base+"streams/s/merge",
		map[string]string{"ShardId": "shardId-000000000002", "AdjacentShardId": "shardId-000000000003"}, nil); status != http.StatusOK {
		t.Errorf("merge: status %d", status)
	}

	control(t, http.MethodPost, base+"faults", kinesistest.ControlFault{StatusCode: 400, ErrorType: kinesistest.ErrorTypeProvisionedThroughputExceeded}, nil)
	control(t, http.MethodDelete, base+"faults", nil, nil)
	if srv.PendingFaults() != 0 {
		t.Error("faults left after DELETE")
	}
	control(t, http.MethodPost, base+"faults", kinesistest.ControlFault{StatusCode: 400, ErrorType: kinesistest.ErrorTypeProvisionedThroughputExceeded}, nil)
	_, err = client.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String("s")})
	asError[*types.ProvisionedThroughputExceededException](t, err)

	if status := control(t, http.MethodGet, base+"streams/missing/records", nil, nil); status != http.StatusNotFound {
		t.Errorf("missing stream: status %d", status)
	}
}

func TestControlAPIStreamsAndScheduledFaults(t *testing.T) {
	srv := startServer(t, kinesistest.Options{})
	defer http.DefaultClient.CloseIdleConnections()
	client := newClient(srv)
	ctx := testContext(t)
	base := srv.URL + kinesistest.ControlPathPrefix

	if status := control(t, http.MethodPost, base+"streams", map[string]any{"StreamName": "s", "ShardCount": 3}, nil); status != http.StatusOK {
		t.Fatalf("create: status %d", status)
	}
	if len(srv.Shards("s")) != 3 {
		t.Errorf("shards = %+v", srv.Shards("s"))
	}
	var answer struct{ Message string }
	if status := control(t, http.MethodPost, base+"streams", map[string]any{"StreamName": "s", "ShardCount": 1}, &answer); status != http.StatusBadRequest ||
		!strings.Contains(answer.Message, "ResourceInUseException") {
		t.Errorf("create twice: status %d, %+v", status, answer)
	}

	fault := kinesistest.ControlFault{Operation: "PutRecords", Times: -1, EntryFailureRate: 1, EntryErrorCode: kinesistest.ErrorTypeInternalFailure}
	control(t, http.MethodPost, base+"faults", fault, nil)
	for range 2 {
		out, err := client.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("s"), Records: putEntries(2, "k")})
		if err != nil || aws.ToInt32(out.FailedRecordCount) != 2 || aws.ToString(out.Records[0].ErrorCode) != "InternalFailure" {
			t.Fatalf("PutRecords: %v, %+v", err, out)
		}
	}
	if status := control(t, http.MethodPost, base+"faults", kinesistest.ControlFault{EntryFailureRate: 2}, nil); status != http.StatusBadRequest {
		t.Errorf("rate 2: status %d", status)
	}
	control(t, http.MethodDelete, base+"faults", nil, nil)

	if status := control(t, http.MethodDelete, base+"streams/s", nil, nil); status != http.StatusOK || len(srv.StreamNames()) != 0 {
		t.Errorf("delete: status %d, streams %v", status, srv.StreamNames())
	}
	if status := control(t, http.MethodDelete, base+"streams/s", nil, nil); status != http.StatusNotFound {
		t.Errorf("delete twice: status %d", status)
	}
}
