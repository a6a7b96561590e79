//go:build gokpl_abitest

package main

// Test support, built only with the gokpl_abitest tag: Go wrappers that call
// the library's functions through their C declarations in gokpl.h, as a C
// program would: arguments go through C memory, results come back through C
// out-parameters. They are for this package's tests, which cannot use cgo
// themselves (Go allows no cgo in _test.go files); the tests that use them
// carry the same tag, `make test-go` sets it, and without it
// TestABITestsNeedTheirBuildTag fails. The library is built without the
// tag, so it holds none of their C stubs.

/*
#include <stdlib.h>
#include "gokpl.h"
*/
import "C"

import "unsafe"

// cString copies s into C memory; the caller frees it with C.free. A nil
// result stands for the empty string, passed as (NULL, 0).
func cString(s string) *C.char {
	if s == "" {
		return nil
	}
	return C.CString(s)
}

func cFree(p *C.char) {
	if p != nil {
		C.free(unsafe.Pointer(p))
	}
}

// errorBuffer is a C buffer for an error message.
type errorBuffer struct {
	p   *C.char
	cap C.size_t
}

func newErrorBuffer(n int) errorBuffer {
	return errorBuffer{p: (*C.char)(C.calloc(C.size_t(n), 1)), cap: C.size_t(n)}
}

func (b errorBuffer) String() string { return C.GoString(b.p) }
func (b errorBuffer) free()          { C.free(unsafe.Pointer(b.p)) }

func callABIVersion() int32 { return int32(C.gokpl_abi_version()) }

func callVersion(capacity int) (string, int32) {
	buf := newErrorBuffer(max(capacity, 1))
	defer buf.free()
	status := C.gokpl_version(buf.p, C.size_t(capacity))
	return buf.String(), int32(status)
}

func callProducerNew(config string) (uint64, int32, string) {
	cfg := cString(config)
	defer cFree(cfg)
	buf := newErrorBuffer(1024)
	defer buf.free()
	out := (*C.gokpl_producer)(C.malloc(C.size_t(unsafe.Sizeof(C.gokpl_producer(0)))))
	defer C.free(unsafe.Pointer(out))
	*out = 0
	status := C.gokpl_producer_new(cfg, C.size_t(len(config)), out, buf.p, buf.cap)
	return uint64(*out), int32(status), buf.String()
}

// abiRecord is one record for callPut and callPutBatch; a nil HashKey sends
// NULL, a nil Data sends (NULL, 0). Tags go with callPut only.
type abiRecord struct {
	PartitionKey string
	HashKey      *string
	Data         []byte
	Tags         []abiTag
}

// abiTag is one tag for callPut; a nil Value sends has_value 0.
type abiTag struct {
	Key   string
	Value *string
}

// cTagArray copies tags into a C array of gokpl_tag (NULL for none) and
// returns it with the function that frees it.
func cTagArray(tags []abiTag) (*C.gokpl_tag, func()) {
	if len(tags) == 0 {
		return nil, func() {}
	}
	arr := (*C.gokpl_tag)(C.calloc(C.size_t(len(tags)), C.size_t(unsafe.Sizeof(C.gokpl_tag{}))))
	ts := unsafe.Slice(arr, len(tags))
	var strs []*C.char
	for i, t := range tags {
		k := C.CString(t.Key)
		strs = append(strs, k)
		ts[i].key, ts[i].key_len = k, C.size_t(len(t.Key))
		if t.Value != nil {
			v := C.CString(*t.Value)
			strs = append(strs, v)
			ts[i].value, ts[i].value_len, ts[i].has_value = v, C.size_t(len(*t.Value)), 1
		}
	}
	return arr, func() {
		for _, p := range strs {
			C.free(unsafe.Pointer(p))
		}
		C.free(unsafe.Pointer(arr))
	}
}

func callPut(producer uint64, stream string, r abiRecord, timeoutMS int64) (uint64, int32, string) {
	s, k := cString(stream), cString(r.PartitionKey)
	defer cFree(s)
	defer cFree(k)
	var hash *C.char
	var hashLen int
	if r.HashKey != nil {
		hash, hashLen = C.CString(*r.HashKey), len(*r.HashKey)
		defer cFree(hash)
	}
	var data unsafe.Pointer
	if r.Data != nil {
		data = C.CBytes(r.Data)
		defer C.free(data)
	}
	tags, freeTags := cTagArray(r.Tags)
	defer freeTags()
	buf := newErrorBuffer(1024)
	defer buf.free()
	out := (*C.gokpl_outcome)(C.malloc(8))
	defer C.free(unsafe.Pointer(out))
	*out = 0
	status := C.gokpl_producer_put(C.gokpl_producer(producer),
		s, C.size_t(len(stream)), k, C.size_t(len(r.PartitionKey)), hash, C.size_t(hashLen),
		(*C.uint8_t)(data), C.size_t(len(r.Data)), tags, C.size_t(len(r.Tags)),
		C.int64_t(timeoutMS), out, buf.p, buf.cap)
	return uint64(*out), int32(status), buf.String()
}

