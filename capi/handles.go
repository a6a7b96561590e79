package main

import (
	"sync"

	"github.com/gokpl/gokpl/core"
)

// handleTable maps opaque handles to Go objects for C callers. Handles start
// far from 0 and from each other table's range, so 0, small integers and a
// handle of the wrong kind are never valid. Safe for concurrent use.
type handleTable[T any] struct {
	mu      sync.Mutex
	next    uint64
	objects map[uint64]T
}

func newHandleTable[T any](base uint64) *handleTable[T] {
	return &handleTable[T]{next: base, objects: make(map[uint64]T)}
}

func (t *handleTable[T]) add(obj T) uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.next++
	t.objects[t.next] = obj
	return t.next
}

// set stores obj under a handle another table issued (a producer's
// completion queue lives under the producer's handle).
func (t *handleTable[T]) set(h uint64, obj T) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.objects[h] = obj
}

func (t *handleTable[T]) get(h uint64) (T, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	obj, ok := t.objects[h]
	return obj, ok
}

// remove deletes the handle and returns what it held; a second remove finds nothing.
func (t *handleTable[T]) remove(h uint64) (T, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	obj, ok := t.objects[h]
	delete(t.objects, h)
	return obj, ok
}

func (t *handleTable[T]) len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.objects)
}

// producerEntry is what a producer handle names: the engine and the queue
// through which its outcomes report completion (completions.go).
type producerEntry struct {
	p *core.Producer
	q *completionQueue
}

// outcomeEntry is what an outcome handle names: the outcome and the
// completion queue of the producer that made it, which outlives that
// producer's handle.
type outcomeEntry struct {
	o *core.Outcome
	q *completionQueue
}

var (
	producers = newHandleTable[*producerEntry](0x6b706c << 40) // "kpl"
	outcomes  = newHandleTable[outcomeEntry](0x6f7574 << 40)   // "out"
	// queues holds each producer's completion queue under the producer's
	// handle, from gokpl_producer_new until the queue is drained after close.
	queues = newHandleTable[*completionQueue](0)
)
