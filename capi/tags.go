package main

/*
#include "cgotypes.h"
*/
import "C"

import (
	"fmt"
	"unsafe"

	"github.com/gokpl/gokpl/core"
)

// cTags is the caller's array of tags, checked: every pointer non-NULL
// where its length says there are bytes, every has_value 0 or 1. It returns
// the message of the first mistake, or "".
func cTags(tags *C.gokpl_ctag, count C.size_t) ([]C.gokpl_tag, string) {
	if count == 0 {
		return nil, ""
	}
	if tags == nil {
		return nil, "tags is NULL with a tag_count"
	}
	if !fitsSlice[C.gokpl_tag](count) {
		return nil, "tag_count is larger than memory can hold"
	}
	ts := unsafe.Slice((*C.gokpl_tag)(unsafe.Pointer(tags)), int(count))
	for i := range ts {
		t := &ts[i]
		if t.has_value != 0 && t.has_value != 1 {
			return nil, fmt.Sprintf("tags[%d].has_value is %d, not 0 or 1", i, int32(t.has_value))
		}
		msg := badBytes(fmt.Sprintf("tags[%d].key", i), unsafe.Pointer(t.key), t.key_len)
		if msg == "" && t.has_value == 1 {
			msg = badBytes(fmt.Sprintf("tags[%d].value", i), unsafe.Pointer(t.value), t.value_len)
		}
		if msg != "" {
			return nil, msg
		}
	}
	return ts, ""
}

// goTags copies checked tags from C in one allocation of their bytes. Tags
// too large for any record are not copied: Put refuses them before keeping
// anything, so C's memory serves for the check.
func goTags(ts []C.gokpl_tag) []core.Tag {
	if len(ts) == 0 {
		return nil
	}
	total := uint64(0)
	for i := range ts {
		total += uint64(ts[i].key_len)
		if ts[i].has_value == 1 {
			total += uint64(ts[i].value_len)
		}
	}
	out := make([]core.Tag, len(ts))
	if total > core.MaxTagsSize {
		for i := range ts {
			out[i] = core.Tag{Key: cView(ts[i].key, ts[i].key_len)}
			if ts[i].has_value == 1 {
				out[i].Value, out[i].HasValue = cView(ts[i].value, ts[i].value_len), true
			}
		}
		return out
	}
	buf := make([]byte, 0, total)
	for i := range ts {
		out[i].Key, buf = appendCString(buf, ts[i].key, ts[i].key_len)
		if ts[i].has_value == 1 {
			out[i].Value, buf = appendCString(buf, ts[i].value, ts[i].value_len)
			out[i].HasValue = true
		}
	}
	return out
}

// appendCString appends a C string to buf, whose capacity holds it, and
// returns it as a Go string sharing buf's memory.
func appendCString(buf []byte, p *C.gokpl_cchar, n C.size_t) (string, []byte) {
	if p == nil || n == 0 {
		return "", buf
	}
	start := len(buf)
	buf = append(buf, unsafe.Slice((*byte)(unsafe.Pointer(p)), int(n))...)
	return unsafe.String(unsafe.SliceData(buf[start:]), int(n)), buf
}

// cView is a C string as a Go string without a copy, for the call only.
func cView(p *C.gokpl_cchar, n C.size_t) string {
	if p == nil || n == 0 {
		return ""
	}
	return unsafe.String((*byte)(unsafe.Pointer(p)), int(n))
}