// callPutPacked puts records through gokpl_producer_put_packed (their hash keys are ignored).
func callPutPacked(producer uint64, stream string, records []abiRecord, timeoutMS int64) ([]uint64, int, int32, string) {
	var keys, data []byte
	keyLens := (*C.uint32_t)(C.calloc(C.size_t(len(records)+1), 4))
	dataLens := (*C.uint32_t)(C.calloc(C.size_t(len(records)+1), 4))
	defer C.free(unsafe.Pointer(keyLens))
	defer C.free(unsafe.Pointer(dataLens))
	kl, dl := unsafe.Slice(keyLens, len(records)), unsafe.Slice(dataLens, len(records))
	for i, r := range records {
		keys, data = append(keys, r.PartitionKey...), append(data, r.Data...)
		kl[i], dl[i] = C.uint32_t(len(r.PartitionKey)), C.uint32_t(len(r.Data))
	}
	s := cString(stream)
	defer cFree(s)
	var k, d unsafe.Pointer
	if len(keys) > 0 {
		k = C.CBytes(keys)
		defer C.free(k)
	}
	if len(data) > 0 {
		d = C.CBytes(data)
		defer C.free(d)
	}
	outs := (*C.gokpl_outcome)(C.calloc(C.size_t(len(records)+1), 8))
	defer C.free(unsafe.Pointer(outs))
	accepted := (*C.size_t)(C.malloc(8))
	defer C.free(unsafe.Pointer(accepted))
	buf := newErrorBuffer(1024)
	defer buf.free()
	status := C.gokpl_producer_put_packed(C.gokpl_producer(producer), s, C.size_t(len(stream)),
		(*C.char)(k), keyLens, (*C.uint8_t)(d), dataLens, C.size_t(len(records)),
		C.int64_t(timeoutMS), outs, accepted, buf.p, buf.cap)
	handles := make([]uint64, len(records))
	for i, h := range unsafe.Slice(outs, len(records)) {
		handles[i] = uint64(h)
	}
	return handles, int(*accepted), int32(status), buf.String()
}

// callPutQuick returns the handle, or 0 and the status of a negative result.
func callPutQuick(producer uint64, stream string, r abiRecord) (uint64, int32) {
	s, k := cString(stream), cString(r.PartitionKey)
	defer cFree(s)
	defer cFree(k)
	var data unsafe.Pointer
	if r.Data != nil {
		data = C.CBytes(r.Data)
		defer C.free(data)
	}
	h := int64(C.gokpl_producer_put_quick(C.gokpl_producer(producer),
		s, C.size_t(len(stream)), k, C.size_t(len(r.PartitionKey)), (*C.uint8_t)(data), C.size_t(len(r.Data))))
	if h < 0 {
		return 0, int32(-h)
	}
	return uint64(h), statusOK
}

func callPutBatch(producer uint64, stream string, records []abiRecord, timeoutMS int64) ([]uint64, int, int32, string) {
	n := len(records)
	s := cString(stream)
	defer cFree(s)
	recs := (*C.gokpl_record)(C.calloc(C.size_t(max(n, 1)), C.size_t(unsafe.Sizeof(C.gokpl_record{}))))
	defer C.free(unsafe.Pointer(recs))
	view := unsafe.Slice(recs, max(n, 1))
	for i, r := range records {
		k := cString(r.PartitionKey)
		defer cFree(k)
		view[i].partition_key, view[i].partition_key_len = k, C.size_t(len(r.PartitionKey))
		if r.HashKey != nil {
			h := C.CString(*r.HashKey)
			defer cFree(h)
			view[i].explicit_hash_key, view[i].explicit_hash_key_len = h, C.size_t(len(*r.HashKey))
		}
		if r.Data != nil {
			d := C.CBytes(r.Data)
			defer C.free(d)
			view[i].data, view[i].data_len = (*C.uint8_t)(d), C.size_t(len(r.Data))
		}
	}
	outs := (*C.gokpl_outcome)(C.calloc(C.size_t(max(n, 1)), 8))
	defer C.free(unsafe.Pointer(outs))
	accepted := (*C.size_t)(C.malloc(C.size_t(unsafe.Sizeof(C.size_t(0)))))
	defer C.free(unsafe.Pointer(accepted))
	buf := newErrorBuffer(1024)
	defer buf.free()
	status := C.gokpl_producer_put_batch(C.gokpl_producer(producer), s, C.size_t(len(stream)),
		recs, C.size_t(n), C.int64_t(timeoutMS), outs, accepted, buf.p, buf.cap)
	handles := make([]uint64, n)
	for i, h := range unsafe.Slice(outs, max(n, 1))[:n] {
		handles[i] = uint64(h)
	}
	return handles, int(*accepted), int32(status), buf.String()
}

