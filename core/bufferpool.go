package core

import (
	"math/bits"
	"sync"
)

// Size classes of a bufferPool: four per power of two, from 4 KiB to 8 MiB
// (a PutRecords body is at most about 7 MB: 5 MiB of data in base64).
const (
	minBufferClassBits = 12 // class 0 holds 4 KiB, for any size up to that
	maxBufferClassBits = 23 // the largest class holds 8 MiB
	bufferClasses      = 1 + (maxBufferClassBits-minBufferClassBits)*4
)

// bufferPool recycles byte buffers by size class. The classes are a quarter
// of a power of two apart, so a buffer has less than a quarter more capacity
// than the size it was taken for, and sizes a little apart share buffers.
// Sizes above the largest class get buffers of their own, which put drops.
// Like any sync.Pool, it lets the garbage collector take idle buffers.
// Safe for concurrent use; a buffer must not be used once it is put back.
type bufferPool struct {
	classes [bufferClasses]sync.Pool // of *[]byte
}

// get returns an empty buffer with room for size bytes.
func (p *bufferPool) get(size int) []byte {
	class, capacity, ok := bufferClass(size)
	if !ok {
		return make([]byte, 0, size)
	}
	if b, ok := p.classes[class].Get().(*[]byte); ok {
		return (*b)[:0]
	}
	return make([]byte, 0, capacity)
}

// put hands b back for another get; b must not be used afterwards. A buffer
// whose capacity is not a class's is dropped.
func (p *bufferPool) put(b []byte) {
	class, capacity, ok := bufferClass(cap(b))
	if ok && cap(b) == capacity {
		p.classes[class].Put(&b)
	}
}

// bufferClass is the class of the buffers that hold size bytes and their
// capacity, or false above the largest class.
func bufferClass(size int) (class, capacity int, ok bool) {
	if size <= 1<<minBufferClassBits {
		return 0, 1 << minBufferClassBits, true
	}
	octave := bits.Len(uint(size - 1)) // 1<<(octave-1) < size <= 1<<octave
	if octave > maxBufferClassBits {
		return 0, 0, false
	}
	quarter := 1 << (octave - 3)                               // a quarter of 1<<(octave-1)
	quarters := (size + quarter - 1) / quarter                 // 5 to 8
	class = 1 + (octave-1-minBufferClassBits)*4 + quarters - 5 // 1 to bufferClasses-1
	return class, quarters * quarter, true
}
