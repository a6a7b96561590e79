package kinesistest_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go"

	"github.com/gokpl/gokpl/core/kinesistest"
)

func putOne(ctx context.Context, client *kinesis.Client, key string) (*kinesis.PutRecordsOutput, error) {
	return client.PutRecords(ctx, &kinesis.PutRecordsInput{
		StreamName: aws.String("s"),
		Records:    []types.PutRecordsRequestEntry{{Data: []byte(key), PartitionKey: aws.String(key)}},
	})
}

func TestScriptedThrottleIsTypedErrorAndOneShot(t *testing.T) {
	srv := startServer(t, kinesistest.Options{Streams: map[string]int{"s": 1}})
	client := newClient(srv)
	ctx := testContext(t)

	srv.InjectFault("ListShards", kinesistest.ErrorFault(http.StatusInternalServerError, "", ""))
	srv.InjectFault("PutRecords", kinesistest.ErrorFault(http.StatusBadRequest, kinesistest.ErrorTypeProvisionedThroughputExceeded, ""))
	_, err := putOne(ctx, client, "a")
	asError[*types.ProvisionedThroughputExceededException](t, err)
	if srv.Stats("s").Records != 0 {
		t.Error("throttled request was stored")
	}
	if _, err := putOne(ctx, client, "b"); err != nil {
		t.Errorf("second PutRecords: %v", err)
	}
	if srv.PendingFaults() != 1 || srv.Requests("PutRecords") != 2 {
		t.Errorf("pending %d, requests %d", srv.PendingFaults(), srv.Requests("PutRecords"))
	}
	srv.ClearFaults()
	if srv.PendingFaults() != 0 {
		t.Error("ClearFaults left faults")
	}
}

func TestInjectedErrorStatusesAndTypes(t *testing.T) {
	srv := startServer(t, kinesistest.Options{Streams: map[string]int{"s": 1}})
	client := newClient(srv)
	ctx := testContext(t)
	tests := []struct {
		fault      kinesistest.Fault
		wantStatus int
		wantCode   string
	}{
		{kinesistest.ErrorFault(http.StatusInternalServerError, "", ""), 500, "InternalFailure"},
		{kinesistest.ErrorFault(http.StatusServiceUnavailable, "", ""), 503, "ServiceUnavailable"},
		{kinesistest.ErrorFault(http.StatusBadRequest, kinesistest.ErrorTypeExpiredToken, ""), 400, "ExpiredTokenException"},
		{kinesistest.ErrorFault(http.StatusBadRequest, kinesistest.ErrorTypeKMSThrottling, "slow down"), 400, "KMSThrottlingException"},
	}
	for _, tt := range tests {
		srv.InjectFault("", tt.fault)
		_, err := putOne(ctx, client, "k")
		apiErr := asError[smithy.APIError](t, err)
		respErr := asError[*awshttp.ResponseError](t, err)
		if apiErr.ErrorCode() != tt.wantCode || respErr.HTTPStatusCode() != tt.wantStatus || respErr.RequestID == "" {
			t.Errorf("got %s %d, want %s %d", apiErr.ErrorCode(), respErr.HTTPStatusCode(), tt.wantCode, tt.wantStatus)
		}
	}
	if srv.Stats("s").Records != 0 {
		t.Error("faulted requests were stored")
	}
}

func TestSDKRetriesPastInjectedServerError(t *testing.T) {
	srv := startServer(t, kinesistest.Options{Streams: map[string]int{"s": 1}})
	client := newClient(srv, withFastRetries(3))
	srv.InjectFault("PutRecords", kinesistest.ErrorFault(http.StatusServiceUnavailable, "", ""))
	if _, err := putOne(testContext(t), client, "k"); err != nil {
		t.Fatalf("PutRecords: %v", err)
	}
	if srv.Requests("PutRecords") != 2 || srv.Stats("s").Records != 1 {
		t.Errorf("requests %d, records %d", srv.Requests("PutRecords"), srv.Stats("s").Records)
	}
}