func callFlush(producer uint64, timeoutMS int64) int32 {
	return int32(C.gokpl_producer_flush(C.gokpl_producer(producer), C.int64_t(timeoutMS)))
}

func callFlushBegin(producer uint64) (uint64, int32) {
	out := (*C.uint64_t)(C.malloc(8))
	defer C.free(unsafe.Pointer(out))
	*out = 0
	status := C.gokpl_producer_flush_begin(C.gokpl_producer(producer), out)
	return uint64(*out), int32(status)
}

func callFlushWait(producer, flush uint64, timeoutMS int64) int32 {
	return int32(C.gokpl_producer_flush_wait(C.gokpl_producer(producer), C.uint64_t(flush), C.int64_t(timeoutMS)))
}

func callOutstanding(producer uint64) (int64, int32) {
	out := (*C.int64_t)(C.malloc(8))
	defer C.free(unsafe.Pointer(out))
	*out = -1
	status := C.gokpl_producer_outstanding(C.gokpl_producer(producer), out)
	return int64(*out), int32(status)
}

// abiStats mirrors gokpl_stats.
type abiStats struct {
	RecordsPut, RecordsSucceeded, RecordsFailed, RecordsCancelled, RecordsRetried     int64
	KinesisRecordsSent, Requests, RequestErrors, OutstandingRecords, OutstandingBytes int64
	RequestsThrottled                                                                 int64
}

func callStats(producer uint64) (abiStats, int32) {
	out := (*C.gokpl_stats)(C.calloc(1, C.size_t(unsafe.Sizeof(C.gokpl_stats{}))))
	defer C.free(unsafe.Pointer(out))
	status := C.gokpl_producer_stats(C.gokpl_producer(producer), out)
	return abiStats{
		int64(out.records_put), int64(out.records_succeeded), int64(out.records_failed),
		int64(out.records_cancelled), int64(out.records_retried), int64(out.kinesis_records_sent),
		int64(out.requests), int64(out.request_errors), int64(out.outstanding_records), int64(out.outstanding_bytes),
		int64(out.requests_throttled),
	}, int32(status)
}

// callMetrics calls gokpl_producer_metrics with a buffer of capacity bytes
// (NULL for 0) and returns what it wrote, the length it reported and the status.
func callMetrics(producer uint64, windowMS int64, capacity int) (string, int, int32) {
	var buf *C.char
	if capacity > 0 {
		buf = (*C.char)(C.calloc(C.size_t(capacity), 1))
		defer C.free(unsafe.Pointer(buf))
	}
	n := (*C.size_t)(C.malloc(C.size_t(unsafe.Sizeof(C.size_t(0)))))
	defer C.free(unsafe.Pointer(n))
	*n = 12345
	status := C.gokpl_producer_metrics(C.gokpl_producer(producer), C.int64_t(windowMS), buf, C.size_t(capacity), n)
	var text string
	if status == C.GOKPL_OK && *n > 0 {
		text = C.GoStringN(buf, C.int(*n))
	}
	return text, int(*n), int32(status)
}

// callMetricsNullLength passes NULL for len.
func callMetricsNullLength(producer uint64) int32 {
	return int32(C.gokpl_producer_metrics(C.gokpl_producer(producer), 0, nil, 0, nil))
}

func callNextCompletions(producer uint64, capacity int, timeoutMS int64) ([]uint64, int32) {
	tokens := (*C.uint64_t)(C.calloc(C.size_t(max(capacity, 1)), 8))
	defer C.free(unsafe.Pointer(tokens))
	n := (*C.size_t)(C.malloc(C.size_t(unsafe.Sizeof(C.size_t(0)))))
	defer C.free(unsafe.Pointer(n))
	*n = 99
	status := C.gokpl_producer_next_completions(C.gokpl_producer(producer), tokens, C.size_t(capacity), C.int64_t(timeoutMS), n)
	got := make([]uint64, int(*n))
	for i, t := range unsafe.Slice(tokens, max(capacity, 1))[:int(*n)] {
		got[i] = uint64(t)
	}
	return got, int32(status)
}

func callClose(producer uint64, timeoutMS int64) (int32, string) {
	buf := newErrorBuffer(1024)
	defer buf.free()
	status := C.gokpl_producer_close(C.gokpl_producer(producer), C.int64_t(timeoutMS), buf.p, buf.cap)
	return int32(status), buf.String()
}

func callProducerFree(producer uint64) int32 {
	return int32(C.gokpl_producer_free(C.gokpl_producer(producer)))
}

func callOutcomeWait(outcome uint64, timeoutMS int64) int32 {
	return int32(C.gokpl_outcome_wait(C.gokpl_outcome(outcome), C.int64_t(timeoutMS)))
}

