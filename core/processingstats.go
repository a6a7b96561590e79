package core

import (
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"
)

// processingStatsInterval is how often each stream's processing statistics
// are logged, as the KPL does.
const processingStatsInterval = 15 * time.Second

// flushReasons counts a stage's batches by why they left. Safe for
// concurrent use.
type flushReasons [flushClose + 1]atomic.Int64

func (f *flushReasons) count(r flushReason) { f[r].Add(1) }

// take returns the counts since the last take, as log attributes.
func (f *flushReasons) take() slog.Value {
	names := [...]string{flushCount: "count", flushSize: "size", flushDeadline: "timed", flushPredicate: "predicate", flushManual: "manual", flushClose: "close"}
	var attrs []slog.Attr
	for r := range f {
		if n := f[r].Swap(0); n > 0 {
			attrs = append(attrs, slog.Int64(names[r], n))
		}
	}
	return slog.GroupValue(attrs...)
}

// logProcessingStatistics logs, every processingStatsInterval until the
// producer's context ends, each active stream's records in and out, why the
// aggregator's and collector's batches left, the mean request time, and a
// warning when records wait far longer than record_max_buffered_time_ms.
func (p *Producer) logProcessingStatistics() {
	defer p.background.Done()
	tick := time.NewTicker(processingStatsInterval)
	defer tick.Stop()
	last := time.Now().Unix() - 1
	for {
		select {
		case now := <-tick.C:
			last = p.logProcessingStatisticsSince(last, now)
		case <-p.ctx.Done():
			return
		}
	}
}

// logProcessingStatisticsSince logs each stream's statistics of the whole
// seconds after last (Unix seconds) up to the one before now's, which is
// still filling, and returns the last second it covered: the next interval
// starts after it, so every second is logged once.
func (p *Producer) logProcessingStatisticsSince(last int64, now time.Time) int64 {
	to := now.Unix() - 1
	p.eachPipeline(func(pl *pipeline) { pl.logProcessingStatistics(last, to) })
	return to
}

// logProcessingStatistics logs the stream's statistics of the seconds in
// (from, to].
func (pl *pipeline) logProcessingStatistics(from, to int64) {
	m := &pl.p.metrics
	received := pl.p.metrics.accumulator(seriesKey{name: MetricUserRecordsReceived, stream: pl.id.name}).between(from, to)
	put := m.accumulator(seriesKey{name: MetricUserRecordsPut, stream: pl.id.name}).between(from, to)
	requests := m.accumulator(seriesKey{name: MetricRequestTime, stream: pl.id.name}).between(from, to)
	buffering := m.accumulator(seriesKey{name: MetricBufferingTime, stream: pl.id.name}).between(from, to)
	if received.count == 0 && put.count == 0 && requests.count == 0 {
		return
	}
	pl.p.log.Info("gokpl: processing statistics",
		"stream", pl.id.name,
		"records_in", int64(received.sum),
		"records_out", put.count,
		"records_succeeded", int64(put.sum),
		"aggregator_flushes", pl.aggregatorFlushes.take(),
		"collector_flushes", pl.collectorFlushes.take(),
		"requests", requests.count,
		"mean_request_ms", mean(requests),
		"mean_buffering_ms", mean(buffering),
	)
	limit := milliseconds(pl.p.cfg.RecordMaxBufferedTime)
	if buffering.count > 0 && mean(buffering) > 5*limit && limit > 0 {
		pl.p.log.Warn("gokpl: records wait far longer than record_max_buffered_time_ms",
			"stream", pl.id.name, "mean_buffering_ms", mean(buffering), "record_max_buffered_time_ms", limit,
			"hint", fmt.Sprintf("the stream may be under-provisioned (throttling) or the host overloaded; %d requests in the interval", requests.count))
	}
}

func mean(s stat) float64 {
	if s.count == 0 {
		return 0
	}
	return s.sum / float64(s.count)
}
