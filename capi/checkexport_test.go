//go:build gokpl_abitest

package main

import (
	"math"
	"strings"
	"testing"

	"github.com/gokpl/gokpl/core/kinesistest"
)

// Through the export: a timeout of INT64_MAX, no limit in practice, lists
// the shards (it once overflowed into a deadline in the past), and a report
// buffer too small says so in the error buffer.
func TestTheCheckExportTakesTheLargestTimeoutAndExplainsASmallBuffer(t *testing.T) {
	isolateAWSFiles(t)
	srv := kinesistest.NewServer(kinesistest.Options{Streams: map[string]int{"s": 2}})
	defer srv.Close()
	config := `{"region": "eu-west-1", "endpoint_url": "` + srv.URL + `", "aws_access_key_id": "AKIAIOSFODNN7EXAMPLE", "aws_secret_access_key": "x"}`
	report, status, msg := callCheck(config, "s", math.MaxInt64, 1<<16)
	expect(t, "gokpl_check with INT64_MAX", status, statusOK)
	if !strings.Contains(report, "shardId-000000000001") || strings.Contains(report, "deadline") {
		t.Fatalf("report %s (%s), want both shards and no error", report, msg)
	}
	_, status, msg = callCheck(config, "s", 10_000, 8)
	expect(t, "gokpl_check with 8 bytes", status, statusBufferTooSmall)
	if !strings.Contains(msg, "too small") {
		t.Fatalf("error buffer %q after BUFFER_TOO_SMALL, want why", msg)
	}
}
