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

var (
	producers = newHandleTable[*core.Producer](0x6b706c << 40) // "kpl"
	outcomes  = newHandleTable[*core.Outcome](0x6f7574 << 40)  // "out"
)
