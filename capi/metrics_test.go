//go:build gokpl_abitest

package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"testing"

	"github.com/gokpl/gokpl/core/kinesistest"
)

// metricsSnapshot calls gokpl_producer_metrics with a buffer that fits (the
// snapshot may grow between the sizing call and the next) and decodes it.
func metricsSnapshot(t *testing.T, producer uint64, windowMS int64) []metricJSON {
	t.Helper()
	_, need, status := callMetrics(producer, windowMS, 0)
	for range 10 {
		if status != statusBufferTooSmall && status != statusOK {
			t.Fatalf("gokpl_producer_metrics(window %d) = %d", windowMS, status)
		}
		var text string
		var n int
		text, n, status = callMetrics(producer, windowMS, need+256)
		if status == statusOK {
			if n != len(text) {
				t.Fatalf("*len = %d for %d bytes", n, len(text))
			}
			var out []metricJSON
			if err := json.Unmarshal([]byte(text), &out); err != nil {
				t.Fatalf("not JSON: %v: %q", err, text)
			}
			if out == nil {
				t.Fatalf("%q is not an array", text)
			}
			return out
		}
		need = n
	}
	t.Fatalf("gokpl_producer_metrics kept answering %d", status)
	return nil
}

func findSeries(ms []metricJSON, name string, dims map[string]string) (metricJSON, bool) {
	for _, m := range ms {
		if m.Name == name && maps.Equal(m.Dimensions, dims) {
			return m, true
		}
	}
	return metricJSON{}, false
}

func TestMetricsSnapshotAsJSON(t *testing.T) {
	f := newFixture(t, nil)
	// Nothing put yet: an empty array, not null.
	text, n, status := callMetrics(f.producer, 0, 16)
	expect(t, "metrics(empty)", status, statusOK)
	if text != "[]" || n != 2 {
		t.Fatalf("empty snapshot %q (len %d)", text, n)
	}

	const records = 40
	handles := make([]uint64, records)
	for i := range handles {
		handles[i] = f.put(fmt.Sprint("key-", i), "0123456789")
	}
	expect(t, "flush", callFlush(f.producer, 10_000), statusOK)
	for _, h := range handles {
		callOutcomeFree(h)
	}

	for _, window := range []int64{0, 60_000} {
		ms := metricsSnapshot(t, f.producer, window)
		global, ok := findSeries(ms, "UserRecordsPut", map[string]string{})
		if !ok || global.Count != records || global.Sum != records || global.Min != 1 || global.Max != 1 || global.Mean != 1 {
			t.Fatalf("window %d: global UserRecordsPut %+v", window, global)
		}
		if global.Unit != "Count" || global.Level != "summary" {
			t.Fatalf("UserRecordsPut unit %q level %q", global.Unit, global.Level)
		}
		perStream, _ := findSeries(ms, "UserRecordsPut", map[string]string{"StreamName": stream})
		if perStream.Count != records {
			t.Fatalf("window %d: stream UserRecordsPut %+v", window, perStream)
		}
		// The shard series add up to the stream's.
		var shards int64
		for _, m := range ms {
			if m.Name == "UserRecordsPut" && m.Dimensions["ShardId"] != "" {
				shards += m.Count
			}
		}
		if shards != records {
			t.Fatalf("window %d: shard series hold %d records, want %d", window, shards, records)
		}
		data, _ := findSeries(ms, "UserRecordsDataPut", map[string]string{})
		if data.Unit != "Bytes" || data.Level != "detailed" || data.Sum != 10*records {
			t.Fatalf("UserRecordsDataPut %+v", data)
		}
		if buffering, _ := findSeries(ms, "BufferingTime", map[string]string{}); buffering.Unit != "Milliseconds" || buffering.Count != records {
			t.Fatalf("BufferingTime %+v", buffering)
		}
	}

	// A short window is rounded up to the current second, not emptied.
	if ms := metricsSnapshot(t, f.producer, 1); ms == nil {
		t.Fatal("no snapshot")
	}
	f.close(5_000, statusOK)
}

func TestMetricsErrorCodeDimension(t *testing.T) {
	f := newFixture(t, map[string]any{"aggregation_enabled": false})
	f.srv.InjectFault("PutRecords", kinesistest.Fault{RecordFailures: []kinesistest.RecordFailure{{Index: 0, ErrorCode: "InternalFailure"}}})
	o := f.put("k", "retried once")
	expect(t, "wait", callOutcomeWait(o, 10_000), statusOK)
	callOutcomeFree(o)
	ms := metricsSnapshot(t, f.producer, 0)
	byCode, ok := findSeries(ms, "ErrorsByCode", map[string]string{"ErrorCode": "InternalFailure"})
	if !ok || byCode.Count != 1 || byCode.Sum != 1 {
		t.Fatalf("ErrorsByCode[InternalFailure] = %+v in %+v", byCode, ms)
	}
	if _, ok := findSeries(ms, "ErrorsByCode", map[string]string{"ErrorCode": "InternalFailure", "StreamName": stream}); !ok {
		t.Fatal("no stream-level ErrorsByCode series")
	}
	f.close(5_000, statusOK)
}

func TestMetricsBufferTooSmallAndBadArguments(t *testing.T) {
	f := newFixture(t, nil)
	o := f.put("k", "x")
	expect(t, "wait", callOutcomeWait(o, 10_000), statusOK)
	callOutcomeFree(o)

	text, need, status := callMetrics(f.producer, 0, 10)
	expect(t, "metrics(cap 10)", status, statusBufferTooSmall)
	if text != "" || need <= 10 {
		t.Fatalf("too small: wrote %q, need %d", text, need)
	}
	_, n, status := callMetrics(f.producer, 0, 0)
	expect(t, "metrics(NULL, 0)", status, statusBufferTooSmall)
	if n < need-16 {
		t.Fatalf("sizing call says %d, the first said %d", n, need)
	}

	for _, window := range []int64{-1, 60_001, 1 << 40} {
		_, _, status := callMetrics(f.producer, window, 4096)
		expect(t, fmt.Sprintf("metrics(window %d)", window), status, statusInvalidArgument)
	}
	expect(t, "metrics(len NULL)", callMetricsNullLength(f.producer), statusInvalidArgument)
	for _, h := range []uint64{0, 1, f.producer + 1} {
		_, _, status := callMetrics(h, 0, 4096)
		expect(t, fmt.Sprintf("metrics(handle %#x)", h), status, statusInvalidHandle)
	}
	f.close(5_000, statusOK)
	_, _, status = callMetrics(f.producer, 0, 4096)
	expect(t, "metrics after close", status, statusInvalidHandle)
}