// callFlag calls an outcome function that answers through an int32_t out-parameter.
func callFlag(f func(*C.int32_t) C.int32_t) (bool, int32) {
	out := (*C.int32_t)(C.malloc(4))
	defer C.free(unsafe.Pointer(out))
	*out = 7
	status := f(out)
	return *out == 1, int32(status)
}

func callOutcomeDone(outcome uint64) (bool, int32) {
	return callFlag(func(p *C.int32_t) C.int32_t { return C.gokpl_outcome_done(C.gokpl_outcome(outcome), p) })
}

func callOutcomeCancel(outcome uint64) (bool, int32) {
	return callFlag(func(p *C.int32_t) C.int32_t { return C.gokpl_outcome_cancel(C.gokpl_outcome(outcome), p) })
}

func callOutcomeNotify(outcome, token uint64) (bool, int32) {
	return callFlag(func(p *C.int32_t) C.int32_t {
		return C.gokpl_outcome_notify(C.gokpl_outcome(outcome), C.uint64_t(token), p)
	})
}

// abiResult is a result or an attempt as read through the ABI.
type abiResult struct {
	Success                                          bool
	Attempts                                         int
	StartedNS, EndedNS                               int64
	ShardID, SequenceNumber, ErrorCode, ErrorMessage string
}

func unpack(strings *C.char, lens ...C.size_t) []string {
	out := make([]string, len(lens))
	off := 0
	for i, n := range lens {
		out[i] = C.GoStringN((*C.char)(unsafe.Add(unsafe.Pointer(strings), off)), C.int(n))
		off += int(n)
	}
	return out
}

func callOutcomeResult(outcome uint64, capacity int) (abiResult, int32) {
	out := (*C.gokpl_result)(C.calloc(1, C.size_t(unsafe.Sizeof(C.gokpl_result{}))))
	defer C.free(unsafe.Pointer(out))
	strings := (*C.char)(C.calloc(C.size_t(max(capacity, 1)), 1))
	defer C.free(unsafe.Pointer(strings))
	status := C.gokpl_outcome_result(C.gokpl_outcome(outcome), out, strings, C.size_t(capacity))
	r := abiResult{Success: out.success == 1, Attempts: int(out.attempt_count)}
	if status == C.GOKPL_OK {
		s := unpack(strings, out.shard_id_len, out.sequence_number_len, out.error_code_len, out.error_message_len)
		r.ShardID, r.SequenceNumber, r.ErrorCode, r.ErrorMessage = s[0], s[1], s[2], s[3]
	}
	return r, int32(status)
}

func callOutcomeAttempt(outcome uint64, index uint32, capacity int) (abiResult, int32) {
	out := (*C.gokpl_attempt)(C.calloc(1, C.size_t(unsafe.Sizeof(C.gokpl_attempt{}))))
	defer C.free(unsafe.Pointer(out))
	strings := (*C.char)(C.calloc(C.size_t(max(capacity, 1)), 1))
	defer C.free(unsafe.Pointer(strings))
	status := C.gokpl_outcome_attempt(C.gokpl_outcome(outcome), C.uint32_t(index), out, strings, C.size_t(capacity))
	r := abiResult{Success: out.success == 1, StartedNS: int64(out.started_at_ns), EndedNS: int64(out.ended_at_ns)}
	if status == C.GOKPL_OK {
		s := unpack(strings, out.shard_id_len, out.sequence_number_len, out.error_code_len, out.error_message_len)
		r.ShardID, r.SequenceNumber, r.ErrorCode, r.ErrorMessage = s[0], s[1], s[2], s[3]
	}
	return r, int32(status)
}

// callOutcomeState returns success and the attempt count, or the status of a negative result.
func callOutcomeState(outcome uint64) (success bool, attempts int, status int32) {
	state := int64(C.gokpl_outcome_state(C.gokpl_outcome(outcome)))
	if state < 0 {
		return false, 0, int32(-state)
	}
	return state&1 == 1, int(state >> 1), statusOK
}

func callOutcomesFree(handles []uint64) int32 {
	if len(handles) == 0 {
		return int32(C.gokpl_outcomes_free(nil, 0))
	}
	p := (*C.gokpl_outcome)(C.malloc(C.size_t(8 * len(handles))))
	defer C.free(unsafe.Pointer(p))
	copy(unsafe.Slice((*uint64)(unsafe.Pointer(p)), len(handles)), handles)
	return int32(C.gokpl_outcomes_free(p, C.size_t(len(handles))))
}

func callOutcomesFreeNull(count int) int32 { return int32(C.gokpl_outcomes_free(nil, C.size_t(count))) }

func callOutcomeFree(outcome uint64) int32 {
	return int32(C.gokpl_outcome_free(C.gokpl_outcome(outcome)))
}

func callHandleCounts() (producers, outcomes uint64) {
	out := (*C.uint64_t)(C.calloc(2, 8))
	defer C.free(unsafe.Pointer(out))
	pair := unsafe.Slice(out, 2)
	C.gokpl_handle_counts(&pair[0], &pair[1])
	return uint64(pair[0]), uint64(pair[1])
}

