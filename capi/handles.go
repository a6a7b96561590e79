package main

import (
	"sync"
	"sync/atomic"

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

// slabTable is a handle table for objects made and freed at a high rate
// (outcomes, one per record). Handles are issued in sequence and entries kept
// in fixed-size chunks, so adding is an append, looking up is two array
// indexings, and a chunk is dropped when its last entry is removed. Handles
// are never reused. Safe for concurrent use.
type slabTable[T any] struct {
	mu     sync.Mutex
	base   uint64 // handles are base+1, base+2, ...
	next   uint64 // sequence number of the next handle
	live   int
	chunks map[uint64]*slabChunk[T] // by sequence number >> slabChunkBits
	cur    *slabChunk[T]            // the chunk handles are issued from
}

const (
	slabChunkBits = 10
	slabChunkSize = 1 << slabChunkBits
)

type slabChunk[T any] struct {
	entries [slabChunkSize]T
	used    [slabChunkSize]bool
	live    int
}

func newSlabTable[T any](base uint64) *slabTable[T] {
	return &slabTable[T]{base: base, chunks: make(map[uint64]*slabChunk[T])}
}

func (t *slabTable[T]) add(obj T) uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	seq := t.next
	t.next++
	i := seq & (slabChunkSize - 1)
	if i == 0 {
		if t.cur != nil && t.cur.live == 0 {
			delete(t.chunks, (seq>>slabChunkBits)-1) // emptied while handles were still issued from it
		}
		t.cur = &slabChunk[T]{}
		t.chunks[seq>>slabChunkBits] = t.cur
	}
	t.cur.entries[i] = obj
	t.cur.used[i] = true
	t.cur.live++
	t.live++
	return t.base + seq + 1
}

// locate returns the chunk and index of a live handle, or nil. The caller holds mu.
func (t *slabTable[T]) locate(h uint64) (*slabChunk[T], uint64) {
	if h <= t.base {
		return nil, 0
	}
	seq := h - t.base - 1
	if seq >= t.next {
		return nil, 0
	}
	c := t.chunks[seq>>slabChunkBits]
	i := seq & (slabChunkSize - 1)
	if c == nil || !c.used[i] {
		return nil, 0
	}
	return c, i
}

func (t *slabTable[T]) get(h uint64) (T, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var zero T
	c, i := t.locate(h)
	if c == nil {
		return zero, false
	}
	return c.entries[i], true
}

// remove deletes the handle and returns what it held; a second remove finds nothing.
func (t *slabTable[T]) remove(h uint64) (T, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var zero T
	c, i := t.locate(h)
	if c == nil {
		return zero, false
	}
	obj := c.entries[i]
	c.entries[i] = zero
	c.used[i] = false
	c.live--
	t.live--
	if c.live == 0 && c != t.cur {
		delete(t.chunks, (h-t.base-1)>>slabChunkBits)
	}
	return obj, true
}

func (t *slabTable[T]) len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.live
}

// producerEntry is what a producer handle names: the engine and the queue
// through which its outcomes report completion (completions.go).
type producerEntry struct {
	p       *core.Producer
	budget  int64 // its max_outstanding_bytes, counted in the memory limit while it is open
	q       *completionQueue
	flushes flushTable
	streams sync.Map // stream name → *string: the same name, copied out of C memory once

	lastStream atomic.Pointer[string] // the name the latest put found, checked before streams
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
	outcomes  = newSlabTable[outcomeEntry](0x6f7574 << 40)     // "out"
	// queues holds each producer's completion queue under the producer's
	// handle, from gokpl_producer_new until the queue is drained after close.
	queues = newHandleTable[*completionQueue](0)
)
