package core

import (
	"sync"
	"time"
)

// intakePause is how long the intake's goroutine rests between batches
// while records keep coming. Meanwhile puts only queue: waking a parked
// goroutine for every record costs the putting thread a system call, which
// is far more than the record's own work.
const intakePause = 500 * time.Microsecond

// intake hands a stream's new records, the records back from a failed
// attempt, and its flushes, from the goroutines that put, send or flush them
// to the pipeline's own goroutine, which takes them through the stages in
// batches, in order. A put then only validates, copies and queues:
// the aggregation, hashing and encoding run beside the caller rather than on
// its thread, which matters most when the caller is a Python thread calling
// in through cgo. A flush queued behind records reaches the stages after
// them, so it pushes them out together. Safe for concurrent use: add and
// flush from any goroutine; one goroutine runs the batches until close.
type intake struct {
	next    func(*userRecord)   // the first stage
	again   func([]*userRecord) // the first stage, for the records of a failed attempt
	flushTo func(*epoch)        // push every stage for a flush

	mu      sync.Mutex
	queue   []intakeItem
	spare   []intakeItem // the previous batch's slice, reused
	closed  bool
	wake    chan struct{} // holds a token while the queue has items
	stop    chan struct{}
	stopped chan struct{}
}

// intakeItem is a record or, when u is nil, the records of a failed attempt
// or a flush marker: kept apart, so that the queue of records, which is
// copied as it grows on the putting thread, holds two words an item.
type intakeItem struct {
	u     *userRecord
	other *intakeOther
}

type intakeOther struct {
	retry []*userRecord
	flush *epoch
}

func newIntake(next func(*userRecord), again func([]*userRecord), flushTo func(*epoch)) *intake {
	in := &intake{
		next:    next,
		again:   again,
		flushTo: flushTo,
		wake:    make(chan struct{}, 1),
		stop:    make(chan struct{}),
		stopped: make(chan struct{}),
	}
	go in.run()
	return in
}

// add queues u for the pipeline's goroutine. It never waits for the stages.
func (in *intake) add(u *userRecord) { in.push(intakeItem{u: u}) }

// retry queues the records of a failed attempt as one item; false, queueing
// nothing, once the intake is closed.
func (in *intake) retry(records []*userRecord) bool {
	return in.push(intakeItem{other: &intakeOther{retry: records}})
}

// flush queues a push of every stage, for the flush whose epoch is sealed,
// behind the records queued so far. Ignored once the intake is closed.
func (in *intake) flush(sealed *epoch) { in.push(intakeItem{other: &intakeOther{flush: sealed}}) }

// push queues item; false once the intake is closed.
func (in *intake) push(item intakeItem) bool {
	in.mu.Lock()
	if in.closed {
		in.mu.Unlock()
		return false
	}
	in.queue = append(in.queue, item)
	first := len(in.queue) == 1
	in.mu.Unlock()
	if first {
		select {
		case in.wake <- struct{}{}:
		default:
		}
	}
	return true
}

// run takes batches through the stages until close, then the last ones.
// Woken by a first record, it passes on a batch every intakePause until a
// pause brings none, then waits to be woken again.
func (in *intake) run() {
	defer close(in.stopped)
	pause := time.NewTimer(intakePause)
	pause.Stop()
	for {
		select {
		case <-in.wake:
		case <-in.stop:
			in.drainAll()
			return
		}
		for in.drain() {
			pause.Reset(intakePause)
			select {
			case <-pause.C:
			case <-in.stop:
				pause.Stop()
				in.drainAll()
				return
			}
		}
	}
}

func (in *intake) drainAll() {
	for in.drain() {
	}
}

// drain passes on the queued items as one batch; false if there were none.
func (in *intake) drain() bool {
	in.mu.Lock()
	batch := in.queue
	in.queue, in.spare = in.spare[:0], nil
	in.mu.Unlock()
	if len(batch) == 0 {
		in.recycle(batch)
		return false
	}
	for i, item := range batch {
		switch {
		case item.u != nil:
			in.next(item.u)
		case item.other.retry != nil:
			in.again(item.other.retry)
		default:
			in.flushTo(item.other.flush)
		}
		batch[i] = intakeItem{}
	}
	in.recycle(batch)
	return true
}

func (in *intake) recycle(batch []intakeItem) {
	in.mu.Lock()
	if in.spare == nil {
		in.spare = batch[:0]
	}
	in.mu.Unlock()
}

// close passes on what is queued and stops the goroutine. Records may not
// be added once it has started; flushes are ignored.
func (in *intake) close() {
	in.mu.Lock()
	in.closed = true
	in.mu.Unlock()
	close(in.stop)
	<-in.stopped
}