// Status codes for the tests, as the header defines them.
const (
	statusOK              = int32(C.GOKPL_OK)
	statusTimeout         = int32(C.GOKPL_TIMEOUT)
	statusInvalidHandle   = int32(C.GOKPL_ERR_INVALID_HANDLE)
	statusInvalidArgument = int32(C.GOKPL_ERR_INVALID_ARGUMENT)
	statusConfig          = int32(C.GOKPL_ERR_CONFIG)
	statusInvalidRecord   = int32(C.GOKPL_ERR_INVALID_RECORD)
	statusClosed          = int32(C.GOKPL_ERR_CLOSED)
	statusBackpressure    = int32(C.GOKPL_ERR_BACKPRESSURE)
	statusPending         = int32(C.GOKPL_ERR_PENDING)
	statusCancelled       = int32(C.GOKPL_ERR_CANCELLED)
	statusBufferTooSmall  = int32(C.GOKPL_ERR_BUFFER_TOO_SMALL)
	statusInternal        = int32(C.GOKPL_ERR_INTERNAL)
	abiVersionFromHeader  = int32(C.GOKPL_ABI_VERSION)
)

// panicking is shaped like an export and panics, for the test of recoverPanic.
func panicking(errBuf *C.char, errCap C.size_t) (status C.int32_t) {
	defer recoverPanic(&status, errBuf, errCap)
	panic("boom")
}

func callPanicking() (int32, string) {
	buf := newErrorBuffer(8192)
	defer buf.free()
	status := panicking(buf.p, buf.cap)
	return int32(status), buf.String()
}

// Wrappers that pass malformed arguments, as a faulty C caller would: a NULL
// pointer with a length that says there is memory behind it, counts and
// capacities past what memory can hold. An export must reject them before it
// reads that memory or changes anything.

// abiNull names the pointer a malformed put passes as NULL, keeping its length.
type abiNull int

const (
	nullStream abiNull = iota + 1
	nullKey
	nullHash
	nullData
)

// hugeCount is a count no caller's memory can hold: SIZE_MAX, as a caller
// passing (size_t)-1 does.
const hugeCount = ^C.size_t(0)

// malformedRecord is record "k" / "1" / "x" in C memory, with the pointer
// which names set to NULL; free releases it.
type malformedRecord struct {
	key, hash *C.char
	data      *C.uint8_t
	free      func()
}

func newMalformedRecord(which abiNull) malformedRecord {
	r := malformedRecord{key: C.CString("k"), hash: C.CString("1"), data: (*C.uint8_t)(C.CBytes([]byte("x")))}
	key, hash, data := r.key, r.hash, r.data
	r.free = func() {
		C.free(unsafe.Pointer(key))
		C.free(unsafe.Pointer(hash))
		C.free(unsafe.Pointer(data))
	}
	switch which {
	case nullKey:
		r.key = nil
	case nullHash:
		r.hash = nil
	case nullData:
		r.data = nil
	}
	return r
}

// streamFor is name in C memory, or NULL (its length still passed) when which is nullStream.
func streamFor(name string, which abiNull) (*C.char, func()) {
	if which == nullStream {
		return nil, func() {}
	}
	s := C.CString(name)
	return s, func() { C.free(unsafe.Pointer(s)) }
}

// callPutWithNull puts record "k" / "1" / "x" to stream, with the pointer
// which names NULL.
func callPutWithNull(producer uint64, stream string, which abiNull) (uint64, int32, string) {
	r := newMalformedRecord(which)
	defer r.free()
	s, freeStream := streamFor(stream, which)
	defer freeStream()
	buf := newErrorBuffer(1024)
	defer buf.free()
	out := (*C.gokpl_outcome)(C.malloc(8))
	defer C.free(unsafe.Pointer(out))
	*out = 0
	status := C.gokpl_producer_put(C.gokpl_producer(producer), s, C.size_t(len(stream)), r.key, 1, r.hash, 1, r.data, 1, nil, 0, 0, out, buf.p, buf.cap)
	return uint64(*out), int32(status), buf.String()
}

// abiBadTag names the mistake callPutWithBadTag makes in a record's tags.
type abiBadTag int

const (
	tagsNullWithCount abiBadTag = iota
	tagKeyNullWithLength
	tagValueNullWithLength
	tagHasValueTwo
	tagCountTooLarge
)

