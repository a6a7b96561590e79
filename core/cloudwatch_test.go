package core_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"

	"github.com/gokpl/gokpl/core"
	"github.com/gokpl/gokpl/core/kinesistest"
)

// fakeCloudWatch records PutMetricData calls.
type fakeCloudWatch struct {
	mu    sync.Mutex
	calls []*cloudwatch.PutMetricDataInput
}

func (f *fakeCloudWatch) PutMetricData(_ context.Context, in *cloudwatch.PutMetricDataInput, _ ...func(*cloudwatch.Options)) (*cloudwatch.PutMetricDataOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, in)
	return &cloudwatch.PutMetricDataOutput{}, nil
}

func TestMetricsUploadFiltersByLevelAndGranularityInBoundedBatches(t *testing.T) {
	srv := kinesistest.NewServer(kinesistest.Options{Streams: map[string]int{"a": 2, "b": 2}})
	defer srv.Close()
	cw := &fakeCloudWatch{}
	cfg := core.DefaultConfig()
	cfg.Region, cfg.EndpointURL, cfg.RecordMaxBufferedTime = "us-east-1", srv.URL, 10*time.Millisecond
	cfg.MetricsLevel, cfg.MetricsGranularity, cfg.MetricsUploadInterval = "summary", "stream", 200*time.Millisecond
	p, err := core.New(context.Background(), cfg, core.WithMetricsClient(cw))
	if err != nil {
		t.Fatal(err)
	}
	var outcomes []*core.Outcome
	for i := range 200 {
		outcomes = append(outcomes, put(t, p, core.Record{Stream: []string{"a", "b"}[i%2], PartitionKey: fmt.Sprint(i), Data: []byte("x")}))
	}
	for _, o := range outcomes {
		wait(t, o)
	}
	time.Sleep(1200 * time.Millisecond) // the seconds of the puts become uploadable
	want := p.Metrics(0)
	closeProducer(t, p) // uploads the rest

	cw.mu.Lock()
	defer cw.mu.Unlock()
	if len(cw.calls) == 0 {
		t.Fatal("nothing uploaded")
	}
	var putSum float64
	for _, call := range cw.calls {
		if aws.ToString(call.Namespace) != "KinesisProducerLibrary" || len(call.MetricData) > 20 {
			t.Fatalf("call to %s with %d datums", aws.ToString(call.Namespace), len(call.MetricData))
		}
		for _, d := range call.MetricData {
			name := aws.ToString(d.MetricName)
			for _, dim := range d.Dimensions {
				if aws.ToString(dim.Name) == core.DimensionShardID {
					t.Errorf("%s uploaded at shard level with granularity stream", name)
				}
			}
			switch name {
			case core.MetricUserRecordsDataPut, core.MetricRequestTime, core.MetricUserRecordsReceived:
				t.Errorf("detailed metric %s uploaded at level summary", name)
			case core.MetricUserRecordsPut:
				if len(d.Dimensions) == 0 {
					putSum += aws.ToFloat64(d.StatisticValues.Sum)
				}
			}
		}
	}
	global, _ := findMetric(want, core.MetricUserRecordsPut, map[string]string{})
	if putSum != global.Sum || putSum != 200 {
		t.Fatalf("uploaded UserRecordsPut sum %v, producer counted %v, want 200", putSum, global.Sum)
	}
}
