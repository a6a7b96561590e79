package kinesistest

import "sync"

// requestCounter counts requests per operation. It is safe for concurrent
// use.
type requestCounter struct {
	mu     sync.Mutex
	counts map[string]int
}

func (c *requestCounter) add(operation string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.counts == nil {
		c.counts = make(map[string]int)
	}
	c.counts[operation]++
}

func (c *requestCounter) snapshot() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	counts := make(map[string]int, len(c.counts))
	for op, n := range c.counts {
		counts[op] = n
	}
	return counts
}

func (c *requestCounter) get(operation string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.counts[operation]
}

// Requests returns how many requests for operation, such as "PutRecords",
// the server received, including failed and faulted ones.
func (s *Server) Requests(operation string) int {
	return s.requests.get(operation)
}
