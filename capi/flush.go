package main

/*
#include "cgotypes.h"
*/
import "C"

import (
	"sync"

	"github.com/gokpl/gokpl/core"
)

// flushTable holds a producer's flushes begun from C until they are waited
// for, by id (never 0). Done flushes nobody waits for are dropped when the
// next one begins, so the table stays small. Safe for concurrent use.
type flushTable struct {
	mu      sync.Mutex
	last    uint64
	tickets map[uint64]*core.FlushTicket
}

func (f *flushTable) begin(p *core.Producer) uint64 {
	t := p.BeginFlush()
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.tickets == nil {
		f.tickets = make(map[uint64]*core.FlushTicket)
	}
	for id, old := range f.tickets {
		if old.Done() {
			delete(f.tickets, id)
		}
	}
	f.last++
	f.tickets[f.last] = t
	return f.last
}

// lookup returns the ticket for id; known is false for an id never given.
// A given id missing from the table belongs to a flush already done.
func (f *flushTable) lookup(id uint64) (t *core.FlushTicket, known bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.tickets[id], id != 0 && id <= f.last
}

func (f *flushTable) forget(id uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.tickets, id)
}

//export gokpl_producer_flush_begin
func gokpl_producer_flush_begin(producer C.gokpl_producer, flush *C.uint64_t) (status C.int32_t) {
	defer recoverPanic(&status, nil, 0)
	return fillFromProducer(producer, flush, func(e *producerEntry) C.uint64_t { return C.uint64_t(e.flushes.begin(e.p)) })
}

//export gokpl_producer_flush_wait
func gokpl_producer_flush_wait(producer C.gokpl_producer, flush C.uint64_t, timeoutMS C.int64_t) (status C.int32_t) {
	defer recoverPanic(&status, nil, 0)
	entry, ok := producers.get(uint64(producer))
	if !ok {
		return C.GOKPL_ERR_INVALID_HANDLE
	}
	t, known := entry.flushes.lookup(uint64(flush))
	switch {
	case !known:
		return C.GOKPL_ERR_INVALID_ARGUMENT
	case t == nil:
		return C.GOKPL_OK // done, and forgotten
	}
	ctx, cancel := contextFor(timeoutMS)
	defer cancel()
	if err := t.Wait(ctx); err != nil {
		return C.GOKPL_TIMEOUT
	}
	entry.flushes.forget(uint64(flush))
	return C.GOKPL_OK
}
