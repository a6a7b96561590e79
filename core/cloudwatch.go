package core

import (
	"context"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
)

// MetricsClient is the part of the CloudWatch API the uploader uses.
// *cloudwatch.Client implements it; tests substitute fakes.
type MetricsClient interface {
	PutMetricData(ctx context.Context, in *cloudwatch.PutMetricDataInput, opts ...func(*cloudwatch.Options)) (*cloudwatch.PutMetricDataOutput, error)
}

// PutMetricData limits the uploader keeps to, as the KPL does: at most 20
// datums and about 38 KiB of payload per call.
const (
	maxDatumsPerCall = 20
	maxBytesPerCall  = 38 << 10
	uploadTimeout    = 30 * time.Second

	finalUploadTimeout = 2 * time.Second
)

// Metrics granularities: the deepest dimension uploaded.
const (
	granularityGlobal = iota
	granularityStream
	granularityShard
)

// uploader sends the producer's metrics to CloudWatch every
// metrics_upload_interval_ms: each series with samples in the seconds since
// the last upload (up to one second ago), filtered by metrics_level and
// metrics_granularity, as statistic sets. Failures are logged, never fatal.
// It runs on one goroutine.
type uploader struct {
	client      MetricsClient
	metrics     *metrics
	namespace   string
	level       int
	granularity int
	interval    time.Duration
	log         *slog.Logger
	checkpoint  int64 // the last Unix second uploaded
}

func newUploader(cfg *Config, client MetricsClient, m *metrics, log *slog.Logger) *uploader {
	return &uploader{
		client:      client,
		metrics:     m,
		namespace:   cfg.MetricsNamespace,
		level:       map[string]int{"none": levelNone, "summary": levelSummary, "detailed": levelDetailed}[cfg.MetricsLevel],
		granularity: map[string]int{"global": granularityGlobal, "stream": granularityStream, "shard": granularityShard}[cfg.MetricsGranularity],
		interval:    cfg.MetricsUploadInterval,
		log:         log,
		checkpoint:  time.Now().Unix() - 1,
	}
}

// run uploads every interval until ctx ends, then once more for the last
// seconds, for at most finalUploadTimeout so that Close stays bounded.
func (u *uploader) run(ctx context.Context) {
	tick := time.NewTicker(u.interval)
	defer tick.Stop()
	for {
		select {
		case now := <-tick.C:
			u.upload(ctx, now)
		case <-ctx.Done():
			final, cancel := context.WithTimeout(context.Background(), finalUploadTimeout)
			u.upload(final, time.Now().Add(time.Second))
			cancel()
			return
		}
	}
}

// upload sends the seconds in (checkpoint, now−1s].
func (u *uploader) upload(ctx context.Context, now time.Time) {
	to := now.Unix() - 1
	if to <= u.checkpoint {
		return
	}
	datums := u.datums(u.checkpoint, to, now)
	u.checkpoint = to
	for len(datums) > 0 {
		n, size := 0, 0
		for n < len(datums) && n < maxDatumsPerCall && size+datumSize(&datums[n]) <= maxBytesPerCall {
			size += datumSize(&datums[n])
			n++
		}
		n = max(n, 1)
		call, cancel := context.WithTimeout(ctx, uploadTimeout)
		_, err := u.client.PutMetricData(call, &cloudwatch.PutMetricDataInput{Namespace: aws.String(u.namespace), MetricData: datums[:n]})
		cancel()
		if err != nil {
			u.log.Warn("gokpl: uploading metrics failed", "namespace", u.namespace, "datums", n, "error", err)
		}
		datums = datums[n:]
	}
}

// datums builds a statistic set per eligible series with samples in (from, to].
func (u *uploader) datums(from, to int64, now time.Time) []types.MetricDatum {
	var out []types.MetricDatum
	u.metrics.series.Range(func(k, v any) bool {
		key := k.(seriesKey)
		spec := metricSpecs[key.name]
		if spec.level > u.level || key.granularity() > u.granularity {
			return true
		}
		s := v.(*accumulator).between(from, to)
		if s.count == 0 {
			return true
		}
		out = append(out, types.MetricDatum{
			MetricName: aws.String(key.name),
			Dimensions: key.cloudWatchDimensions(),
			Unit:       types.StandardUnit(spec.unit),
			Timestamp:  aws.Time(now),
			StatisticValues: &types.StatisticSet{
				SampleCount: aws.Float64(float64(s.count)),
				Sum:         aws.Float64(s.sum),
				Minimum:     aws.Float64(s.min),
				Maximum:     aws.Float64(s.max),
			},
		})
		return true
	})
	return out
}

func (k seriesKey) granularity() int {
	switch {
	case k.shard != "":
		return granularityShard
	case k.stream != "":
		return granularityStream
	}
	return granularityGlobal
}

// cloudWatchDimensions lists the dimensions in the KPL's path order.
func (k seriesKey) cloudWatchDimensions() []types.Dimension {
	var d []types.Dimension
	for _, kv := range [][2]string{{DimensionErrorCode, k.errorCode}, {DimensionStreamName, k.stream}, {DimensionShardID, k.shard}} {
		if kv[1] != "" {
			d = append(d, types.Dimension{Name: aws.String(kv[0]), Value: aws.String(kv[1])})
		}
	}
	return d
}

// datumSize estimates a datum's share of the request payload.
func datumSize(d *types.MetricDatum) int {
	size := 200 + len(aws.ToString(d.MetricName))
	for _, dim := range d.Dimensions {
		size += 40 + len(aws.ToString(dim.Name)) + len(aws.ToString(dim.Value))
	}
	return size
}
