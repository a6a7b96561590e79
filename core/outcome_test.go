package core_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gokpl/gokpl/core"
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
