package kinesistest_test

import (
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/gokpl/gokpl/core/kinesistest"
)

// putWithKeys writes one small record per key in one PutRecords request.
func putWithKeys(t *testing.T, client *kinesis.Client, keys ...string) error {
	t.Helper()
	entries := make([]types.PutRecordsRequestEntry, len(keys))
	for i, key := range keys {
		entries[i] = entry(key, 1)
	}
	return putRecords(t, client, "s", entries...)
}

func TestFaultForPartitionKeyRejectsWholeRequest(t *testing.T) {
	srv := startServer(t, kinesistest.Options{Streams: map[string]int{"s": 1}})
	client := newClient(srv)
	srv.ScheduleFault("", kinesistest.ErrorFault(http.StatusBadRequest, kinesistest.ErrorTypeValidation, "poison"),
		kinesistest.FaultSchedule{Times: -1, PartitionKey: "poison"})

	if err := putWithKeys(t, client, "a", "b"); err != nil {
		t.Fatalf("request without the key: %v", err)
	}
	for range 2 {
		wantMessage(t, rejected[*types.ValidationException](t, putWithKeys(t, client, "a", "poison", "b")), "poison")
	}
	_, err := client.PutRecord(testContext(t), &kinesis.PutRecordInput{StreamName: aws.String("s"), PartitionKey: aws.String("poison"), Data: []byte("v")})
	rejected[*types.ValidationException](t, err)
	if _, err := client.ListShards(testContext(t), &kinesis.ListShardsInput{StreamName: aws.String("s")}); err != nil {
		t.Errorf("ListShards, which has no entries: %v", err)
	}
	wantStored(t, srv, "s", 2)
}

func TestScriptedFaultForPartitionKeyWaitsForIt(t *testing.T) {
	srv := startServer(t, kinesistest.Options{Streams: map[string]int{"s": 1}})
	client := newClient(srv)
	srv.ScheduleFault("PutRecords", kinesistest.ErrorFault(http.StatusBadRequest, kinesistest.ErrorTypeValidation, ""),
		kinesistest.FaultSchedule{PartitionKey: "poison"})

	if err := putWithKeys(t, client, "a"); err != nil {
		t.Fatalf("request without the key: %v", err)
	}
	if srv.PendingFaults() != 1 {
		t.Errorf("a request without the key used up the fault")
	}
	rejected[*types.ValidationException](t, putWithKeys(t, client, "poison"))
	if err := putWithKeys(t, client, "poison"); err != nil {
		t.Errorf("second request with the key, after the one-shot fault: %v", err)
	}
	wantStored(t, srv, "s", 2)
}

func TestControlFaultForPartitionKey(t *testing.T) {
	srv := startServer(t, kinesistest.Options{Streams: map[string]int{"s": 1}})
	defer http.DefaultClient.CloseIdleConnections()
	client := newClient(srv)
	fault := kinesistest.ControlFault{StatusCode: http.StatusBadRequest, ErrorType: kinesistest.ErrorTypeValidation, PartitionKey: "poison", Times: -1}
	if status := control(t, http.MethodPost, srv.URL+kinesistest.ControlPathPrefix+"faults", fault, nil); status != http.StatusOK {
		t.Fatalf("inject: status %d", status)
	}
	if err := putWithKeys(t, client, "a"); err != nil {
		t.Fatalf("request without the key: %v", err)
	}
	rejected[*types.ValidationException](t, putWithKeys(t, client, "a", "poison"))
	wantStored(t, srv, "s", 1)
}

func TestFaultFuncSeesPartitionKeys(t *testing.T) {
	srv := startServer(t, kinesistest.Options{Streams: map[string]int{"s": 1}})
	client := newClient(srv)
	srv.SetFaultFunc(func(req *kinesistest.Request) *kinesistest.Fault {
		for _, e := range req.Records {
			if e.PartitionKey == "poison" {
				f := kinesistest.ErrorFault(http.StatusBadRequest, kinesistest.ErrorTypeValidation, "")
				return &f
			}
		}
		return nil
	})
	rejected[*types.ValidationException](t, putWithKeys(t, client, "a", "poison"))
	if err := putWithKeys(t, client, "a"); err != nil {
		t.Errorf("request without the key: %v", err)
	}
	wantStored(t, srv, "s", 1)
}
