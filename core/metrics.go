package core

import (
	"slices"
	"strings"
	"sync"
	"time"
)

// The KPL's metrics: the same names, units and levels, so that dashboards
// built for the KPL read gokpl's the same way.
const (
	MetricUserRecordsReceived                = "UserRecordsReceived"
	MetricUserRecordsPending                 = "UserRecordsPending"
	MetricUserRecordsPut                     = "UserRecordsPut"
	MetricUserRecordsDataPut                 = "UserRecordsDataPut"
	MetricUserRecordExpired                  = "UserRecordExpired"
	MetricKinesisRecordsPut                  = "KinesisRecordsPut"
	MetricKinesisRecordsDataPut              = "KinesisRecordsDataPut"
	MetricErrorsByCode                       = "ErrorsByCode"
	MetricAllErrors                          = "AllErrors"
	MetricRetriesPerRecord                   = "RetriesPerRecord"
	MetricBufferingTime                      = "BufferingTime"
	MetricRequestTime                        = "RequestTime"
	MetricUserRecordsPerKinesisRecord        = "UserRecordsPerKinesisRecord"
	MetricKinesisRecordsPerPutRecordsRequest = "KinesisRecordsPerPutRecordsRequest"
	MetricUserRecordsPerPutRecordsRequest    = "UserRecordsPerPutRecordsRequest"
)

// Metric units, as CloudWatch names them.
const (
	UnitCount        = "Count"
	UnitBytes        = "Bytes"
	UnitMilliseconds = "Milliseconds"
)

// Metrics levels: a metric is uploaded when its level is at most the
// configured one.
const (
	levelNone = iota
	levelSummary
	levelDetailed
)

// Dimension names, in the order of the KPL's metric path.
const (
	DimensionErrorCode  = "ErrorCode"
	DimensionStreamName = "StreamName"
	DimensionShardID    = "ShardId"
)

type metricSpec struct {
	unit  string
	level int
}

var metricSpecs = map[string]metricSpec{
	MetricUserRecordsReceived:                {UnitCount, levelDetailed},
	MetricUserRecordsPending:                 {UnitCount, levelDetailed},
	MetricUserRecordsPut:                     {UnitCount, levelSummary},
	MetricUserRecordsDataPut:                 {UnitBytes, levelDetailed},
	MetricUserRecordExpired:                  {UnitCount, levelSummary},
	MetricKinesisRecordsPut:                  {UnitCount, levelSummary},
	MetricKinesisRecordsDataPut:              {UnitBytes, levelDetailed},
	MetricErrorsByCode:                       {UnitCount, levelSummary},
	MetricAllErrors:                          {UnitCount, levelSummary},
	MetricRetriesPerRecord:                   {UnitCount, levelDetailed},
	MetricBufferingTime:                      {UnitMilliseconds, levelSummary},
	MetricRequestTime:                        {UnitMilliseconds, levelDetailed},
	MetricUserRecordsPerKinesisRecord:        {UnitCount, levelDetailed},
	MetricKinesisRecordsPerPutRecordsRequest: {UnitCount, levelDetailed},
	MetricUserRecordsPerPutRecordsRequest:    {UnitCount, levelDetailed},
}

// Metric is one series' statistics over a window: a metric name with its
// dimensions (none for the global series).
type Metric struct {
	Name       string
	Dimensions map[string]string
	Unit       string
	Level      string // "summary" or "detailed"
	Count      int64
	Sum        float64
	Min        float64
	Max        float64
	Mean       float64
}

// MaxMetricsWindow is the longest window Metrics keeps per-second statistics for.
const MaxMetricsWindow = 60 * time.Second

// stat is count, sum, min and max of samples.
type stat struct {
	count    int64
	sum      float64
	min, max float64
}

func sample(v float64) stat { return stat{count: 1, sum: v, min: v, max: v} }

func (s *stat) merge(o stat) {
	if o.count == 0 {
		return
	}
	if s.count == 0 {
		*s = o
		return
	}
	s.count += o.count
	s.sum += o.sum
	s.min = min(s.min, o.min)
	s.max = max(s.max, o.max)
}

// observe adds one sample; the hot path's cheaper merge(sample(v)).
func (s *stat) observe(v float64) {
	if s.count == 0 {
		*s = stat{count: 1, sum: v, min: v, max: v}
		return
	}
	s.count++
	s.sum += v
	if v < s.min {
		s.min = v
	}
	if v > s.max {
		s.max = v
	}
}

// accumulatorSeconds is how many seconds an accumulator keeps apart. The
// longest span read is a minute, MaxMetricsWindow or the longest upload
// interval, while the second after it is being recorded; the four to spare
// also cover a late tick. With 60, an upload a minute apart lost its oldest
// second to the current one, which reuses its bucket. A power of two, so
// that a second's bucket is a mask.
const accumulatorSeconds = 64

