package core_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/gokpl/gokpl/core"
	"github.com/gokpl/gokpl/core/kinesistest"
)

func findMetric(ms []core.Metric, name string, dims map[string]string) (core.Metric, bool) {
	for _, m := range ms {
		if m.Name != name || len(m.Dimensions) != len(dims) {
			continue
		}
		match := true
		for k, v := range dims {
			if m.Dimensions[k] != v {
				match = false
			}
		}
		if match {
			return m, true
		}
	}
	return core.Metric{}, false
}

func countSeries(ms []core.Metric, name string) int {
	n := 0
	for _, m := range ms {
		if m.Name == name {
			n++
		}
	}
	return n
}

func TestMetricsFanOutToAncestorsTwoStreamsTwoShards(t *testing.T) {
	srv := kinesistest.NewServer(kinesistest.Options{Streams: map[string]int{"a": 2, "b": 2}})
	defer srv.Close()
	cfg := core.DefaultConfig()
	cfg.Region, cfg.EndpointURL, cfg.RecordMaxBufferedTime = "us-east-1", srv.URL, 10*time.Millisecond
	p, err := core.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer closeProducer(t, p)
	for _, stream := range []string{"a", "b"} {
		wait(t, put(t, p, core.Record{Stream: stream, PartitionKey: "warm-up", Data: []byte("w")}))
	}
	var outcomes []*core.Outcome
	for i := range 400 {
		stream := []string{"a", "b"}[i%2]
		outcomes = append(outcomes, put(t, p, core.Record{Stream: stream, PartitionKey: fmt.Sprint(i), Data: []byte("0123456789")}))
	}
	if err := p.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, o := range outcomes {
		wait(t, o)
	}
	ms := p.Metrics(0)
	// Global, 2 streams, 2 shards each: 7 series, as in the KPL.
	if n := countSeries(ms, core.MetricUserRecordsPut); n != 7 {
		t.Fatalf("UserRecordsPut has %d series, want 7: %+v", n, ms)
	}
	global, _ := findMetric(ms, core.MetricUserRecordsPut, map[string]string{})
	if global.Count != 402 || global.Sum != 402 || global.Min != 1 || global.Unit != core.UnitCount || global.Level != "summary" {
		t.Fatalf("global UserRecordsPut = %+v", global)
	}
	streamA, _ := findMetric(ms, core.MetricUserRecordsPut, map[string]string{core.DimensionStreamName: "a"})
	if streamA.Count != 201 {
		t.Fatalf("stream a UserRecordsPut = %+v", streamA)
	}
	var shards int64
	for _, m := range ms {
		if m.Name == core.MetricUserRecordsPut && m.Dimensions[core.DimensionShardID] != "" && m.Dimensions[core.DimensionStreamName] == "a" {
			shards += m.Count
		}
	}
	if shards != 201 {
		t.Fatalf("stream a's shards hold %d, want 201", shards)
	}
	data, _ := findMetric(ms, core.MetricUserRecordsDataPut, map[string]string{})
	if data.Sum != 400*10+2 || data.Unit != core.UnitBytes {
		t.Fatalf("UserRecordsDataPut = %+v", data)
	}
	buffering, _ := findMetric(ms, core.MetricBufferingTime, map[string]string{})
	if buffering.Count != 402 || buffering.Unit != core.UnitMilliseconds {
		t.Fatalf("BufferingTime = %+v (one sample per attempt)", buffering)
	}
	for _, name := range []string{core.MetricKinesisRecordsPut, core.MetricRequestTime, core.MetricUserRecordsPerKinesisRecord, core.MetricUserRecordsPerPutRecordsRequest, core.MetricKinesisRecordsPerPutRecordsRequest} {
		if _, ok := findMetric(ms, name, map[string]string{}); !ok {
			t.Errorf("no global %s", name)
		}
	}
	if m, _ := findMetric(ms, core.MetricAllErrors, map[string]string{}); m.Sum != 0 || m.Count == 0 {
		t.Errorf("AllErrors = %+v, want zeros for successful Kinesis records", m)
	}
}

