package core_test

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/gokpl/gokpl/core"
)

// sendTimes is a discardClient that notes when each PutRecords call starts.
type sendTimes struct {
	*discardClient
	mu    sync.Mutex
	times []time.Time
}

func (c *sendTimes) PutRecords(ctx context.Context, in *kinesis.PutRecordsInput, opts ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error) {
	c.mu.Lock()
	c.times = append(c.times, time.Now())
	c.mu.Unlock()
	return c.discardClient.PutRecords(ctx, in, opts...)
}

// A record is sent within record_max_buffered_time_ms of its put, less the
// collector's send margin: the collector's grace (a fifth of the buffering
// time here) comes out of that time instead of adding to it. Virtual time,
// so the bound is exact.
func TestRecordsLeaveWithinTheirBufferingTime(t *testing.T) {
	for _, aggregation := range []bool{true, false} {
		synctest.Test(t, func(t *testing.T) {
			cfg := benchConfig()
			cfg.RecordMaxBufferedTime = 100 * time.Millisecond
			cfg.AggregationEnabled = aggregation
			client := &sendTimes{discardClient: newDiscardClient(4)}
			p, err := core.New(context.Background(), cfg, core.WithClient(client), core.WithoutMetrics())
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close(context.Background())
			warm, err := p.Put(context.Background(), core.Record{Stream: "s", PartitionKey: "warm-up", Data: []byte("x")})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := warm.Wait(context.Background()); err != nil {
				t.Fatal(err)
			}
			time.Sleep(time.Second)
			client.mu.Lock()
			client.times = nil
			client.mu.Unlock()

			put := time.Now()
			o, err := p.Put(context.Background(), core.Record{Stream: "s", PartitionKey: "k", Data: []byte("data")})
			if err != nil {
				t.Fatal(err)
			}
			if r, err := o.Wait(context.Background()); err != nil || !r.Success {
				t.Fatalf("result %+v, %v", r, err)
			}
			client.mu.Lock()
			defer client.mu.Unlock()
			if len(client.times) != 1 {
				t.Fatalf("aggregation %v: %d requests, want 1", aggregation, len(client.times))
			}
			// Due a margin (5 ms here) before the deadline, so that on a loaded
			// machine the request still starts within the buffering time; and
			// not much earlier, or records would lose their time to aggregate.
			earliest, latest := cfg.RecordMaxBufferedTime/2, cfg.RecordMaxBufferedTime-5*time.Millisecond
			if waited := client.times[0].Sub(put); waited > latest || waited < earliest {
				t.Errorf("aggregation %v: sent %v after the put, want %v to %v", aggregation, waited, earliest, latest)
			}
		})
	}
}