// accumulator keeps one series' statistics since the start and per second
// for the last minute. Safe for concurrent use.
type accumulator struct {
	mu      sync.Mutex
	total   stat
	buckets [accumulatorSeconds]stat
	seconds [accumulatorSeconds]int64 // the Unix second each bucket holds
}

func (a *accumulator) add(now time.Time, s stat) {
	sec := now.Unix()
	i := sec & (accumulatorSeconds - 1)
	a.mu.Lock()
	defer a.mu.Unlock()
	a.total.merge(s)
	if a.seconds[i] != sec {
		a.seconds[i], a.buckets[i] = sec, stat{}
	}
	a.buckets[i].merge(s)
}

// window returns the statistics since the start (window 0), or of the
// seconds within window of now.
func (a *accumulator) window(now time.Time, window time.Duration) stat {
	a.mu.Lock()
	defer a.mu.Unlock()
	if window <= 0 {
		return a.total
	}
	from := now.Unix() - int64(min(window, MaxMetricsWindow)/time.Second)
	var s stat
	for i := range a.buckets {
		if a.seconds[i] > from {
			s.merge(a.buckets[i])
		}
	}
	return s
}

// between returns the statistics of the whole seconds in (from, to], Unix
// seconds, within the last accumulatorSeconds.
func (a *accumulator) between(from, to int64) stat {
	a.mu.Lock()
	defer a.mu.Unlock()
	var s stat
	for i := range a.buckets {
		if a.seconds[i] > from && a.seconds[i] <= to {
			s.merge(a.buckets[i])
		}
	}
	return s
}

// seriesKey names a series: the metric and its dimensions; empty
// dimensions are absent.
type seriesKey struct {
	name, errorCode, stream, shard string
}

// metrics holds a producer's series. Each value is recorded at its deepest
// dimensions and, as in the KPL, at every ancestor on the path
// name → error code → stream → shard. Safe for concurrent use.
type metrics struct {
	series sync.Map // seriesKey → *accumulator
}

// record adds s to the series of name at the given dimensions and to its ancestors.
func (m *metrics) record(now time.Time, name, errorCode, stream, shard string, s stat) {
	if m == nil || s.count == 0 {
		return
	}
	m.accumulator(seriesKey{name: name}).add(now, s)
	if errorCode != "" {
		m.accumulator(seriesKey{name: name, errorCode: errorCode}).add(now, s)
	}
	if stream == "" {
		return
	}
	m.accumulator(seriesKey{name: name, errorCode: errorCode, stream: stream}).add(now, s)
	if shard != "" {
		m.accumulator(seriesKey{name: name, errorCode: errorCode, stream: stream, shard: shard}).add(now, s)
	}
}

// recordAt adds s to the one series k, leaving its ancestors alone.
func (m *metrics) recordAt(now time.Time, k seriesKey, s stat) {
	if s.count > 0 {
		m.accumulator(k).add(now, s)
	}
}

func (m *metrics) accumulator(k seriesKey) *accumulator {
	if a, ok := m.series.Load(k); ok {
		return a.(*accumulator)
	}
	a, _ := m.series.LoadOrStore(k, new(accumulator))
	return a.(*accumulator)
}

// snapshot returns every series with samples in the window, sorted by name
// and dimensions.
func (m *metrics) snapshot(now time.Time, window time.Duration) []Metric {
	var out []Metric
	m.series.Range(func(k, v any) bool {
		key := k.(seriesKey)
		s := v.(*accumulator).window(now, window)
		if s.count == 0 {
			return true
		}
		spec := metricSpecs[key.name]
		out = append(out, Metric{
			Name: key.name, Dimensions: key.dimensions(), Unit: spec.unit, Level: levelName(spec.level),
			Count: s.count, Sum: s.sum, Min: s.min, Max: s.max, Mean: s.sum / float64(s.count),
		})
		return true
	})
	slices.SortFunc(out, func(a, b Metric) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return strings.Compare(dimensionText(a.Dimensions), dimensionText(b.Dimensions))
	})
	return out
}

func (k seriesKey) dimensions() map[string]string {
	d := map[string]string{}
	if k.errorCode != "" {
		d[DimensionErrorCode] = k.errorCode
	}
	if k.stream != "" {
		d[DimensionStreamName] = k.stream
	}
	if k.shard != "" {
		d[DimensionShardID] = k.shard
	}
	return d
}

func dimensionText(d map[string]string) string {
	return d[DimensionErrorCode] + "/" + d[DimensionStreamName] + "/" + d[DimensionShardID]
}

