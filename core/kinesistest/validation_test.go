package kinesistest_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/gokpl/gokpl/core/kinesistest"
)

const mib = 1 << 20

// apiException is what the SDK's modeled error types have in common.
type apiException interface {
	error
	ErrorMessage() string
}

// rejected asserts that err is an error response of type T with HTTP
// status 400 and returns its message.
func rejected[T apiException](t *testing.T, err error) string {
	t.Helper()
	e := asError[T](t, err)
	var resp *awshttp.ResponseError
	if !errors.As(err, &resp) || resp.HTTPStatusCode() != http.StatusBadRequest {
		t.Errorf("error %v: want HTTP status 400", err)
	}
	return e.ErrorMessage()
}

// wantMessage asserts that a message contains every part.
func wantMessage(t *testing.T, message string, parts ...string) {
	t.Helper()
	for _, part := range parts {
		if !strings.Contains(message, part) {
			t.Errorf("message %q lacks %q", message, part)
		}
	}
}

// wantStored asserts how many records a stream holds.
func wantStored(t *testing.T, srv *kinesistest.Server, stream string, want int64) {
	t.Helper()
	if got := srv.Stats(stream).Records; got != want {
		t.Errorf("stream %s stored %d records, want %d", stream, got, want)
	}
}

// entry is a PutRecords entry of n bytes of data.
func entry(key string, n int) types.PutRecordsRequestEntry {
	return types.PutRecordsRequestEntry{PartitionKey: aws.String(key), Data: make([]byte, n)}
}

func putRecords(t *testing.T, client *kinesis.Client, stream string, entries ...types.PutRecordsRequestEntry) error {
	t.Helper()
	_, err := client.PutRecords(testContext(t), &kinesis.PutRecordsInput{StreamName: aws.String(stream), Records: entries})
	return err
}

func TestPutRecordsRejectsWholeRequestWithRecordOverStreamMaximum(t *testing.T) {
	srv := startServer(t, kinesistest.Options{Streams: map[string]int{"s": 1}})
	client := newClient(srv)

	// The partition key counts: 1 MiB of data with a one-byte key is over.
	err := putRecords(t, client, "s", entry("a", 10), entry("k", mib), entry("b", 10))
	message := rejected[*types.ValidationException](t, err)
	wantMessage(t, message, "'records.2.member.data'", "less than or equal to 1048576")
	wantStored(t, srv, "s", 0)

	if err := putRecords(t, client, "s", entry("a", 10), entry("k", mib-1)); err != nil {
		t.Errorf("a record of exactly 1 MiB with its key: %v", err)
	}
	wantStored(t, srv, "s", 2)
}

func TestPutRecordRejectsRecordOverStreamMaximum(t *testing.T) {
	srv := startServer(t, kinesistest.Options{Streams: map[string]int{"s": 1}})
	client := newClient(srv)
	ctx := testContext(t)

	// "ü" is two bytes of UTF-8: the key's bytes count, not its characters.
	_, err := client.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("s"), PartitionKey: aws.String("ü"), Data: make([]byte, mib-1)})
	message := rejected[*types.ValidationException](t, err)
	wantMessage(t, message, "'data'", "less than or equal to 1048576")
	wantStored(t, srv, "s", 0)

	_, err = client.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("s"), PartitionKey: aws.String("ü"), Data: make([]byte, mib-2)})
	if err != nil {
		t.Errorf("a record of exactly 1 MiB with its key: %v", err)
	}
	wantStored(t, srv, "s", 1)
}

func TestPutRecordsRejectsRequestOver10MiB(t *testing.T) {
	srv := startServer(t, kinesistest.Options{
		Streams:                map[string]int{"s": 1},
		StreamMaxRecordSizeKiB: map[string]int{"s": kinesistest.LargestMaxRecordSizeKiB},
	})
	client := newClient(srv)

	err := putRecords(t, client, "s", entry("k", 5*mib), entry("k", 5*mib))
	message := rejected[*types.InvalidArgumentException](t, err)
	wantMessage(t, message, "Records size exceeds 10 MB limit")
	wantStored(t, srv, "s", 0)

	if err := putRecords(t, client, "s", entry("k", 5*mib-1), entry("k", 5*mib-1)); err != nil {
		t.Errorf("10 MiB with partition keys: %v", err)
	}
	wantStored(t, srv, "s", 2)
}