func TestMetricsFailuresCountZeroAndCarryTheErrorCode(t *testing.T) {
	p, srv := newProducer(t, 1, func(c *core.Config) { c.AggregationEnabled = false })
	srv.InjectFault("PutRecords", kinesistest.Fault{RecordFailures: []kinesistest.RecordFailure{{Index: 0, ErrorCode: "InternalFailure"}}})
	r := wait(t, put(t, p, core.Record{Stream: "s", PartitionKey: "k", Data: []byte("x")}))
	if !r.Success || len(r.Attempts()) != 2 {
		t.Fatalf("result = %+v", r)
	}
	wait(t, put(t, p, core.Record{Stream: "missing", PartitionKey: "k", Data: []byte("x")}))
	ms := p.Metrics(0)
	byCode, ok := findMetric(ms, core.MetricErrorsByCode, map[string]string{core.DimensionErrorCode: "InternalFailure"})
	if !ok || byCode.Count != 1 {
		t.Fatalf("ErrorsByCode[InternalFailure] = %+v", byCode)
	}
	if _, ok := findMetric(ms, core.MetricErrorsByCode, map[string]string{core.DimensionErrorCode: "ResourceNotFoundException", core.DimensionStreamName: "missing"}); !ok {
		t.Fatal("a request failure has no stream-level ErrorsByCode")
	}
	put, _ := findMetric(ms, core.MetricUserRecordsPut, map[string]string{})
	if put.Count != 2 || put.Sum != 1 || put.Min != 0 {
		t.Fatalf("UserRecordsPut = %+v, want one 1 and one 0", put)
	}
	retries, _ := findMetric(ms, core.MetricRetriesPerRecord, map[string]string{core.DimensionStreamName: "s"})
	if retries.Max != 1 {
		t.Fatalf("RetriesPerRecord = %+v", retries)
	}
	buffering, _ := findMetric(ms, core.MetricBufferingTime, map[string]string{core.DimensionStreamName: "s"})
	if buffering.Count != 2 {
		t.Fatalf("BufferingTime for a record sent twice = %+v, want a sample per attempt", buffering)
	}
}

// A record that expires counts once in UserRecordExpired, at every level of
// its dimensions; one that fails otherwise, or succeeds, does not count.
func TestMetricsCountExpiredRecords(t *testing.T) {
	p, srv := newProducer(t, 1, func(c *core.Config) { c.RecordTTL = 300 * time.Millisecond })
	srv.SetFaultFunc(func(r *kinesistest.Request) *kinesistest.Fault {
		f := kinesistest.ErrorFault(500, "InternalFailure", "")
		return &f
	})
	if r := wait(t, put(t, p, core.Record{Stream: "s", PartitionKey: "k", Data: []byte("x")})); r.ErrorCode() != core.CodeExpired {
		t.Fatalf("result = %+v, want expired", r)
	}
	srv.SetFaultFunc(nil)
	wait(t, put(t, p, core.Record{Stream: "missing", PartitionKey: "k", Data: []byte("x")}))
	if r := wait(t, put(t, p, core.Record{Stream: "s", PartitionKey: "k", Data: []byte("y")})); !r.Success {
		t.Fatalf("result = %+v", r)
	}
	ms := p.Metrics(0)
	for _, dims := range []map[string]string{{}, {core.DimensionStreamName: "s"}} {
		expired, ok := findMetric(ms, core.MetricUserRecordExpired, dims)
		if !ok || expired.Count != 1 || expired.Sum != 1 {
			t.Fatalf("UserRecordExpired %v = %+v (found %v), want one record", dims, expired, ok)
		}
	}
	if m, ok := findMetric(ms, core.MetricUserRecordExpired, map[string]string{core.DimensionStreamName: "missing"}); ok {
		t.Fatalf("a record failed for a missing stream counts as expired: %+v", m)
	}
}

func TestMetricsWindowAndReceivedSamples(t *testing.T) {
	p, _ := newProducer(t, 1, nil)
	wait(t, put(t, p, core.Record{Stream: "s", PartitionKey: "k", Data: []byte("x")}))
	time.Sleep(300 * time.Millisecond) // a sample of received and pending records
	ms := p.Metrics(time.Minute)
	if m, ok := findMetric(ms, core.MetricUserRecordsReceived, map[string]string{core.DimensionStreamName: "s"}); !ok || m.Sum != 1 {
		t.Fatalf("UserRecordsReceived = %+v", m)
	}
	if _, ok := findMetric(ms, core.MetricUserRecordsPending, map[string]string{core.DimensionStreamName: "s"}); !ok {
		t.Fatal("no UserRecordsPending sample")
	}
	if len(p.Metrics(0)) < len(ms) {
		t.Fatal("the cumulative window holds fewer series than the last minute")
	}
}
