package core

import (
	"fmt"
	"reflect"
	"testing"
	"time"
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