func levelName(level int) string {
	if level == levelSummary {
		return "summary"
	}
	return "detailed"
}

// Metrics returns the producer's metrics, computed whatever the upload
// level: since the producer started (window 0) or over the last window,
// up to MaxMetricsWindow, rounded up to whole seconds (the producer keeps a
// bucket per second, and a window shorter than one would hold nothing).
// Safe for concurrent use.
func (p *Producer) Metrics(window time.Duration) []Metric {
	return p.metrics.snapshot(time.Now(), wholeSeconds(window))
}

// wholeSeconds is d rounded up to whole seconds.
func wholeSeconds(d time.Duration) time.Duration {
	if part := d % time.Second; part > 0 {
		d += time.Second - part
	}
	return d
}

// recordStats accumulates the per-user-record metrics of records finished
// together in one shard, so that a Kinesis record of hundreds of user
// records costs a handful of updates, not hundreds.
type recordStats struct {
	put, data, retries, buffering, expired stat
}

// addDelivered folds in a record delivered by the trip that started at
// start, after the failed attempts in its history: a put, its data size, its
// retries, and the buffering time before each attempt.
func (rs *recordStats) addDelivered(u *userRecord, start time.Time) {
	rs.put.observe(1)
	rs.data.observe(float64(len(u.Data)))
	rs.retries.observe(float64(len(u.attempts())))
	previous := rs.observeBuffering(u)
	rs.buffering.observe(milliseconds(start.Sub(previous)))
}

// addFailed folds in a record that failed for good, its last attempt in its
// history: a failed put, its expiry, its retries and the buffering time
// before each attempt.
func (rs *recordStats) addFailed(u *userRecord) {
	rs.put.observe(0)
	attempts := u.attempts()
	if n := len(attempts); n > 0 && attempts[n-1].ErrorCode == CodeExpired {
		rs.expired.observe(1)
	}
	rs.retries.observe(float64(max(len(attempts)-1, 0)))
	rs.observeBuffering(u)
}

// observeBuffering observes the time each attempt in u's history waited
// since the record's arrival or the attempt before, and returns when the
// last one ended (the arrival without history).
func (rs *recordStats) observeBuffering(u *userRecord) time.Time {
	previous := u.arrival.time()
	attempts := u.attempts()
	for i := range attempts {
		a := &attempts[i]
		rs.buffering.observe(milliseconds(a.StartedAt.Sub(previous)))
		previous = a.EndedAt
	}
	return previous
}

func (m *metrics) recordStats(now time.Time, stream, shard string, rs *recordStats) {
	m.record(now, MetricUserRecordsPut, "", stream, shard, rs.put)
	m.record(now, MetricUserRecordsDataPut, "", stream, shard, rs.data)
	m.record(now, MetricRetriesPerRecord, "", stream, shard, rs.retries)
	m.record(now, MetricBufferingTime, "", stream, shard, rs.buffering)
	m.record(now, MetricUserRecordExpired, "", stream, shard, rs.expired)
}

// kinesisRecordPut records the metrics of one PutRecords entry that came
// back: written (success) or failed with code.
func (m *metrics) kinesisRecordPut(now time.Time, stream string, k *kinesisRecord, shard string, code string) {
	m.record(now, MetricUserRecordsPerKinesisRecord, "", stream, k.predictedShardID, sample(float64(len(k.records))))
	if code == "" {
		m.record(now, MetricKinesisRecordsPut, "", stream, shard, sample(1))
		m.record(now, MetricKinesisRecordsDataPut, "", stream, shard, sample(float64(k.dataLen())))
		m.record(now, MetricAllErrors, "", stream, shard, sample(0))
		return
	}
	m.record(now, MetricKinesisRecordsPut, "", stream, k.predictedShardID, sample(0))
	m.record(now, MetricAllErrors, "", stream, k.predictedShardID, sample(1))
	m.record(now, MetricErrorsByCode, code, stream, k.predictedShardID, sample(1))
}

// deliveredMetrics gathers the metrics of the entries of one PutRecords
// request that the service wrote where they were predicted to land, shard by
// shard, so that they are recorded at once, before their records resolve.
// Recording them entry by entry costs about thirty series updates an entry,
// which a request of 500 raw records feels; gathered, it is a few updates a
// shard. Not safe for concurrent use: the retrier makes one per request.
type deliveredMetrics struct {
	shards map[string]*shardTally
	order  []*shardTally // in the order first seen, for recording
}

// shardTally is what deliveredMetrics holds for one shard.
type shardTally struct {
	shard                               string
	records                             recordStats
	perKinesisRecord                    stat // user records per Kinesis record
	kinesisRecords, kinesisData, errors stat
}