// callPutWithBadTag puts record "k" / "x" to stream with tags malformed as
// which says (the second of two tags, where there is an array).
func callPutWithBadTag(producer uint64, stream string, which abiBadTag) (uint64, int32, string) {
	ok := "ok"
	tags, freeTags := cTagArray([]abiTag{{Key: "first", Value: &ok}, {Key: "second", Value: &ok}})
	defer freeTags()
	second := &unsafe.Slice(tags, 2)[1]
	count := C.size_t(2)
	switch which {
	case tagsNullWithCount:
		tags = nil
	case tagKeyNullWithLength:
		second.key = nil
	case tagValueNullWithLength:
		second.value = nil
	case tagHasValueTwo:
		second.has_value = 2
	case tagCountTooLarge:
		count = C.size_t(^uint64(0) / 8)
	}
	s, k, d := cString(stream), cString("k"), cString("x")
	defer cFree(s)
	defer cFree(k)
	defer cFree(d)
	buf := newErrorBuffer(1024)
	defer buf.free()
	out := (*C.gokpl_outcome)(C.malloc(8))
	defer C.free(unsafe.Pointer(out))
	*out = 0
	status := C.gokpl_producer_put(C.gokpl_producer(producer), s, C.size_t(len(stream)), k, 1, nil, 0,
		(*C.uint8_t)(unsafe.Pointer(d)), 1, tags, count, 0, out, buf.p, buf.cap)
	return uint64(*out), int32(status), buf.String()
}

// callPutQuickWithNull returns the status a negative result stands for (statusOK with a handle).
func callPutQuickWithNull(producer uint64, stream string, which abiNull) (uint64, int32) {
	r := newMalformedRecord(which)
	defer r.free()
	s, freeStream := streamFor(stream, which)
	defer freeStream()
	h := int64(C.gokpl_producer_put_quick(C.gokpl_producer(producer), s, C.size_t(len(stream)), r.key, 1, r.data, 1))
	if h < 0 {
		return 0, int32(-h)
	}
	return uint64(h), statusOK
}

// callPutBatchWithNull puts n records "k" / "x" through gokpl_producer_put_batch,
// the one at index bad with the pointer which names NULL.
func callPutBatchWithNull(producer uint64, stream string, n, bad int, which abiNull) (int, int32, string) {
	recs := (*C.gokpl_record)(C.calloc(C.size_t(n), C.size_t(unsafe.Sizeof(C.gokpl_record{}))))
	defer C.free(unsafe.Pointer(recs))
	good := newMalformedRecord(0)
	defer good.free()
	malformed := newMalformedRecord(which)
	defer malformed.free()
	for i := range unsafe.Slice(recs, n) {
		r := good
		if i == bad {
			r = malformed
		}
		rec := &unsafe.Slice(recs, n)[i]
		rec.partition_key, rec.partition_key_len, rec.data, rec.data_len = r.key, 1, r.data, 1
		if which == nullHash && i == bad {
			rec.explicit_hash_key, rec.explicit_hash_key_len = nil, 1
		}
	}
	s, freeStream := streamFor(stream, 0)
	defer freeStream()
	outs := (*C.gokpl_outcome)(C.calloc(C.size_t(n), 8))
	defer C.free(unsafe.Pointer(outs))
	accepted := (*C.size_t)(C.malloc(8))
	defer C.free(unsafe.Pointer(accepted))
	buf := newErrorBuffer(1024)
	defer buf.free()
	status := C.gokpl_producer_put_batch(C.gokpl_producer(producer), s, C.size_t(len(stream)), recs, C.size_t(n), 0, outs, accepted, buf.p, buf.cap)
	for _, h := range unsafe.Slice(outs, n)[:int(*accepted)] {
		C.gokpl_outcome_free(h)
	}
	return int(*accepted), int32(status), buf.String()
}

// callBatchWithNullStream puts one record through both batch exports with
// a NULL stream of length 1; it returns their statuses and accepted counts.
func callBatchWithNullStream(producer uint64) (batch, packed int32, accepted int) {
	r := newMalformedRecord(0)
	defer r.free()
	rec := (*C.gokpl_record)(C.calloc(1, C.size_t(unsafe.Sizeof(C.gokpl_record{}))))
	defer C.free(unsafe.Pointer(rec))
	rec.partition_key, rec.partition_key_len, rec.data, rec.data_len = r.key, 1, r.data, 1
	lens := (*C.uint32_t)(C.malloc(8))
	defer C.free(unsafe.Pointer(lens))
	unsafe.Slice(lens, 2)[0], unsafe.Slice(lens, 2)[1] = 1, 1
	outs := (*C.gokpl_outcome)(C.calloc(1, 8))
	defer C.free(unsafe.Pointer(outs))
	n := (*C.size_t)(C.malloc(8))
	defer C.free(unsafe.Pointer(n))
	batch = int32(C.gokpl_producer_put_batch(C.gokpl_producer(producer), nil, 1, rec, 1, 0, outs, n, nil, 0))
	accepted = int(*n)
	packed = int32(C.gokpl_producer_put_packed(C.gokpl_producer(producer), nil, 1, r.key, lens, r.data, lens, 1, 0, outs, n, nil, 0))
	return batch, packed, accepted + int(*n)
}

