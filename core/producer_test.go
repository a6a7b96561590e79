package core_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/gokpl/gokpl/core"
	"github.com/gokpl/gokpl/core/kinesistest"
)

func TestMain(m *testing.M) {
	os.Setenv("AWS_ACCESS_KEY_ID", "test")
	os.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	goleak.VerifyTestMain(m)
}

// newProducer starts a fake endpoint with stream "s" of the given shards and
// a producer pointed at it; both stop at the end of the test.
func newProducer(t *testing.T, shards int, adjust func(*core.Config)) (*core.Producer, *kinesistest.Server) {
	t.Helper()
	srv := kinesistest.NewServer(kinesistest.Options{Streams: map[string]int{"s": shards}})
	t.Cleanup(srv.Close)
	cfg := core.DefaultConfig()
	cfg.Region = "us-east-1"
	cfg.EndpointURL = srv.URL
	cfg.RecordMaxBufferedTime = 10 * time.Millisecond
	if adjust != nil {
		adjust(&cfg)
	}
	p, err := core.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeProducer(t, p) })
	return p, srv
}

func closeProducer(t *testing.T, p *core.Producer) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.Close(ctx); err != nil {
		t.Errorf("close: %v", err)
	}
}

// stored returns the user records the fake endpoint holds for stream,
// de-aggregated, with the shard and sequence number of their Kinesis record.
func stored(t *testing.T, srv *kinesistest.Server, stream string) []storedRecord {
	t.Helper()
	var out []storedRecord
	for _, k := range srv.Records(stream) {
		records, err := core.Deaggregate(k.PartitionKey, k.ExplicitHashKey, k.Data)
		if err != nil {
			t.Fatalf("stored record in %s does not de-aggregate: %v", k.ShardID, err)
		}
		for _, r := range records {
			out = append(out, storedRecord{ShardID: k.ShardID, SequenceNumber: k.SequenceNumber, PartitionKey: r.PartitionKey, Data: string(r.Data)})
		}
	}
	return out
}

type storedRecord struct {
	ShardID, SequenceNumber, PartitionKey, Data string
}

func wait(t *testing.T, o *core.Outcome) *core.RecordResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r, err := o.Wait(ctx)
	if err != nil {
		t.Fatalf("wait: %v", err)
	}
	return r
}

func put(t *testing.T, p *core.Producer, r core.Record) *core.Outcome {
	t.Helper()
	o, err := p.Put(context.Background(), r)
	if err != nil {
		t.Fatalf("put: %v", err)
	}
	return o
}

func TestProducerDeliversOneRecord(t *testing.T) {
	p, srv := newProducer(t, 2, nil)
	r := wait(t, put(t, p, core.Record{Stream: "s", PartitionKey: "user-1", Data: []byte("hello")}))
	if !r.Success || r.ShardID == "" || r.SequenceNumber == "" || len(r.Attempts()) != 1 || !r.Attempts()[0].Success {
		t.Fatalf("result = %+v", r)
	}
	got := stored(t, srv, "s")
	if len(got) != 1 || got[0].ShardID != r.ShardID || got[0].SequenceNumber != r.SequenceNumber || got[0].Data != "hello" {
		t.Fatalf("stored = %+v, result = %+v", got, r)
	}
}

