package core_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/gokpl/gokpl/core"
	"github.com/gokpl/gokpl/core/kinesistest"
)

// hookSaw is what an OnDone function observed when it ran.
type hookSaw struct {
	order      []int
	doneClosed bool
	result     *core.RecordResult
	err        error
}

// observe registers three OnDone functions on o, which record into saw their
// order, whether the channel Done returned beforehand was closed, and what
// Result returned; ran is closed after the last.
func observe(t *testing.T, o *core.Outcome, saw *hookSaw) (ran chan struct{}) {
	t.Helper()
	ran = make(chan struct{})
	done := o.Done() // the channel a waiter holds, made before resolution
	for i := range 3 {
		ok := o.OnDone(func() {
			saw.order = append(saw.order, i)
			if i > 0 {
				return
			}
			select {
			case <-done:
				saw.doneClosed = true
			default:
			}
			saw.result, saw.err = o.Result()
		})
		if !ok {
			t.Fatal("OnDone refused a pending outcome")
		}
	}
	if !o.OnDone(func() { close(ran) }) {
		t.Fatal("OnDone refused a pending outcome")
	}
	return ran
}

// OnDone functions run once each, in the order given, after Done is closed
// and with Result set: on the producer's goroutine when the pipeline
// resolves the outcome, and on Cancel's caller before Cancel returns.
func TestOutcomeOnDoneOrder(t *testing.T) {
	t.Run("resolved", func(t *testing.T) {
		p, _ := ecProducer(t, map[string]int{"events": 1}, func(c *core.Config) { c.RecordMaxBufferedTime = time.Minute })
		o := must(p.Put(context.Background(), core.Record{Stream: "events", PartitionKey: "k", Data: []byte("d")}))
		var saw hookSaw
		ran := observe(t, o, &saw)
		ecFlush(t, p)
		<-ran
		if len(saw.order) != 3 || saw.order[0] != 0 || saw.order[1] != 1 || saw.order[2] != 2 {
			t.Fatalf("functions ran in order %v, want [0 1 2]", saw.order)
		}
		if !saw.doneClosed {
			t.Fatal("an OnDone function ran before Done was closed")
		}
		if saw.err != nil || saw.result == nil || !saw.result.Success {
			t.Fatalf("Result inside OnDone = %+v, %v; want the success", saw.result, saw.err)
		}
		if o.OnDone(func() { t.Error("ran on a resolved outcome") }) {
			t.Fatal("OnDone accepted a resolved outcome")
		}
	})

	t.Run("cancelled", func(t *testing.T) {
		p, _ := ecProducer(t, map[string]int{"events": 1}, func(c *core.Config) { c.RecordMaxBufferedTime = time.Minute })
		o := must(p.Put(context.Background(), core.Record{Stream: "events", PartitionKey: "k", Data: []byte("d")}))
		var saw hookSaw
		ran := observe(t, o, &saw)
		if !o.Cancel() {
			t.Fatal("Cancel lost on a buffered record")
		}
		select {
		case <-ran: // Cancel ran the functions itself, before returning
		default:
			t.Fatal("Cancel returned before the OnDone functions ran")
		}
		if len(saw.order) != 3 || !saw.doneClosed || saw.result != nil || !errors.Is(saw.err, core.ErrCancelled) {
			t.Fatalf("inside OnDone: order %v, Done closed %v, Result %v, %v; want [0 1 2], true, nil, ErrCancelled",
				saw.order, saw.doneClosed, saw.result, saw.err)
		}
	})
}

// heldOutcomeBytes is the most live heap a resolved Outcome of an aggregated
// record may keep: the Outcome and its share of the result that the records
// of its Kinesis record share (about 32 bytes; the target of
// docs/benchmarks.md is 100).
const heldOutcomeBytes = 40

