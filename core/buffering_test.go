package core_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/gokpl/gokpl/core"
)

// sendTimes is a discardClient that notes when each PutRecords call starts,
// and how many bytes of data it carries.
type sendTimes struct {
	*discardClient
	mu    sync.Mutex
	times []time.Time
	bytes []int
}

func (c *sendTimes) PutRecords(ctx context.Context, in *kinesis.PutRecordsInput, opts ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error) {
	n := 0
	for _, e := range in.Records {
		n += len(e.Data)
	}
	c.mu.Lock()
	c.times = append(c.times, time.Now())
	c.bytes = append(c.bytes, n)
	c.mu.Unlock()
	return c.discardClient.PutRecords(ctx, in, opts...)
}

// warmedUpProducer makes a producer on client whose shard map is loaded
// (one record put and confirmed), with client's notes cleared a second
// later; it is closed when the test ends.
func warmedUpProducer(t *testing.T, cfg core.Config, client *sendTimes) *core.Producer {
	p, err := core.New(context.Background(), cfg, core.WithClient(client), core.WithoutMetrics())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close(context.Background()) })
	warm, err := p.Put(context.Background(), core.Record{Stream: "s", PartitionKey: "warm-up", Data: []byte("x")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := warm.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	client.mu.Lock()
	client.times, client.bytes = nil, nil
	client.mu.Unlock()
	return p
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
			p := warmedUpProducer(t, cfg, client)

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

// Aggregated records whose deadline came wait in the collector only to share
// a request with other shards' records; once they fill a request's worth
// (256 KiB) it leaves at once, and only the rest waits for the deadline.
// Here 2,400 records of 200 bytes, over 16 shards, all fall due together:
// the aggregator lets them go a fifth of the buffering time before their
// deadline (20 ms), and every full request must start then, not 15 ms later
// with the rest. Virtual time, so the times are exact.
func TestDueRecordsLeaveOnceTheyFillARequest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := benchConfig()
		cfg.RecordMaxBufferedTime = 100 * time.Millisecond
		client := &sendTimes{discardClient: newDiscardClient(16)}
		p := warmedUpProducer(t, cfg, client)

		put := time.Now()
		data := make([]byte, 200)
		var err error
		outcomes := make([]*core.Outcome, 2400)
		for i := range outcomes {
			outcomes[i], err = p.Put(context.Background(), core.Record{Stream: "s", PartitionKey: fmt.Sprint("key-", i), Data: data})
			if err != nil {
				t.Fatal(err)
			}
		}
		for _, o := range outcomes {
			if r, err := o.Wait(context.Background()); err != nil || !r.Success {
				t.Fatalf("result %+v, %v", r, err)
			}
		}
		client.mu.Lock()
		defer client.mu.Unlock()
		graced := cfg.RecordMaxBufferedTime - cfg.RecordMaxBufferedTime/5
		margined := cfg.RecordMaxBufferedTime - 5*time.Millisecond
		full, rest := 0, 0
		for i, at := range client.times {
			waited := at.Sub(put)
			switch {
			case client.bytes[i] >= 256<<10 && waited == graced:
				full++
			case client.bytes[i] < 256<<10 && waited == margined:
				rest++
			default:
				t.Errorf("request of %d bytes sent %v after the puts", client.bytes[i], waited)
			}
		}
		if full < 1 || rest != 1 {
			t.Errorf("%d full requests at %v and %d others at %v; want at least one, and one", full, graced, rest, margined)
		}
	})
}