func TestProducerFlushResolvesEverythingPutBefore(t *testing.T) {
	p, srv := newProducer(t, 4, func(c *core.Config) { c.RecordMaxBufferedTime = time.Hour })
	var outcomes []*core.Outcome
	for i := range 2000 {
		outcomes = append(outcomes, put(t, p, core.Record{Stream: "s", PartitionKey: fmt.Sprint(i), Data: []byte("x")}))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	for i, o := range outcomes {
		if !o.IsDone() {
			t.Fatalf("outcome %d not resolved after flush", i)
		}
	}
	if n := len(stored(t, srv, "s")); n != 2000 {
		t.Fatalf("stored %d records, want 2000", n)
	}
	if p.Outstanding() != 0 {
		t.Fatalf("outstanding = %d", p.Outstanding())
	}
}

// A record is off the outstanding count by the time its outcome is
// resolved, delivered or failed, so that a waiter woken by the outcome reads
// the count without it; OnDone runs at resolution, so it sees what the
// earliest waiter could.
func TestResolvedRecordsAreNoLongerOutstanding(t *testing.T) {
	p, _ := newProducer(t, 1, nil)
	for _, stream := range []string{"s", "missing"} {
		seen := make(chan [2]int64, 1)
		o := put(t, p, core.Record{Stream: stream, PartitionKey: "k", Data: []byte("x")})
		if !o.OnDone(func() { seen <- [2]int64{p.Outstanding(), p.Stats().OutstandingRecords} }) {
			t.Fatal("resolved before the hook was set")
		}
		r := wait(t, o)
		if got := <-seen; got != [2]int64{0, 0} {
			t.Fatalf("stream %s (success %v): Outstanding and Stats' outstanding records at resolution = %v, want 0 and 0", stream, r.Success, got)
		}
	}
}

// A flush returns only once the room of the records it covered is back, so
// that a put right after it finds room without waiting. The window it closes
// is a few instructions wide; many rounds, with the failures on another
// path than the successes, give it chances to open.
func TestAPutAfterAFlushFindsTheRoomItsRecordsFreed(t *testing.T) {
	p, _ := newProducer(t, 1, func(c *core.Config) {
		c.MaxOutstandingRecords = 1
		c.RecordMaxBufferedTime = time.Hour
	})
	noWait, cancel := context.WithCancel(context.Background())
	cancel()
	for i := range 1000 {
		stream := []string{"s", "missing"}[i%2]
		if _, err := p.Put(noWait, core.Record{Stream: stream, PartitionKey: "k", Data: []byte("x")}); err != nil {
			t.Fatalf("round %d: put after the last flush returned: %v", i, err)
		}
		if err := p.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
}

func TestProducerRetriesOnlyFailedEntries(t *testing.T) {
	p, srv := newProducer(t, 1, func(c *core.Config) {
		c.RecordMaxBufferedTime = time.Hour
		c.AggregationEnabled = false // one entry per record
	})
	srv.InjectFault("PutRecords", kinesistest.Fault{RecordFailures: []kinesistest.RecordFailure{{Index: 1}}})
	a := put(t, p, core.Record{Stream: "s", PartitionKey: "a", Data: []byte("a")})
	b := put(t, p, core.Record{Stream: "s", PartitionKey: "b", Data: []byte("b")})
	if err := p.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	ra, rb := wait(t, a), wait(t, b)
	if !ra.Success || len(ra.Attempts()) != 1 {
		t.Fatalf("a = %+v", ra)
	}
	if !rb.Success || len(rb.Attempts()) != 2 || rb.Attempts()[0].ErrorCode != "ProvisionedThroughputExceededException" {
		t.Fatalf("b = %+v", rb)
	}
	if n := len(stored(t, srv, "s")); n != 2 {
		t.Fatalf("stored %d records, want 2 (no duplicate of a)", n)
	}
}

func TestProducerFailsAtOnceOnNonRetryableError(t *testing.T) {
	p, _ := newProducer(t, 1, nil)
	r := wait(t, put(t, p, core.Record{Stream: "missing", PartitionKey: "k", Data: []byte("x")}))
	if r.Success || r.ErrorCode() != "ResourceNotFoundException" || len(r.Attempts()) != 1 {
		t.Fatalf("result = %+v", r)
	}
}

func TestProducerFailIfThrottled(t *testing.T) {
	p, srv := newProducer(t, 1, func(c *core.Config) { c.FailIfThrottled = true })
	srv.InjectFault("PutRecords", kinesistest.ErrorFault(400, "ProvisionedThroughputExceededException", ""))
	r := wait(t, put(t, p, core.Record{Stream: "s", PartitionKey: "k", Data: []byte("x")}))
	if r.Success || r.ErrorCode() != "ProvisionedThroughputExceededException" || len(r.Attempts()) != 1 {
		t.Fatalf("result = %+v", r)
	}
}

func TestProducerExpiresRecordsPastTheirTTL(t *testing.T) {
	p, srv := newProducer(t, 1, func(c *core.Config) { c.RecordTTL = 300 * time.Millisecond })
	srv.SetFaultFunc(func(*kinesistest.Request) *kinesistest.Fault {
		f := kinesistest.ErrorFault(500, "InternalFailure", "")
		return &f
	})
	r := wait(t, put(t, p, core.Record{Stream: "s", PartitionKey: "k", Data: []byte("x")}))
	last := r.Attempts()[len(r.Attempts())-1]
	if r.Success || r.ErrorCode() != core.CodeExpired || len(r.Attempts()) < 2 || last.StartedAt != last.EndedAt {
		t.Fatalf("result = %+v", r)
	}
	if r.Attempts()[len(r.Attempts())-2].ErrorCode != "InternalFailure" {
		t.Fatalf("the attempt before expiry should carry its cause: %+v", r.Attempts())
	}
}

func TestProducerRecordCountMismatchFailsTheRequest(t *testing.T) {
	p, srv := newProducer(t, 1, nil)
	srv.InjectFault("PutRecords", kinesistest.Fault{ResponseRecordsDelta: -1})
	r := wait(t, put(t, p, core.Record{Stream: "s", PartitionKey: "k", Data: []byte("x")}))
	if r.Success || r.ErrorCode() != core.CodeRecordCountMismatch {
		t.Fatalf("result = %+v", r)
	}
}

func TestCancelBeforeSendWithdrawsTheRecord(t *testing.T) {
	p, srv := newProducer(t, 1, func(c *core.Config) { c.RecordMaxBufferedTime = time.Hour })
	o := put(t, p, core.Record{Stream: "s", PartitionKey: "k", Data: []byte("x")})
	if !o.Cancel() || o.Cancel() {
		t.Fatal("first cancel must win, the second must not")
	}
	if _, err := o.Wait(context.Background()); !errors.Is(err, core.ErrCancelled) {
		t.Fatalf("wait err = %v", err)
	}
	if err := p.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(stored(t, srv, "s")); n != 0 {
		t.Fatalf("a withdrawn record was sent (%d stored)", n)
	}
}

func TestCloseResolvesOpenRecordsAsClosed(t *testing.T) {
	srv := kinesistest.NewServer(kinesistest.Options{Streams: map[string]int{"s": 1}})
	defer srv.Close()
	cfg := core.DefaultConfig()
	cfg.Region, cfg.EndpointURL, cfg.RecordMaxBufferedTime = "us-east-1", srv.URL, time.Hour
	p, err := core.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	o := put(t, p, core.Record{Stream: "s", PartitionKey: "k", Data: []byte("x")})
	srv.SetFaultFunc(func(*kinesistest.Request) *kinesistest.Fault { return &kinesistest.Fault{Delay: time.Minute} })
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := p.Close(ctx); err == nil {
		t.Fatal("close should report the records it had to fail")
	}
	if elapsed := time.Since(start); elapsed > 3*time.Second {
		t.Fatalf("close took %v", elapsed)
	}
	r := wait(t, o)
	if r.Success || r.ErrorCode() != core.CodeProducerClosed {
		t.Fatalf("result = %+v", r)
	}
	if _, err := p.Put(context.Background(), core.Record{Stream: "s", PartitionKey: "k"}); !errors.Is(err, core.ErrClosed) {
		t.Fatalf("put after close: %v", err)
	}
	if err := p.Close(context.Background()); err != nil {
		t.Fatalf("second close: %v", err)
	}
}

func TestPutBlocksWhileFullThenFailsAtItsDeadline(t *testing.T) {
	p, _ := newProducer(t, 1, func(c *core.Config) {
		c.RecordMaxBufferedTime = time.Hour
		c.MaxOutstandingRecords = 2
	})
	put(t, p, core.Record{Stream: "s", PartitionKey: "a"})
	put(t, p, core.Record{Stream: "s", PartitionKey: "b"})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := p.Put(ctx, core.Record{Stream: "s", PartitionKey: "c"}); !errors.Is(err, core.ErrBackpressure) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want ErrBackpressure and the context's error", err)
	} else if !strings.HasSuffix(err.Error(), "(2 records, 1026 bytes outstanding)") {
		t.Fatalf("message %q, want the counts at its end", err)
	}
	// Room frees when the buffered records resolve.
	done := make(chan error, 1)
	go func() {
		_, err := p.Put(context.Background(), core.Record{Stream: "s", PartitionKey: "d"})
		done <- err
	}()
	if err := p.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestConcurrentPutsAndFlushes(t *testing.T) {
	p, srv := newProducer(t, 4, nil)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var outcomes []*core.Outcome
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				o, err := p.Put(context.Background(), core.Record{Stream: "s", PartitionKey: fmt.Sprint(g, "-", i), Data: []byte("x")})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				outcomes = append(outcomes, o)
				mu.Unlock()
				if i%100 == 0 {
					_ = p.Flush(context.Background())
				}
			}
		}()
	}
	wg.Wait()
	if err := p.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, o := range outcomes {
		if r := wait(t, o); !r.Success {
			t.Fatalf("result = %+v", r)
		}
	}
	if n := len(stored(t, srv, "s")); n != 4000 {
		t.Fatalf("stored %d, want 4000", n)
	}
}