func TestPerRecordFailures(t *testing.T) {
	srv := startServer(t, kinesistest.Options{Streams: map[string]int{"s": 1}})
	client := newClient(srv)
	ctx := testContext(t)
	srv.InjectFault("PutRecords", kinesistest.Fault{RecordFailures: []kinesistest.RecordFailure{
		{Index: 1},
		{Index: 3, ErrorCode: kinesistest.ErrorTypeInternalFailure},
	}})
	entries := putEntries(5, "k")
	out, err := client.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("s"), Records: entries})
	if err != nil {
		t.Fatalf("PutRecords: %v", err)
	}
	if aws.ToInt32(out.FailedRecordCount) != 2 {
		t.Errorf("FailedRecordCount = %d", aws.ToInt32(out.FailedRecordCount))
	}
	r := out.Records
	if aws.ToString(r[1].ErrorCode) != "ProvisionedThroughputExceededException" || !strings.Contains(aws.ToString(r[1].ErrorMessage), "shardId-000000000000") ||
		aws.ToString(r[3].ErrorCode) != "InternalFailure" || r[1].SequenceNumber != nil || r[0].ErrorCode != nil {
		t.Errorf("results %+v", r)
	}
	stored := srv.Records("s")
	if len(stored) != 3 || stored[0].PartitionKey != aws.ToString(entries[0].PartitionKey) ||
		stored[1].PartitionKey != aws.ToString(entries[2].PartitionKey) || stored[2].PartitionKey != aws.ToString(entries[4].PartitionKey) {
		t.Errorf("stored %+v", stored)
	}

	srv.InjectFault("PutRecord", kinesistest.Fault{RecordFailures: []kinesistest.RecordFailure{{Index: 0}}})
	_, err = client.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("s"), PartitionKey: aws.String("k"), Data: []byte("v")})
	asError[*types.ProvisionedThroughputExceededException](t, err)
}

func TestResponseRecordCountMismatch(t *testing.T) {
	srv := startServer(t, kinesistest.Options{Streams: map[string]int{"s": 1}})
	client := newClient(srv)
	ctx := testContext(t)
	for _, delta := range []int{-2, 1} {
		srv.InjectFault("PutRecords", kinesistest.Fault{ResponseRecordsDelta: delta})
		out, err := client.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("s"), Records: putEntries(3, "k")})
		if err != nil {
			t.Fatalf("PutRecords: %v", err)
		}
		if len(out.Records) != 3+delta {
			t.Errorf("delta %d: %d response entries", delta, len(out.Records))
		}
	}
	if got := srv.Stats("s").Records; got != 6 {
		t.Errorf("stored %d records, want 6", got)
	}
}

func TestAddedLatency(t *testing.T) {
	srv := startServer(t, kinesistest.Options{Streams: map[string]int{"s": 1}})
	client := newClient(srv)
	srv.InjectFault("PutRecords", kinesistest.Fault{Delay: 150 * time.Millisecond})
	start := time.Now()
	if _, err := putOne(testContext(t), client, "k"); err != nil {
		t.Fatalf("PutRecords: %v", err)
	}
	if elapsed := time.Since(start); elapsed < 150*time.Millisecond {
		t.Errorf("request took %v", elapsed)
	}
}

// TestTimeoutsAndResetsAppliedOrNot checks that a lost response stores the
// records only when the fault says the service applied them.
func TestTimeoutsAndResetsAppliedOrNot(t *testing.T) {
	tests := []struct {
		name        string
		fault       kinesistest.Fault
		timeout     time.Duration
		wantApplied bool
	}{
		{"delay past client timeout", kinesistest.Fault{Delay: 2 * time.Second}, 100 * time.Millisecond, false},
		{"applied, then delay past client timeout", kinesistest.Fault{Delay: 2 * time.Second, Applied: true}, 100 * time.Millisecond, true},
		{"reset", kinesistest.Fault{ResetConnection: true}, time.Second, false},
		{"applied, then reset", kinesistest.Fault{ResetConnection: true, Applied: true}, time.Second, true},
		{"applied, then server error", kinesistest.Fault{StatusCode: 500, Applied: true}, time.Second, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startServer(t, kinesistest.Options{Streams: map[string]int{"s": 1}})
			client := newClient(srv)
			srv.InjectFault("PutRecords", tt.fault)
			ctx, cancel := context.WithTimeout(context.Background(), tt.timeout)
			defer cancel()
			_, err := putOne(ctx, client, "k")
			if err == nil {
				t.Fatal("PutRecords succeeded")
			}
			var apiErr smithy.APIError
			if tt.fault.StatusCode == 0 && errors.As(err, &apiErr) {
				t.Errorf("lost response surfaced as API error %v", err)
			}
			if tt.fault.ResetConnection && !errors.Is(err, syscall.ECONNRESET) {
				t.Errorf("reset surfaced as %v", err)
			}
			srv.Close() // waits for the handler, which may still be applying
			if applied := srv.Stats("s").Records == 1; applied != tt.wantApplied {
				t.Errorf("applied = %v, want %v (error %v)", applied, tt.wantApplied, err)
			}
		})
	}
}