// A resolved outcome keeps only its result: the record's data and pipeline
// state are garbage once it resolves, and a record delivered at its first
// attempt keeps no Attempt of its own.
func TestHeldOutcomeIsSmall(t *testing.T) {
	const n = 50_000
	p, _ := ecProducer(t, map[string]int{"events": 4}, nil)
	data := make([]byte, 200)
	outcomes := make([]*core.Outcome, n)
	for i := range outcomes {
		outcomes[i] = must(p.Put(context.Background(), core.Record{Stream: "events", PartitionKey: fmt.Sprintf("key-%d", i), Data: data}))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, o := range outcomes {
		if r, err := o.Wait(ctx); err != nil || !r.Success {
			t.Fatalf("Wait = %+v, %v", r, err)
		}
	}
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	held := settledHeap()
	if r, _ := outcomes[n-1].Result(); r.AttemptCount() != 1 {
		t.Fatalf("a first-attempt success has %d attempts", r.AttemptCount())
	}
	clear(outcomes) // the slice stays: only the outcomes go
	perOutcome := (int64(held) - int64(settledHeap())) / n
	t.Logf("a held outcome keeps %d bytes", perOutcome)
	if perOutcome > heldOutcomeBytes {
		t.Errorf("a held resolved outcome keeps %d bytes of heap, want at most %d", perOutcome, heldOutcomeBytes)
	}
}

// settledHeap is the heap in use after a full collection, once the closed
// producer's goroutines and connections have let go of what they held: two
// measurements 10 ms apart within 16 KiB of each other.
func settledHeap() uint64 {
	last := liveHeap()
	for range 20 {
		time.Sleep(10 * time.Millisecond)
		now := liveHeap()
		if max(now, last)-min(now, last) < 16<<10 {
			return now
		}
		last = now
	}
	return last
}

// liveHeap is the heap in use after a full collection.
func liveHeap() uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// Attempts builds a first-attempt success's attempt from its compact form,
// and returns a copy the caller may change without changing the result.
func TestResultAttempts(t *testing.T) {
	p, _ := ecProducer(t, map[string]int{"events": 1}, nil)
	before := time.Now()
	r, err := waitErr(t, must(p.Put(context.Background(), core.Record{Stream: "events", PartitionKey: "k", Data: []byte("d")})))
	if err != nil {
		t.Fatal(err)
	}
	attempts := r.Attempts()
	if len(attempts) != 1 || r.AttemptCount() != 1 {
		t.Fatalf("attempts %+v, count %d: want one", attempts, r.AttemptCount())
	}
	a := attempts[0]
	if !a.Success || a.ShardID != r.ShardID || a.SequenceNumber != r.SequenceNumber || a.ErrorCode != "" {
		t.Fatalf("attempt %+v does not match result %+v", a, r)
	}
	if a.StartedAt.Before(before.Truncate(time.Nanosecond)) || a.EndedAt.Before(a.StartedAt) || time.Since(a.EndedAt) < 0 {
		t.Fatalf("attempt times %v..%v, put at %v", a.StartedAt, a.EndedAt, before)
	}
	attempts[0].ShardID = "changed"
	if r.Attempts()[0].ShardID != r.ShardID {
		t.Fatal("changing the returned slice changed the result")
	}
	var zero core.RecordResult
	if zero.AttemptCount() != 0 || zero.Attempts() != nil || zero.ErrorCode() != "" {
		t.Fatalf("the zero result has attempts: %d %+v", zero.AttemptCount(), zero.Attempts())
	}
}

// NewRecordResult takes success, shard and sequence number from the last
// attempt and keeps its own copy of the attempts.
func TestNewRecordResult(t *testing.T) {
	attempts := []core.Attempt{{ErrorCode: core.CodeThrottled}, {Success: true, ShardID: "shardId-000000000001", SequenceNumber: "7"}}
	r := core.NewRecordResult(attempts)
	attempts[1].ShardID = "changed"
	if !r.Success || r.ShardID != "shardId-000000000001" || r.SequenceNumber != "7" || r.AttemptCount() != 2 || r.ErrorCode() != "" || r.Err() != nil {
		t.Fatalf("NewRecordResult = %+v (%d attempts, code %q)", r, r.AttemptCount(), r.ErrorCode())
	}
	if r.Attempts()[1].ShardID != "shardId-000000000001" {
		t.Fatal("the result shares the caller's slice")
	}
	failed := core.NewRecordResult([]core.Attempt{{Success: true, ShardID: "shardId-000000000001"}, {ErrorCode: core.CodeExpired, ErrorMessage: "m"}})
	if failed.Success || failed.ShardID != "" || failed.ErrorCode() != core.CodeExpired || failed.ErrorMessage() != "m" {
		t.Fatalf("a result whose last attempt failed = %+v", failed)
	}
}

// The records of one Kinesis record delivered at their first attempt share
// one result; a record that failed before, aggregated with them on its
// retry, has its own, with its history.
func TestRecordsDeliveredTogetherShareTheirResult(t *testing.T) {
	p, srv := newProducer(t, 1, func(c *core.Config) { c.RecordMaxBufferedTime, c.RetryDeadline = time.Second, time.Second })
	srv.InjectFault("PutRecords", kinesistest.Fault{RecordFailures: []kinesistest.RecordFailure{{Index: 0, ErrorCode: "InternalFailure"}}})
	retried := put(t, p, core.Record{Stream: "s", PartitionKey: "retried", Data: []byte("r")})
	// Its first attempt leaves after the second of buffering and fails; the
	// retry comes back to the aggregator for another second, and the next
	// two records join it there.
	deadline := time.Now().Add(10 * time.Second)
	for p.Stats().RecordsRetried == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the first attempt was not retried")
		}
		time.Sleep(time.Millisecond)
	}
	a := put(t, p, core.Record{Stream: "s", PartitionKey: "a", Data: []byte("a")})
	b := put(t, p, core.Record{Stream: "s", PartitionKey: "b", Data: []byte("b")})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	ra, rb, rr := wait(t, a), wait(t, b), wait(t, retried)
	if ra != rb || ra.AttemptCount() != 1 || !ra.Success {
		t.Fatalf("two records delivered together at their first attempt: results %p %+v and %p %+v, want one shared", ra, ra, rb, rb)
	}
	if rr == ra || rr.AttemptCount() != 2 || rr.Attempts()[0].ErrorCode != "InternalFailure" {
		t.Fatalf("the retried record's result %+v, want its own with the failed attempt first", rr)
	}
	if rr.SequenceNumber != ra.SequenceNumber {
		t.Fatalf("retried record at %s, the others at %s: not in one Kinesis record", rr.SequenceNumber, ra.SequenceNumber)
	}
}