// callBatchesWithHugeCounts calls both batch exports with one real record
// and a count no memory can hold; it returns their statuses.
func callBatchesWithHugeCounts(producer uint64, stream string) (batch, packed int32) {
	r := newMalformedRecord(0)
	defer r.free()
	rec := (*C.gokpl_record)(C.calloc(1, C.size_t(unsafe.Sizeof(C.gokpl_record{}))))
	defer C.free(unsafe.Pointer(rec))
	lens := (*C.uint32_t)(C.calloc(2, 4))
	defer C.free(unsafe.Pointer(lens))
	s, freeStream := streamFor(stream, 0)
	defer freeStream()
	outs := (*C.gokpl_outcome)(C.calloc(1, 8))
	defer C.free(unsafe.Pointer(outs))
	n := (*C.size_t)(C.malloc(8))
	defer C.free(unsafe.Pointer(n))
	sn := C.size_t(len(stream))
	batch = int32(C.gokpl_producer_put_batch(C.gokpl_producer(producer), s, sn, rec, hugeCount, 0, outs, n, nil, 0))
	packed = int32(C.gokpl_producer_put_packed(C.gokpl_producer(producer), s, sn, r.key, lens, r.data, lens, hugeCount, 0, outs, n, nil, 0))
	return batch, packed
}

func callOutcomesFreeHugeCount() int32 {
	h := (*C.gokpl_outcome)(C.calloc(1, 8))
	defer C.free(unsafe.Pointer(h))
	return int32(C.gokpl_outcomes_free(h, hugeCount))
}

func callNextCompletionsHugeCapacity(producer uint64) int32 {
	tokens := (*C.uint64_t)(C.calloc(1, 8))
	defer C.free(unsafe.Pointer(tokens))
	n := (*C.size_t)(C.malloc(8))
	defer C.free(unsafe.Pointer(n))
	return int32(C.gokpl_producer_next_completions(C.gokpl_producer(producer), tokens, hugeCount, 0, n))
}

// callResultsWithNullStrings reads an outcome's result and first attempt
// with a NULL strings buffer of capacity 64; it returns both statuses.
func callResultsWithNullStrings(outcome uint64) (result, attempt int32) {
	out := (*C.gokpl_result)(C.calloc(1, C.size_t(unsafe.Sizeof(C.gokpl_result{}))))
	defer C.free(unsafe.Pointer(out))
	a := (*C.gokpl_attempt)(C.calloc(1, C.size_t(unsafe.Sizeof(C.gokpl_attempt{}))))
	defer C.free(unsafe.Pointer(a))
	result = int32(C.gokpl_outcome_result(C.gokpl_outcome(outcome), out, nil, 64))
	attempt = int32(C.gokpl_outcome_attempt(C.gokpl_outcome(outcome), 0, a, nil, 64))
	return result, attempt
}

func callProducerNewNullConfig() (int32, string) {
	buf := newErrorBuffer(1024)
	defer buf.free()
	out := (*C.gokpl_producer)(C.calloc(1, 8))
	defer C.free(unsafe.Pointer(out))
	return int32(C.gokpl_producer_new(nil, 10, out, buf.p, buf.cap)), buf.String()
}

// callWithHugeCapacities makes calls whose buffers are small but whose
// capacities say otherwise; the library must write only what it needs. It
// returns the statuses of a failing put (its message), a metrics snapshot
// and a log read, and the put's message and the snapshot.
func callWithHugeCapacities(producer uint64) (put, metrics, logs int32, message, snapshot string) {
	const size = 1 << 20 // more than any of the three writes here
	buf := (*C.char)(C.calloc(size, 1))
	defer C.free(unsafe.Pointer(buf))
	out := (*C.gokpl_outcome)(C.calloc(1, 8))
	defer C.free(unsafe.Pointer(out))
	put = int32(C.gokpl_producer_put(C.gokpl_producer(producer), nil, 0, nil, 0, nil, 0, nil, 0, nil, 0, 0, out, buf, hugeCount))
	message = C.GoString(buf)
	n := (*C.size_t)(C.malloc(8))
	defer C.free(unsafe.Pointer(n))
	metrics = int32(C.gokpl_producer_metrics(C.gokpl_producer(producer), 0, buf, hugeCount, n))
	if metrics == C.GOKPL_OK && *n <= size {
		snapshot = C.GoStringN(buf, C.int(*n))
	}
	record := (*C.gokpl_log_record)(C.calloc(1, C.size_t(unsafe.Sizeof(C.gokpl_log_record{}))))
	defer C.free(unsafe.Pointer(record))
	logs = int32(C.gokpl_log_next(0, record, buf, hugeCount))
	return put, metrics, logs, message, snapshot
}

