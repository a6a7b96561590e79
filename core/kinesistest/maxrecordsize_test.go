package kinesistest_test

import (
	"net/http"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/gokpl/gokpl/core/kinesistest"
)

// summaryMaxRecordSize returns what DescribeStreamSummary reports of a
// stream's maximum record size.
func summaryMaxRecordSize(t *testing.T, client *kinesis.Client, stream string) int32 {
	t.Helper()
	out, err := client.DescribeStreamSummary(testContext(t), &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(stream)})
	if err != nil {
		t.Fatalf("DescribeStreamSummary %s: %v", stream, err)
	}
	return aws.ToInt32(out.StreamDescriptionSummary.MaxRecordSizeInKiB)
}

func TestStreamMaxRecordSizeFromOptions(t *testing.T) {
	srv := startServer(t, kinesistest.Options{
		Streams:                map[string]int{"big": 2, "small": 1},
		StreamMaxRecordSizeKiB: map[string]int{"big": 10240},
	})
	client := newClient(srv)
	if got := summaryMaxRecordSize(t, client, "big"); got != 10240 {
		t.Errorf("big: MaxRecordSizeInKiB %d, want 10240", got)
	}
	if got := summaryMaxRecordSize(t, client, "small"); got != 1024 {
		t.Errorf("small: MaxRecordSizeInKiB %d, want the default 1024", got)
	}
	if err := putRecords(t, client, "big", entry("k", 10*mib-1)); err != nil {
		t.Errorf("10 MiB record on a 10240 KiB stream: %v", err)
	}
	rejected[*types.ValidationException](t, putRecords(t, client, "small", entry("k", 2*mib)))
	wantStored(t, srv, "big", 1)
	wantStored(t, srv, "small", 0)
}

func TestStartRejectsBadMaxRecordSizeOptions(t *testing.T) {
	for name, opts := range map[string]kinesistest.Options{
		"below range":    {Streams: map[string]int{"s": 1}, StreamMaxRecordSizeKiB: map[string]int{"s": 1023}},
		"above range":    {Streams: map[string]int{"s": 1}, StreamMaxRecordSizeKiB: map[string]int{"s": 10241}},
		"unknown stream": {Streams: map[string]int{"s": 1}, StreamMaxRecordSizeKiB: map[string]int{"t": 2048}},
	} {
		if srv, err := kinesistest.Start(opts); err == nil {
			srv.Close()
			t.Errorf("%s: Start accepted %v", name, opts.StreamMaxRecordSizeKiB)
		}
	}
}

func TestCreateStreamTakesMaxRecordSize(t *testing.T) {
	srv := startServer(t, kinesistest.Options{})
	client := newClient(srv)
	ctx := testContext(t)

	_, err := client.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("api"), ShardCount: aws.Int32(1), MaxRecordSizeInKiB: aws.Int32(2048)})
	if err != nil {
		t.Fatalf("CreateStream: %v", err)
	}
	if got := summaryMaxRecordSize(t, client, "api"); got != 2048 {
		t.Errorf("MaxRecordSizeInKiB %d, want 2048", got)
	}
	for _, bad := range []int32{1023, 10241} {
		_, err := client.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("bad"), ShardCount: aws.Int32(1), MaxRecordSizeInKiB: aws.Int32(bad)})
		wantMessage(t, rejected[*types.ValidationException](t, err), "'maxRecordSizeInKiB'")
	}

	if err := srv.CreateStream("direct", 1, kinesistest.WithMaxRecordSizeKiB(4096)); err != nil {
		t.Fatalf("Server.CreateStream: %v", err)
	}
	if got := summaryMaxRecordSize(t, client, "direct"); got != 4096 {
		t.Errorf("MaxRecordSizeInKiB %d, want 4096", got)
	}
	if err := srv.CreateStream("bad", 1, kinesistest.WithMaxRecordSizeKiB(20000)); err == nil {
		t.Error("Server.CreateStream accepted 20000 KiB")
	}

	var answer struct{ Message string }
	body := map[string]any{"StreamName": "control", "ShardCount": 1, "MaxRecordSizeInKiB": 3072}
	if status := control(t, http.MethodPost, srv.URL+kinesistest.ControlPathPrefix+"streams", body, &answer); status != http.StatusOK {
		t.Fatalf("control API: status %d, %s", status, answer.Message)
	}
	if got := summaryMaxRecordSize(t, client, "control"); got != 3072 {
		t.Errorf("MaxRecordSizeInKiB %d, want 3072", got)
	}
	http.DefaultClient.CloseIdleConnections()
}

func TestUpdateMaxRecordSizeAppliesToLaterWrites(t *testing.T) {
	srv := startServer(t, kinesistest.Options{Streams: map[string]int{"s": 1}})
	client := newClient(srv)
	ctx := testContext(t)
	arn := aws.String(srv.StreamARN("s"))

	rejected[*types.ValidationException](t, putRecords(t, client, "s", entry("k", 2*mib)))
	if _, err := client.UpdateMaxRecordSize(ctx, &kinesis.UpdateMaxRecordSizeInput{StreamARN: arn, MaxRecordSizeInKiB: aws.Int32(3072)}); err != nil {
		t.Fatalf("UpdateMaxRecordSize: %v", err)
	}
	if err := putRecords(t, client, "s", entry("k", 2*mib)); err != nil {
		t.Errorf("2 MiB after raising the maximum to 3 MiB: %v", err)
	}
	if err := srv.UpdateMaxRecordSize("s", 1024); err != nil {
		t.Fatalf("Server.UpdateMaxRecordSize: %v", err)
	}
	rejected[*types.ValidationException](t, putRecords(t, client, "s", entry("k", 2*mib)))
	wantStored(t, srv, "s", 1)

	for _, bad := range []int32{0, 1023, 10241} {
		_, err := client.UpdateMaxRecordSize(ctx, &kinesis.UpdateMaxRecordSizeInput{StreamARN: arn, MaxRecordSizeInKiB: aws.Int32(bad)})
		wantMessage(t, rejected[*types.ValidationException](t, err), "'maxRecordSizeInKiB'")
	}
	_, err := client.UpdateMaxRecordSize(ctx, &kinesis.UpdateMaxRecordSizeInput{StreamARN: aws.String(srv.StreamARN("missing")), MaxRecordSizeInKiB: aws.Int32(2048)})
	rejected[*types.ResourceNotFoundException](t, err)
	if got := summaryMaxRecordSize(t, client, "s"); got != 1024 {
		t.Errorf("MaxRecordSizeInKiB %d after rejected updates, want 1024", got)
	}
}

func TestUpdateMaxRecordSizeDuringWrites(t *testing.T) {
	srv := startServer(t, kinesistest.Options{Streams: map[string]int{"s": 1}})
	client := newClient(srv)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range 20 {
			_ = srv.UpdateMaxRecordSize("s", 1024+i%2*1024)
		}
	}()
	for range 20 {
		if err := putRecords(t, client, "s", entry("k", 1000)); err != nil {
			t.Errorf("small record while the maximum changes: %v", err)
		}
	}
	wg.Wait()
}