func TestFaultFuncSeesRequestAndAttempt(t *testing.T) {
	srv := startServer(t, kinesistest.Options{Streams: map[string]int{"s": 1}})
	client := newClient(srv, withFastRetries(3))
	var mu sync.Mutex
	var seen []string
	srv.SetFaultFunc(func(req *kinesistest.Request) *kinesistest.Fault {
		mu.Lock()
		defer mu.Unlock()
		if req.Operation != "PutRecords" {
			return nil
		}
		seen = append(seen, req.StreamName+"/"+req.Records[0].PartitionKey+"/"+req.Header.Get("Amz-Sdk-Request"))
		if strings.HasPrefix(req.Header.Get("Amz-Sdk-Request"), "attempt=1;") {
			return &kinesistest.Fault{StatusCode: http.StatusInternalServerError}
		}
		return nil
	})
	if _, err := putOne(testContext(t), client, "pk"); err != nil {
		t.Fatalf("PutRecords: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 2 || !strings.HasPrefix(seen[0], "s/pk/attempt=1") || !strings.HasPrefix(seen[1], "s/pk/attempt=2") {
		t.Errorf("fault rule saw %v", seen)
	}
	if srv.Stats("s").Records != 1 {
		t.Errorf("stored %d records", srv.Stats("s").Records)
	}
}

func TestShardRateLimit(t *testing.T) {
	clock := newFakeClock()
	srv := startServer(t, kinesistest.Options{
		Streams:        map[string]int{"s": 1},
		ShardRateLimit: kinesistest.ShardRateLimit{RecordsPerSecond: 10, BytesPerSecond: 1000},
		Now:            clock.Now,
	})
	client := newClient(srv)
	ctx := testContext(t)

	out, err := client.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("s"), Records: putEntries(15, "k")})
	if err != nil {
		t.Fatalf("PutRecords: %v", err)
	}
	if aws.ToInt32(out.FailedRecordCount) != 5 || out.Records[9].ErrorCode != nil ||
		aws.ToString(out.Records[10].ErrorCode) != "ProvisionedThroughputExceededException" {
		t.Errorf("failed %d, results %+v", aws.ToInt32(out.FailedRecordCount), out.Records[9:11])
	}
	_, err = client.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("s"), PartitionKey: aws.String("k"), Data: []byte("v")})
	asError[*types.ProvisionedThroughputExceededException](t, err)

	clock.Advance(time.Second)
	big := []types.PutRecordsRequestEntry{
		{Data: make([]byte, 600), PartitionKey: aws.String("a")},
		{Data: make([]byte, 600), PartitionKey: aws.String("b")},
	}
	out, err = client.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("s"), Records: big})
	if err != nil {
		t.Fatalf("PutRecords: %v", err)
	}
	if out.Records[0].ErrorCode != nil || aws.ToString(out.Records[1].ErrorCode) != "ProvisionedThroughputExceededException" {
		t.Errorf("byte limit results %+v", out.Records)
	}
	if got := srv.Stats("s").Records; got != 11 {
		t.Errorf("stored %d records, want 11", got)
	}
}

