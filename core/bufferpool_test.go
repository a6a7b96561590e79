package core

import "testing"

// Every size up to the largest class gets a buffer less than a quarter
// larger than it (4 KiB at least), in a class that put takes back, and
// larger sizes get a class further up.
func TestBufferClassesFitWithinAQuarter(t *testing.T) {
	sizes := []int{1, 4095, 4096}
	for octave := minBufferClassBits; octave <= maxBufferClassBits; octave++ {
		for _, quarter := range []int{4, 5, 6, 7, 8} {
			edge := quarter << (octave - 3)
			sizes = append(sizes, edge-1, edge, edge+1)
		}
	}
	lastClass, lastSize := 0, 0
	for _, size := range sizes {
		class, capacity, ok := bufferClass(size)
		if size > 1<<maxBufferClassBits {
			if ok {
				t.Errorf("size %d: class %d above the largest", size, class)
			}
			continue
		}
		if !ok || class < 0 || class >= bufferClasses {
			t.Fatalf("size %d: class %d, %v", size, class, ok)
		}
		if capacity < size || capacity > max(1<<minBufferClassBits, size*5/4) {
			t.Errorf("size %d: capacity %d", size, capacity)
		}
		if back, backCapacity, _ := bufferClass(capacity); back != class || backCapacity != capacity {
			t.Errorf("size %d: class %d of %d bytes, but a buffer of %d bytes is of class %d", size, class, capacity, capacity, back)
		}
		if size > lastSize && class < lastClass {
			t.Errorf("size %d: class %d, below size %d's %d", size, class, lastSize, lastClass)
		}
		lastClass, lastSize = class, size
	}
	if class, _, _ := bufferClass(1 << maxBufferClassBits); class != bufferClasses-1 {
		t.Errorf("the largest size is in class %d of %d", class, bufferClasses)
	}
}

// A buffer put back is the one a later get of a size of its class returns;
// buffers of other capacities, and sizes above the largest class, are not
// pooled.
func TestBufferPoolReusesBuffersOfItsClasses(t *testing.T) {
	var p bufferPool
	// The race detector's sync.Pool drops a quarter of what it is given, so
	// reuse is asked of one try in twenty.
	reused := false
	for range 20 {
		b := p.get(100_000)
		if cap(b) != 112*1024 || len(b) != 0 {
			t.Fatalf("get(100000): length %d, capacity %d; want 0 and 114688", len(b), cap(b))
		}
		b = append(b, 1)
		p.put(b)
		again := p.get(110_000)
		if reused = &again[:1][0] == &b[0]; reused {
			break
		}
	}
	if !reused {
		t.Error("a buffer put back was never reused")
	}

	p.put(make([]byte, 0, 100_000)) // not a class's capacity
	if b := p.get(100_000); cap(b) != 112*1024 {
		t.Errorf("get after putting a foreign buffer: capacity %d", cap(b))
	}
	huge := 1<<maxBufferClassBits + 1
	if b := p.get(huge); cap(b) != huge {
		t.Errorf("get(%d): capacity %d", huge, cap(b))
	}
}
