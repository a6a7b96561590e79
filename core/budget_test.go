package core_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/gokpl/gokpl/core"
)

// blockingClient holds every PutRecords until release is closed.
type blockingClient struct {
	serviceClient
	started chan struct{}
	release chan struct{}
}

func (c *blockingClient) PutRecords(ctx context.Context, in *kinesis.PutRecordsInput, opts ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error) {
	c.started <- struct{}{}
	<-c.release
	return c.serviceClient.PutRecords(ctx, in, opts...)
}

// TestRequestBodiesInFlightCountAgainstTheByteBudget: a request's body is a
// second copy of its records' data while the request lasts, so a put that
// fits beside the records alone waits while their request is in flight.
func TestRequestBodiesInFlightCountAgainstTheByteBudget(t *testing.T) {
	client := &blockingClient{started: make(chan struct{}, 16), release: make(chan struct{})}
	p := newServiceProducer(t, client, func(c *core.Config) {
		c.MaxOutstandingBytes = 1 << 20
		c.AggregationEnabled = false
	})
	first := put(t, p, core.Record{Stream: "s", PartitionKey: "a", Data: make([]byte, 600<<10)})
	select {
	case <-client.started:
	case <-time.After(5 * time.Second):
		t.Fatal("the first record's request did not start")
	}
	// 600 KiB of records and about 800 KiB of body in flight: 100 KiB more does not fit.
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := p.Put(ctx, core.Record{Stream: "s", PartitionKey: "b", Data: make([]byte, 100<<10)}); !errors.Is(err, core.ErrBackpressure) {
		t.Fatalf("put beside a request body in flight: %v, want backpressure", err)
	}
	close(client.release)
	if r := wait(t, first); !r.Success {
		t.Fatalf("%+v", r)
	}
	second := put(t, p, core.Record{Stream: "s", PartitionKey: "b", Data: make([]byte, 100<<10)})
	if r := wait(t, second); !r.Success {
		t.Fatalf("%+v", r)
	}
}

// TestTheByteBudgetCountsWhatARecordHolds: a record counts its data, its
// partition key and its bookkeeping against max_outstanding_bytes, and a
// record retried counts its history too, until it is resolved.
func TestTheByteBudgetCountsWhatARecordHolds(t *testing.T) {
	client := &blockingClient{started: make(chan struct{}, 16), release: make(chan struct{})}
	p := newServiceProducer(t, client, func(c *core.Config) { c.AggregationEnabled = false })
	o := put(t, p, core.Record{Stream: "s", PartitionKey: "key", Data: make([]byte, 1000)})
	if got := p.Stats().OutstandingBytes; got < 1000+3+512 {
		t.Fatalf("outstanding bytes %d for a record of 1000 bytes of data and a 3-byte key", got)
	}
	<-client.started
	close(client.release)
	wait(t, o)
	// The room goes back right after the outcome resolves, not before it.
	deadline := time.Now().Add(5 * time.Second)
	for p.Stats().OutstandingBytes != 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if got := p.Stats().OutstandingBytes; got != 0 {
		t.Fatalf("outstanding bytes %d once every record is resolved", got)
	}
}