func TestPutRecordsRejectsDataBlobOver10MiB(t *testing.T) {
	srv := startServer(t, kinesistest.Options{
		Streams:                map[string]int{"s": 1},
		StreamMaxRecordSizeKiB: map[string]int{"s": kinesistest.LargestMaxRecordSizeKiB},
	})
	err := putRecords(t, newClient(srv), "s", entry("k", 10*mib+1))
	message := rejected[*types.ValidationException](t, err)
	wantMessage(t, message, "'records.1.member.data'", "less than or equal to 10485760")
	wantStored(t, srv, "s", 0)
}

func TestPutRecordsRejectsEntryCountOutside1To500(t *testing.T) {
	srv := startServer(t, kinesistest.Options{Streams: map[string]int{"s": 1}})
	client := newClient(srv)

	message := rejected[*types.ValidationException](t, putRecords(t, client, "s", putEntries(501, "k")...))
	wantMessage(t, message, "'records'", "less than or equal to 500")
	message = rejected[*types.ValidationException](t, putRecords(t, client, "s", []types.PutRecordsRequestEntry{}...))
	wantMessage(t, message, "'records'", "greater than or equal to 1")
	wantStored(t, srv, "s", 0)

	if err := putRecords(t, client, "s", putEntries(500, "k")...); err != nil {
		t.Errorf("500 entries: %v", err)
	}
	wantStored(t, srv, "s", 500)
}

func TestPutRecordsRejectsPartitionKeyLength(t *testing.T) {
	srv := startServer(t, kinesistest.Options{Streams: map[string]int{"s": 1}})
	client := newClient(srv)

	tests := []struct{ key, want string }{
		{"", "greater than or equal to 1"},
		{strings.Repeat("k", 257), "less than or equal to 256"},
		// 129 characters outside the Basic Multilingual Plane are 258
		// UTF-16 code units, which is how the service counts.
		{strings.Repeat("😀", 129), "less than or equal to 256"},
	}
	for _, tt := range tests {
		message := rejected[*types.ValidationException](t, putRecords(t, client, "s", entry("ok", 1), entry(tt.key, 1)))
		wantMessage(t, message, "'records.2.member.partitionKey'", tt.want)
	}
	wantStored(t, srv, "s", 0)

	if err := putRecords(t, client, "s", entry(strings.Repeat("😀", 128), 1), entry(strings.Repeat("k", 256), 1)); err != nil {
		t.Errorf("256-unit keys: %v", err)
	}
	wantStored(t, srv, "s", 2)
}

func TestPutRecordsChecksExplicitHashKey(t *testing.T) {
	srv := startServer(t, kinesistest.Options{Streams: map[string]int{"s": 1}})
	client := newClient(srv)
	withHashKey := func(key string) types.PutRecordsRequestEntry {
		e := entry("k", 1)
		e.ExplicitHashKey = aws.String(key)
		return e
	}

	for _, bad := range []string{"007", "-1", "1e3", strings.Repeat("9", 40)} {
		message := rejected[*types.ValidationException](t, putRecords(t, client, "s", withHashKey("1"), withHashKey(bad)))
		wantMessage(t, message, "'records.2.member.explicitHashKey'", "regular expression pattern")
	}
	const twoTo128 = "340282366920938463463374607431768211456"
	message := rejected[*types.InvalidArgumentException](t, putRecords(t, client, "s", withHashKey(twoTo128)))
	wantMessage(t, message, "[0, 2^128-1]", twoTo128)
	wantStored(t, srv, "s", 0)

	if err := putRecords(t, client, "s", withHashKey("0"), withHashKey("340282366920938463463374607431768211455")); err != nil {
		t.Errorf("hash keys 0 and 2^128-1: %v", err)
	}
	wantStored(t, srv, "s", 2)
}

func TestPutRejectsStreamNameOutsideItsPattern(t *testing.T) {
	srv := startServer(t, kinesistest.Options{Streams: map[string]int{"s": 1}})
	client := newClient(srv)
	for _, bad := range []string{"a b", "s/1", strings.Repeat("s", 129)} {
		message := rejected[*types.ValidationException](t, putRecords(t, client, bad, entry("k", 1)))
		wantMessage(t, message, "'streamName'")
	}
}
