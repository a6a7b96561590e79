package main

import "testing"

func TestSlabTable(t *testing.T) {
	const base = 0x6f7574 << 40
	table := newSlabTable[int](base)
	var handles []uint64
	for i := range 3*slabChunkSize + 5 {
		h := table.add(i)
		if h <= base {
			t.Fatalf("handle %#x not above the base", h)
		}
		handles = append(handles, h)
	}
	if table.len() != len(handles) || len(table.chunks) != 4 {
		t.Fatalf("len %d, %d chunks", table.len(), len(table.chunks))
	}
	for i, h := range handles {
		if v, ok := table.get(h); !ok || v != i {
			t.Fatalf("get(%#x) = %d, %v", h, v, ok)
		}
	}
	for _, h := range []uint64{0, 1, base, base + uint64(len(handles)) + 1, 0x6b706c<<40 + 1, ^uint64(0)} {
		if _, ok := table.get(h); ok {
			t.Fatalf("get(%#x) found something", h)
		}
		if _, ok := table.remove(h); ok {
			t.Fatalf("remove(%#x) removed something", h)
		}
	}
	// Removing every handle of the first chunk drops it; a second remove finds nothing.
	for i, h := range handles[:slabChunkSize] {
		if v, ok := table.remove(h); !ok || v != i {
			t.Fatalf("remove(%#x) = %d, %v", h, v, ok)
		}
		if _, ok := table.remove(h); ok {
			t.Fatalf("second remove(%#x) removed something", h)
		}
		if _, ok := table.get(h); ok {
			t.Fatalf("get(%#x) after remove", h)
		}
	}
	if len(table.chunks) != 3 {
		t.Fatalf("%d chunks after emptying the first", len(table.chunks))
	}
	// Emptying the chunk handles are issued from keeps it until the next one starts.
	for _, h := range handles[slabChunkSize:] {
		table.remove(h)
	}
	if table.len() != 0 || len(table.chunks) != 1 {
		t.Fatalf("len %d, %d chunks when empty", table.len(), len(table.chunks))
	}
	for range slabChunkSize {
		table.remove(table.add(0))
	}
	if len(table.chunks) != 1 {
		t.Fatalf("%d chunks: emptied chunks must not pile up", len(table.chunks))
	}
}