// callPutWithHugeLength puts record "k" / "1" with the length of the
// argument which (nullStream, nullKey, nullHash or nullData naming it here)
// set past what memory holds; the pointers are valid, and must not be read.
func callPutWithHugeLength(producer uint64, stream string, which abiNull) (int32, string, int64) {
	r := newMalformedRecord(0)
	defer r.free()
	s, freeStream := streamFor(stream, 0)
	defer freeStream()
	lens := map[abiNull]C.size_t{nullStream: C.size_t(len(stream)), nullKey: 1, nullHash: 0, nullData: 1}
	lens[which] = hugeCount
	hash := r.hash
	if which != nullHash {
		hash = nil
	}
	buf := newErrorBuffer(1024)
	defer buf.free()
	out := (*C.gokpl_outcome)(C.calloc(1, 8))
	defer C.free(unsafe.Pointer(out))
	status := C.gokpl_producer_put(C.gokpl_producer(producer), s, lens[nullStream], r.key, lens[nullKey], hash, lens[nullHash], r.data, lens[nullData], nil, 0, 0, out, buf.p, buf.cap)
	quick := -C.int64_t(C.GOKPL_ERR_INVALID_ARGUMENT) // put_quick takes no hash key
	if which != nullHash {
		quick = C.gokpl_producer_put_quick(C.gokpl_producer(producer), s, lens[nullStream], r.key, lens[nullKey], r.data, lens[nullData])
	}
	return int32(status), buf.String(), int64(quick)
}

// callBatchesOverStaleOuts calls both batch exports with outs already
// holding stale values: once on producer with a NULL partition key in the
// second record, once on the handle bad; it returns outs after each call.
func callBatchesOverStaleOuts(producer, bad uint64, stream string) [][]uint64 {
	r := newMalformedRecord(0)
	defer r.free()
	recs := (*C.gokpl_record)(C.calloc(2, C.size_t(unsafe.Sizeof(C.gokpl_record{}))))
	defer C.free(unsafe.Pointer(recs))
	for i, rec := range unsafe.Slice(recs, 2) {
		rec.partition_key, rec.partition_key_len, rec.data, rec.data_len = r.key, 1, r.data, 1
		if i == 1 {
			rec.partition_key = nil
		}
		unsafe.Slice(recs, 2)[i] = rec
	}
	lens := (*C.uint32_t)(C.calloc(4, 4))
	defer C.free(unsafe.Pointer(lens))
	for i := range unsafe.Slice(lens, 4) {
		unsafe.Slice(lens, 4)[i] = 1
	}
	s, freeStream := streamFor(stream, 0)
	defer freeStream()
	outs := (*C.gokpl_outcome)(C.calloc(2, 8))
	defer C.free(unsafe.Pointer(outs))
	n := (*C.size_t)(C.malloc(8))
	defer C.free(unsafe.Pointer(n))
	sn := C.size_t(len(stream))
	var after [][]uint64
	record := func() {
		var got []uint64
		for _, h := range unsafe.Slice(outs, 2) {
			got = append(got, uint64(h))
		}
		after = append(after, got)
	}
	stale := func() { unsafe.Slice(outs, 2)[0], unsafe.Slice(outs, 2)[1] = 0x1111, 0x2222 }
	stale()
	C.gokpl_producer_put_batch(C.gokpl_producer(producer), s, sn, recs, 2, 0, outs, n, nil, 0)
	record()
	stale()
	C.gokpl_producer_put_batch(C.gokpl_producer(bad), s, sn, recs, 2, 0, outs, n, nil, 0)
	record()
	stale()
	C.gokpl_producer_put_packed(C.gokpl_producer(bad), s, sn, r.key, lens, r.data, lens, 2, 0, outs, n, nil, 0)
	record()
	return after
}

// callVersionUnusual calls gokpl_version with a NULL buffer of capacity 64
// and with a buffer of the largest capacity; it returns both statuses and
// the version the second wrote.
func callVersionUnusual() (nullBuf, hugeCap int32, version string) {
	buf := newErrorBuffer(64)
	defer buf.free()
	nullBuf = int32(C.gokpl_version(nil, 64))
	hugeCap = int32(C.gokpl_version(buf.p, hugeCount))
	return nullBuf, hugeCap, buf.String()
}

// callCheck runs gokpl_check with a report buffer of capacity bytes.
func callCheck(config, stream string, timeoutMS int64, capacity int) (report string, status int32, msg string) {
	c, s := C.CString(config), C.CString(stream)
	defer C.free(unsafe.Pointer(c))
	defer C.free(unsafe.Pointer(s))
	out := newErrorBuffer(max(capacity, 1))
	defer out.free()
	buf := newErrorBuffer(1024)
	defer buf.free()
	n := (*C.size_t)(C.calloc(1, 8))
	defer C.free(unsafe.Pointer(n))
	status = int32(C.gokpl_check(c, C.size_t(len(config)), s, C.size_t(len(stream)), C.int64_t(timeoutMS), out.p, C.size_t(capacity), n, buf.p, buf.cap))
	if status == statusOK {
		report = C.GoStringN(out.p, C.int(*n))
	}
	return report, status, buf.String()
}