// add folds in an entry, k, written to shard by the trip that started at start.
func (d *deliveredMetrics) add(k *kinesisRecord, shard string, start time.Time) {
	t := d.tally(shard)
	for _, u := range k.records {
		t.records.addDelivered(u, start)
	}
	d.tally(k.predictedShardID).perKinesisRecord.observe(float64(len(k.records)))
	t.kinesisRecords.observe(1)
	t.kinesisData.observe(float64(k.dataLen()))
	t.errors.observe(0)
}

func (d *deliveredMetrics) tally(shard string) *shardTally {
	if t, ok := d.shards[shard]; ok {
		return t
	}
	if d.shards == nil {
		d.shards = make(map[string]*shardTally)
	}
	t := &shardTally{shard: shard}
	d.shards[shard] = t
	d.order = append(d.order, t)
	return t
}

// record records the tallies: each shard's at its shard dimension, and
// their sums at the stream's and the metric's.
func (d *deliveredMetrics) record(m *metrics, now time.Time, stream string) {
	if m == nil || len(d.order) == 0 {
		return
	}
	var total shardTally
	for _, t := range d.order {
		t.each(func(name string, s stat) {
			if t.shard != "" {
				m.recordAt(now, seriesKey{name: name, stream: stream, shard: t.shard}, s)
			}
		})
		total.merge(t)
	}
	total.each(func(name string, s stat) {
		m.recordAt(now, seriesKey{name: name}, s)
		m.recordAt(now, seriesKey{name: name, stream: stream}, s)
	})
}

// tallyMetrics names the statistics of shardTally.stats, in their order.
var tallyMetrics = [...]string{
	MetricUserRecordsPut, MetricUserRecordsDataPut, MetricRetriesPerRecord, MetricBufferingTime, MetricUserRecordExpired,
	MetricUserRecordsPerKinesisRecord, MetricKinesisRecordsPut, MetricKinesisRecordsDataPut, MetricAllErrors,
}

// stats are the tally's statistics, one for each of tallyMetrics.
func (t *shardTally) stats() [len(tallyMetrics)]*stat {
	return [...]*stat{
		&t.records.put, &t.records.data, &t.records.retries, &t.records.buffering, &t.records.expired,
		&t.perKinesisRecord, &t.kinesisRecords, &t.kinesisData, &t.errors,
	}
}

// each calls f with every metric of the tally and its statistics.
func (t *shardTally) each(f func(name string, s stat)) {
	for i, s := range t.stats() {
		f(tallyMetrics[i], *s)
	}
}

func (t *shardTally) merge(o *shardTally) {
	theirs := o.stats()
	for i, s := range t.stats() {
		s.merge(*theirs[i])
	}
}

// request records the metrics of one PutRecords request; code is set when
// the request failed as a whole.
func (m *metrics) request(r *putRequest, code string) {
	if m == nil {
		return
	}
	users := 0
	for _, k := range r.records {
		users += len(k.records)
	}
	m.record(r.end, MetricRequestTime, "", r.stream.name, "", sample(milliseconds(r.end.Sub(r.start))))
	m.record(r.end, MetricKinesisRecordsPerPutRecordsRequest, "", r.stream.name, "", sample(float64(len(r.records))))
	m.record(r.end, MetricUserRecordsPerPutRecordsRequest, "", r.stream.name, "", sample(float64(users)))
	if code != "" {
		m.record(r.end, MetricAllErrors, "", r.stream.name, "", sample(1))
		m.record(r.end, MetricErrorsByCode, code, r.stream.name, "", sample(1))
	}
}

func milliseconds(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// metricsSampleInterval is how often the producer samples the records each
// stream holds (UserRecordsPending) and folds in the records received.
const metricsSampleInterval = 200 * time.Millisecond

// sampleMetrics runs until the producer's context ends.
func (p *Producer) sampleMetrics() {
	defer p.background.Done()
	tick := time.NewTicker(metricsSampleInterval)
	defer tick.Stop()
	for {
		select {
		case now := <-tick.C:
			p.eachPipeline(func(pl *pipeline) { pl.sampleMetrics(now, &p.metrics) })
		case <-p.ctx.Done():
			return
		}
	}
}

// sampleMetrics records the stream's records received since the last sample
// (each a sample of 1) and how many it holds now.
func (pl *pipeline) sampleMetrics(now time.Time, m *metrics) {
	if n := pl.received.Swap(0); n > 0 {
		m.record(now, MetricUserRecordsReceived, "", pl.id.name, "", stat{count: n, sum: float64(n), min: 1, max: 1})
	}
	m.record(now, MetricUserRecordsPending, "", pl.id.name, "", sample(float64(pl.pending.Load())))
}