func TestScheduledFaultAppliesTimesInOrder(t *testing.T) {
	srv := startServer(t, kinesistest.Options{Streams: map[string]int{"s": 1}})
	client := newClient(srv)
	ctx := testContext(t)
	srv.ScheduleFault("PutRecords", kinesistest.ErrorFault(http.StatusInternalServerError, "", ""), kinesistest.FaultSchedule{Times: 2})
	srv.InjectFault("PutRecords", kinesistest.ErrorFault(http.StatusServiceUnavailable, "", ""))
	if srv.PendingFaults() != 3 {
		t.Errorf("pending %d, want 3", srv.PendingFaults())
	}
	for _, want := range []string{"InternalFailure", "InternalFailure", "ServiceUnavailable"} {
		_, err := putOne(ctx, client, "k")
		if got := asError[smithy.APIError](t, err).ErrorCode(); got != want {
			t.Errorf("error %s, want %s", got, want)
		}
	}
	if _, err := putOne(ctx, client, "k"); err != nil || srv.PendingFaults() != 0 {
		t.Errorf("fourth PutRecords: %v, pending %d", err, srv.PendingFaults())
	}
}

func TestStandingFaultUntilCleared(t *testing.T) {
	srv := startServer(t, kinesistest.Options{Streams: map[string]int{"s": 1}})
	client := newClient(srv)
	ctx := testContext(t)
	srv.ScheduleFault("PutRecords", kinesistest.ErrorFault(http.StatusServiceUnavailable, "", ""), kinesistest.FaultSchedule{Times: -1})
	srv.InjectFault("PutRecords", kinesistest.ErrorFault(http.StatusInternalServerError, "", ""))
	for _, want := range []string{"InternalFailure", "ServiceUnavailable", "ServiceUnavailable"} {
		_, err := putOne(ctx, client, "k")
		if got := asError[smithy.APIError](t, err).ErrorCode(); got != want {
			t.Errorf("error %s, want %s", got, want)
		}
	}
	if _, err := client.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String("s")}); err != nil {
		t.Errorf("ListShards under a PutRecords fault: %v", err)
	}
	if srv.PendingFaults() != 0 {
		t.Errorf("standing fault counted as pending")
	}
	srv.ClearFaults()
	if _, err := putOne(ctx, client, "k"); err != nil {
		t.Errorf("after ClearFaults: %v", err)
	}
}

// TestEntryFailureRateSpreadsAcrossRequests checks that a rate fails its
// fraction of entries evenly, counting across requests, and only on the
// operations that write entries.
func TestEntryFailureRateSpreadsAcrossRequests(t *testing.T) {
	srv := startServer(t, kinesistest.Options{Streams: map[string]int{"s": 1}})
	client := newClient(srv)
	ctx := testContext(t)
	srv.ScheduleFault("", kinesistest.Fault{}, kinesistest.FaultSchedule{Times: -1, EntryFailureRate: 0.5})
	if _, err := client.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String("s")}); err != nil {
		t.Fatalf("ListShards: %v", err)
	}
	var failed []bool
	for range 4 {
		out, err := putOne(ctx, client, "k")
		if err != nil {
			t.Fatalf("PutRecords: %v", err)
		}
		failed = append(failed, aws.ToString(out.Records[0].ErrorCode) == "ProvisionedThroughputExceededException")
	}
	out, err := client.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("s"), Records: putEntries(6, "k")})
	if err != nil {
		t.Fatalf("PutRecords: %v", err)
	}
	for _, r := range out.Records {
		failed = append(failed, r.ErrorCode != nil)
	}
	for i, f := range failed {
		if f != (i%2 == 0) {
			t.Fatalf("entry failures %v, want every second one from the first", failed)
		}
	}
	if got := srv.Stats("s").Records; got != 5 {
		t.Errorf("stored %d records, want 5", got)
	}

	srv.ClearFaults()
	srv.ScheduleFault("PutRecords", kinesistest.Fault{}, kinesistest.FaultSchedule{
		EntryFailureRate: 1, EntryErrorCode: kinesistest.ErrorTypeInternalFailure,
	})
	out, err = client.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("s"), Records: putEntries(3, "k")})
	if err != nil || aws.ToInt32(out.FailedRecordCount) != 3 || aws.ToString(out.Records[2].ErrorCode) != "InternalFailure" {
		t.Fatalf("PutRecords at rate 1: %v, %+v", err, out)
	}
	if out, err := putOne(ctx, client, "k"); err != nil || aws.ToInt32(out.FailedRecordCount) != 0 {
		t.Errorf("one-shot rate fault applied twice: %v", err)
	}
}
