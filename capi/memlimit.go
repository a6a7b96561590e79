package main

import (
	"math"
	"os"
	"runtime/debug"
	"sync"
)

// The Go runtime's garbage collector lets the heap grow to twice what is
// live before it collects (GOGC=100). A producer under overload (a stream
// throttled for minutes) keeps its max_outstanding_bytes of records live,
// so without more the process would grow by twice its budget. While
// producers are open, the library therefore sets the runtime's soft memory
// limit to what their budgets allow, memoryLimitShare of their
// max_outstanding_bytes and memoryLimitBase for the rest of the runtime:
// far below it (the usual case) the collector paces itself as ever; near it,
// it collects more often instead of letting the process grow. Once the last
// producer closes, the limit is lifted. A GOMEMLIMIT set in the environment
// is the user's, and left as it is.
const (
	memoryLimitShare = 1.15
	memoryLimitBase  = 24 << 20
)

var memoryLimit = memoryLimiter{userSet: os.Getenv("GOMEMLIMIT") != ""}

// memoryLimiter sums the budgets of the open producers. Safe for concurrent use.
type memoryLimiter struct {
	userSet bool

	mu      sync.Mutex
	budgets int64
	open    int
}

// add counts a new producer's max_outstanding_bytes.
func (m *memoryLimiter) add(budget int64) { m.change(budget, 1) }

// remove lets go of a closed producer's budget.
func (m *memoryLimiter) remove(budget int64) { m.change(-budget, -1) }

func (m *memoryLimiter) change(budget int64, producers int) {
	if m.userSet {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.budgets += budget
	m.open += producers
	debug.SetMemoryLimit(m.limitLocked())
}

func (m *memoryLimiter) limitLocked() int64 {
	if m.open <= 0 {
		return math.MaxInt64
	}
	limit := float64(m.budgets)*memoryLimitShare + memoryLimitBase
	if limit >= math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(limit)
}
