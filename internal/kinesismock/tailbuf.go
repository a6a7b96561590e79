package kinesismock

import "sync"

// tailBuffer is an io.Writer that keeps only the last max bytes written to
// it. It collects the emulator's stdout and stderr so that start failures
// can show what the emulator said without letting a chatty emulator grow
// memory without bound. It is safe for concurrent use.
type tailBuffer struct {
	mu      sync.Mutex
	max     int
	buf     []byte
	dropped int64
}

func newTailBuffer(max int) *tailBuffer {
	return &tailBuffer{max: max, buf: make([]byte, 0, max)}
}

// Write appends p, discarding the oldest bytes beyond the limit. It never
// fails.
func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := len(p)
	if len(p) >= b.max {
		b.dropped += int64(len(b.buf) + len(p) - b.max)
		b.buf = append(b.buf[:0], p[len(p)-b.max:]...)
		return n, nil
	}
	if over := len(b.buf) + len(p) - b.max; over > 0 {
		b.dropped += int64(over)
		kept := copy(b.buf, b.buf[over:])
		b.buf = b.buf[:kept]
	}
	b.buf = append(b.buf, p...)
	return n, nil
}

// Tail returns at most the last n bytes kept, and whether anything older
// (written earlier or cut here) is missing from the result.
func (b *tailBuffer) Tail(n int) (string, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if n <= 0 || n > len(b.buf) {
		n = len(b.buf)
	}
	return string(b.buf[len(b.buf)-n:]), b.dropped > 0 || n < len(b.buf)
}
