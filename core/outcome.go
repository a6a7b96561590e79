package core

import (
	"context"
	"sync"
	"sync/atomic"
)

// Outcome states.
const (
	outcomePending int32 = iota
	outcomeResolving
	outcomeResolved
	outcomeCancelled
)

// closedChannel is what Done returns for an outcome already resolved.
var closedChannel = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

// notifier carries the channel of a waiter and the functions to run when
// the outcome is done; notified marks an outcome whose waiters have been
// released.
type notifier struct {
	ch chan struct{}

	mu    sync.Mutex
	hooks []func()
	fired bool
}

var notified = &notifier{ch: closedChannel}

// Outcome is the promise of one record's RecordResult. It resolves exactly
// once: by the pipeline (success, failure, expiry, close) or by Cancel,
// whichever comes first. All methods are safe for concurrent use.
//
// An Outcome is an allocation of its own, 24 bytes, beside its record's
// pipeline state, which is garbage once the record is resolved: an Outcome
// held after that keeps only its result, which the records of one Kinesis
// record delivered at their first attempt share (see RecordResult). It
// creates its Done channel only when someone waits.
type Outcome struct {
	state  atomic.Int32
	waiter atomic.Pointer[notifier]
	result *RecordResult // set before the state says resolved
}

// Done is closed once the outcome is resolved or cancelled; Result returns
// the result (or ErrCancelled) by then. It is closed before the functions
// given to OnDone run, so a goroutine that Done wakes may run ahead of them.
func (o *Outcome) Done() <-chan struct{} {
	for {
		w := o.waiter.Load()
		if w != nil {
			return w.ch
		}
		if o.IsDone() {
			return closedChannel
		}
		w = &notifier{ch: make(chan struct{})}
		if o.waiter.CompareAndSwap(nil, w) {
			return w.ch
		}
	}
}

// OnDone arranges for f to run once, when the outcome is resolved or
// cancelled. It reports false, arranging nothing, when the outcome is done
// already (the caller then acts at once). Unlike waiting on Done, it costs
// no goroutine per outcome.
//
// f runs on the goroutine that resolves or cancels the outcome: one of the
// producer's goroutines, the caller of Close, or the caller of Cancel, before
// Cancel returns. It runs after Done's channel is closed, with Result
// already returning the result (or ErrCancelled), and the functions of one
// outcome run in the order they were given. A resolved record no longer
// counts in Outstanding nor in Stats' outstanding records when f runs, but
// it still holds its room in the producer's budget and counts in any Flush
// waiting for it, so f must be quick and must not block: not Flush or
// Close, nor a Put that may wait for room.
func (o *Outcome) OnDone(f func()) bool {
	for {
		w := o.waiter.Load()
		if w == nil {
			if o.IsDone() {
				return false
			}
			w = &notifier{ch: make(chan struct{})}
			if !o.waiter.CompareAndSwap(nil, w) {
				continue
			}
		}
		if w == notified {
			return false
		}
		w.mu.Lock()
		defer w.mu.Unlock()
		if w.fired {
			return false
		}
		w.hooks = append(w.hooks, f)
		return true
	}
}

// release wakes every waiter and runs the OnDone functions; a Done after it
// returns a closed channel.
func (o *Outcome) release() {
	w := o.waiter.Swap(notified)
	if w == nil || w == notified {
		return
	}
	close(w.ch)
	w.mu.Lock()
	hooks := w.hooks
	w.hooks, w.fired = nil, true
	w.mu.Unlock()
	for _, f := range hooks {
		f()
	}
}

// IsDone reports whether the outcome is resolved or cancelled.
func (o *Outcome) IsDone() bool {
	s := o.state.Load()
	return s == outcomeResolved || s == outcomeCancelled
}

// Wait blocks until the outcome resolves or ctx ends, and returns the
// record's result. A record that failed is a result, not Wait's error: the
// result carries every attempt, with the shard and sequence number of a
// success, and its Err method gives a failure as an error. Wait's error means
// there is no result: ctx.Err() when ctx ends first (the record carries on,
// and the outcome can be waited for again), or ErrCancelled after a
// successful Cancel. To treat both as errors:
//
//	result, err := outcome.Wait(ctx)
//	if err == nil {
//		err = result.Err()
//	}
func (o *Outcome) Wait(ctx context.Context) (*RecordResult, error) {
	if o.IsDone() {
		return o.Result()
	}
	select {
	case <-o.Done():
		return o.Result()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Result returns the result of a done outcome without blocking: ErrCancelled
// if it was cancelled, and (nil, nil) while it is still pending.
func (o *Outcome) Result() (*RecordResult, error) {
	switch o.state.Load() {
	case outcomeResolved:
		return o.result, nil
	case outcomeCancelled:
		return nil, ErrCancelled
	}
	return nil, nil
}

// Cancel resolves the outcome locally with ErrCancelled. It returns false when
// the outcome was already resolved or cancelled. A record not yet sent is then
// withdrawn and never sent; one already in a request may still be written.
func (o *Outcome) Cancel() bool {
	if !o.state.CompareAndSwap(outcomePending, outcomeCancelled) {
		return false
	}
	o.release()
	return true
}

// cancelled reports whether Cancel won, so stages can drop the record.
func (o *Outcome) cancelled() bool { return o.state.Load() == outcomeCancelled }

// resolve sets the result unless the outcome was cancelled; it reports
// whether this call resolved it.
func (o *Outcome) resolve(r *RecordResult) bool {
	if !o.state.CompareAndSwap(outcomePending, outcomeResolving) {
		return false
	}
	o.result = r
	o.state.Store(outcomeResolved)
	o.release()
	return true
}
