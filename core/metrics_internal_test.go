package core

import (
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
)

// TestDeliveredMetricsMatchRecordingEachEntry holds the metrics a request's
// delivered entries get when gathered per shard to those of recording them
// entry by entry: the same series with the same statistics, at every
// dimension, entries without a prediction included.
func TestDeliveredMetricsMatchRecordingEachEntry(t *testing.T) {
	start := time.Now()
	end := start.Add(3 * time.Millisecond)
	var entries []*kinesisRecord
	var shards []string
	for i := range 12 {
		var records []*userRecord
		for j := range i%3 + 1 {
			u := &userRecord{
				PartitionKey: fmt.Sprint(i, "-", j),
				Data:         make([]byte, 10*i+j),
				arrival:      instantOf(start.Add(-time.Duration(i+j) * time.Millisecond)),
			}
			if j == 1 { // sent before, throttled
				at := start.Add(-time.Duration(i) * time.Millisecond)
				u.addAttempt(Attempt{StartedAt: at, EndedAt: at.Add(time.Millisecond), ErrorCode: CodeThrottled})
			}
			records = append(records, u)
		}
		k := newKinesisRecord(records)
		shard := fmt.Sprintf("shardId-%012d", i%4)
		if i%5 != 0 {
			k.predictedShardID = shard
		}
		entries, shards = append(entries, k), append(shards, shard)
	}

	var batched, each metrics
	var delivered deliveredMetrics
	for i, k := range entries {
		delivered.add(k, shards[i], start)
	}
	delivered.record(&batched, end, "s")
	for i, k := range entries {
		each.kinesisRecordPut(end, "s", k, shards[i], "")
		var stats recordStats
		for _, u := range k.records {
			stats.addDelivered(u, start)
		}
		each.recordStats(end, "s", shards[i], &stats)
	}

	got, want := batched.snapshot(end, 0), each.snapshot(end, 0)
	// Eight metrics (none expired) at the metric, the stream and four shards.
	if len(want) != 8*(1+1+4) {
		t.Fatalf("recording entry by entry gave %d series, want 48", len(want))
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("gathered per shard:\n%+v\nentry by entry:\n%+v", got, want)
	}
}

// uploadRecorder is a MetricsClient that keeps the sample counts it is sent.
type uploadRecorder struct{ samples float64 }

func (r *uploadRecorder) PutMetricData(_ context.Context, in *cloudwatch.PutMetricDataInput, _ ...func(*cloudwatch.Options)) (*cloudwatch.PutMetricDataOutput, error) {
	for _, d := range in.MetricData {
		r.samples += *d.StatisticValues.SampleCount
	}
	return &cloudwatch.PutMetricDataOutput{}, nil
}

// Uploads a minute apart, the longest interval, carry every sample once,
// although the second being recorded when an upload runs is a minute after
// the oldest second that upload reads.
func TestUploadsAMinuteApartCarryEverySample(t *testing.T) {
	start := time.Unix(1_800_000_000, 0)
	cfg := DefaultConfig()
	cfg.MetricsLevel, cfg.MetricsGranularity = "summary", "global"
	cfg.MetricsUploadInterval = MaxMetricsWindow
	client, m := &uploadRecorder{}, &metrics{}
	u := newUploader(&cfg, client, m, slog.New(slog.DiscardHandler))
	u.checkpoint = start.Unix() - 1
	const minutes, perSecond = 5, 10
	at := func(second int, offset time.Duration) time.Time {
		return start.Add(time.Duration(second)*time.Second + offset)
	}
	for second := range minutes * 60 {
		for i := range perSecond {
			m.record(at(second, time.Duration(i)*time.Millisecond), MetricUserRecordsPut, "", "", "", sample(1))
		}
		if second%60 == 59 {
			// The tick, half a second into the next minute's first second,
			// after a sample of that second.
			m.record(at(second+1, 0), MetricUserRecordsPut, "", "", "", sample(1))
			u.upload(context.Background(), at(second+1, 500*time.Millisecond))
		}
	}
	// Every sample of the seconds before the last upload's, and none twice:
	// the early sample of each upload's own second, but the last's, went
	// with the next upload.
	if want := float64(minutes*60*perSecond + minutes - 1); client.samples != want {
		t.Fatalf("uploaded %v samples over %d minutes, want %v", client.samples, minutes, want)
	}
}

// A metrics window is rounded up to whole seconds, the buckets the producer
// keeps, so that one shorter than a second is not empty; 0 stays cumulative.
func TestMetricsWindowRoundsUpToWholeSeconds(t *testing.T) {
	for d, want := range map[time.Duration]time.Duration{
		0: 0, time.Millisecond: time.Second, 999 * time.Millisecond: time.Second, time.Second: time.Second,
		1001 * time.Millisecond: 2 * time.Second, time.Minute: time.Minute,
	} {
		if got := wholeSeconds(d); got != want {
			t.Errorf("wholeSeconds(%v) = %v, want %v", d, got, want)
		}
	}
}
