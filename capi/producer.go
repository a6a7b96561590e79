package main

/*
#include "cgotypes.h"
*/
import "C"

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"
	"unsafe"

	"github.com/gokpl/gokpl/core"
)

//export gokpl_abi_version
func gokpl_abi_version() C.int32_t { return C.GOKPL_ABI_VERSION }

//export gokpl_version
func gokpl_version(buf *C.char, capacity C.size_t) (status C.int32_t) {
	defer recoverPanic(&status, nil, 0)
	switch {
	case buf == nil && capacity > 0:
		return C.GOKPL_ERR_INVALID_ARGUMENT
	case uint64(capacity) < uint64(len(Version)+1):
		return C.GOKPL_ERR_BUFFER_TOO_SMALL
	}
	writeMessage(Version, buf, capacity)
	return C.GOKPL_OK
}

//export gokpl_producer_new
func gokpl_producer_new(configJSON *C.gokpl_cchar, configLen C.size_t, out *C.gokpl_producer, errBuf *C.char, errCap C.size_t) (status C.int32_t) {
	defer recoverPanic(&status, errBuf, errCap)
	if out == nil {
		return invalidArgument("out is NULL", errBuf, errCap)
	}
	if configJSON == nil && configLen > 0 {
		return invalidArgument("config_json is NULL with a length", errBuf, errCap)
	}
	p, cfg, err := newProducer(goString(configJSON, configLen))
	if err != nil {
		return fail(err, errBuf, errCap)
	}
	entry := &producerEntry{p: p, q: newCompletionQueue(), budget: cfg.MaxOutstandingBytes}
	memoryLimit.add(entry.budget)
	h := producers.add(entry)
	queues.set(h, entry.q)
	*out = C.gokpl_producer(h)
	return C.GOKPL_OK
}

// newProducer builds a producer from its JSON configuration, with the
// environment as it is now (syncEnvironment).
func newProducer(configJSON string) (*core.Producer, core.Config, error) {
	environMu.Lock()
	defer environMu.Unlock()
	syncEnvironment()
	cfg, err := core.ParseConfigJSON([]byte(configJSON))
	if err != nil {
		return nil, cfg, err
	}
	p, err := core.New(context.Background(), cfg, core.WithLogger(engineLogger))
	return p, cfg, err
}

//export gokpl_producer_put
func gokpl_producer_put(producer C.gokpl_producer,
	stream *C.gokpl_cchar, streamLen C.size_t,
	partitionKey *C.gokpl_cchar, partitionKeyLen C.size_t,
	explicitHashKey *C.gokpl_cchar, explicitHashKeyLen C.size_t,
	data *C.gokpl_cbyte, dataLen C.size_t,
	tags *C.gokpl_ctag, tagCount C.size_t,
	timeoutMS C.int64_t, out *C.gokpl_outcome,
	errBuf *C.char, errCap C.size_t) (status C.int32_t) {
	defer recoverPanic(&status, errBuf, errCap)
	if out == nil {
		return invalidArgument("out is NULL", errBuf, errCap)
	}
	*out = 0
	if msg := nullWithLength(stream, streamLen, partitionKey, partitionKeyLen, data, dataLen); msg != "" {
		return invalidArgument(msg, errBuf, errCap)
	}
	if msg := badBytes("explicit_hash_key", unsafe.Pointer(explicitHashKey), explicitHashKeyLen); msg != "" {
		return invalidArgument(msg, errBuf, errCap)
	}
	cTagList, msg := cTags(tags, tagCount)
	if msg != "" {
		return invalidArgument(msg, errBuf, errCap)
	}
	entry, ok := producers.get(uint64(producer))
	if !ok {
		return invalidHandle("producer", uint64(producer), errBuf, errCap)
	}
	name, known := entry.streamName(stream, streamLen)
	key, payload := goKeyAndData(partitionKey, partitionKeyLen, data, dataLen)
	record := core.Record{
		Stream:          name,
		PartitionKey:    key,
		ExplicitHashKey: goString(explicitHashKey, explicitHashKeyLen),
		Data:            payload,
		Tags:            goTags(cTagList),
	}
	w := waiter{timeoutMS: timeoutMS}
	defer w.release()
	outcome, err := w.put(entry.p, record)
	if err != nil {
		return fail(err, errBuf, errCap)
	}
	entry.accepted(name, known)
	*out = C.gokpl_outcome(outcomes.add(outcomeEntry{outcome, entry.q}))
	return C.GOKPL_OK
}

// nullWithLength says which of a record's stream, partition key and data is
// a NULL pointer with a length other than 0 (a caller's mistake, never taken
// for an empty string) or has a length no memory holds, or "" when none.
func nullWithLength(stream *C.gokpl_cchar, streamLen C.size_t, key *C.gokpl_cchar, keyLen C.size_t, data *C.gokpl_cbyte, dataLen C.size_t) string {
	return firstBad(
		badBytes("stream", unsafe.Pointer(stream), streamLen),
		badBytes("partition_key", unsafe.Pointer(key), keyLen),
		badBytes("data", unsafe.Pointer(data), dataLen),
	)
}

// badBytes says what is wrong with the argument name, n bytes at p: NULL
// with a length, or a length larger than memory can hold; "" if nothing.
func badBytes(name string, p unsafe.Pointer, n C.size_t) string {
	switch {
	case p == nil && n > 0:
		return name + " is NULL with a length"
	case uint64(n) > math.MaxInt:
		return name + "'s length is larger than memory can hold"
	}
	return ""
}

// firstBad is the first of problems that is not "".
func firstBad(problems ...string) string {
	for _, p := range problems {
		if p != "" {
			return p
		}
	}
	return ""
}

//export gokpl_producer_put_quick
func gokpl_producer_put_quick(producer C.gokpl_producer,
	stream *C.gokpl_cchar, streamLen C.size_t,
	partitionKey *C.gokpl_cchar, partitionKeyLen C.size_t,
	data *C.gokpl_cbyte, dataLen C.size_t) (handle C.int64_t) {
	var status C.int32_t
	defer func() {
		if status != C.GOKPL_OK {
			handle = -C.int64_t(status)
		}
	}()
	defer recoverPanic(&status, nil, 0)
	if nullWithLength(stream, streamLen, partitionKey, partitionKeyLen, data, dataLen) != "" {
		status = C.GOKPL_ERR_INVALID_ARGUMENT
		return 0
	}
	entry, ok := producers.get(uint64(producer))
	if !ok {
		status = C.GOKPL_ERR_INVALID_HANDLE
		return 0
	}
	name, known := entry.streamName(stream, streamLen)
	key, payload := goKeyAndData(partitionKey, partitionKeyLen, data, dataLen)
	outcome, err := entry.p.Put(noWait, core.Record{Stream: name, PartitionKey: key, Data: payload})
	if err != nil {
		status = statusOf(err)
		return 0
	}
	entry.accepted(name, known)
	return C.int64_t(outcomes.add(outcomeEntry{outcome, entry.q}))
}

// streamName is the stream name in C memory as a Go string: the copy kept
// from an earlier put to the stream (known), found without allocating, and
// for a put to the same stream as the one before by comparing the name
// instead of hashing it; else a new copy, which accepted keeps once the
// engine took a record for that stream, so that names it rejects are not
// kept.
func (e *producerEntry) streamName(p *C.gokpl_cchar, n C.size_t) (name string, known bool) {
	if p == nil || n == 0 {
		return "", true
	}
	wanted := unsafe.String((*byte)(unsafe.Pointer(p)), int(n))
	if last := e.lastStream.Load(); last != nil && *last == wanted {
		return *last, true
	}
	if kept, ok := e.streams.Load(wanted); ok {
		e.lastStream.Store(kept.(*string))
		return *kept.(*string), true
	}
	return goString(p, n), false
}

// accepted keeps the name of a stream the engine just took a record for, if
// streamName found it new. Inlined, and allocating nothing for a known name.
func (e *producerEntry) accepted(name string, known bool) {
	if !known {
		e.keepStream(name)
	}
}

func (e *producerEntry) keepStream(name string) {
	kept, _ := e.streams.LoadOrStore(name, &name)
	e.lastStream.Store(kept.(*string))
}

// noWait is an already-ended context: a put with it takes room in the
// producer if there is some and never waits, and needs no timer.
var noWait = func() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}()

// waiter bounds how long a put, or a whole batch, may wait for room in a
// full producer. It tries each record without waiting first, the common
// case, which costs no timer; the deadline is made on first need.
type waiter struct {
	timeoutMS C.int64_t
	ctx       context.Context
	cancel    context.CancelFunc
}

func (w *waiter) put(p *core.Producer, r core.Record) (*core.Outcome, error) {
	outcome, err := p.Put(noWait, r)
	if err == nil || w.timeoutMS == 0 || !(errors.Is(err, core.ErrBackpressure) || errors.Is(err, context.Canceled)) {
		return outcome, err
	}
	if w.ctx == nil {
		w.ctx, w.cancel = contextFor(w.timeoutMS)
	}
	return p.Put(w.ctx, r)
}

// release ends the deadline's timer, if one was made.
func (w *waiter) release() {
	if w.cancel != nil {
		w.cancel()
	}
}

//export gokpl_producer_put_batch
func gokpl_producer_put_batch(producer C.gokpl_producer,
	stream *C.gokpl_cchar, streamLen C.size_t,
	records *C.gokpl_crecord, count C.size_t,
	timeoutMS C.int64_t, outs *C.gokpl_outcome, accepted *C.size_t,
	errBuf *C.char, errCap C.size_t) (status C.int32_t) {
	defer recoverPanic(&status, errBuf, errCap)
	if msg := batchOutsMissing(count, outs, accepted); msg != "" {
		return invalidArgument(msg, errBuf, errCap)
	}
	if count > 0 && records == nil {
		return invalidArgument("records, outs and accepted must not be NULL", errBuf, errCap)
	}
	if !fitsSlice[C.gokpl_record](count) {
		return invalidArgument("count is larger than memory can hold", errBuf, errCap)
	}
	in := unsafe.Slice(records, int(count))
	if msg := badRecordPointers(in); msg != "" {
		return invalidArgument(msg, errBuf, errCap)
	}
	return putEach(producer, stream, streamLen, int(count), timeoutMS, outs, accepted, errBuf, errCap,
		func(i int) (string, []byte, string) {
			key, payload := goKeyAndData((*C.gokpl_cchar)(in[i].partition_key), in[i].partition_key_len, (*C.gokpl_cbyte)(in[i].data), in[i].data_len)
			return key, payload, goString((*C.gokpl_cchar)(in[i].explicit_hash_key), in[i].explicit_hash_key_len)
		})
}

//export gokpl_producer_put_packed
func gokpl_producer_put_packed(producer C.gokpl_producer,
	stream *C.gokpl_cchar, streamLen C.size_t,
	keys *C.gokpl_cchar, keyLens *C.gokpl_cuint32,
	data *C.gokpl_cbyte, dataLens *C.gokpl_cuint32,
	count C.size_t, timeoutMS C.int64_t, outs *C.gokpl_outcome, accepted *C.size_t,
	errBuf *C.char, errCap C.size_t) (status C.int32_t) {
	defer recoverPanic(&status, errBuf, errCap)
	if msg := batchOutsMissing(count, outs, accepted); msg != "" {
		return invalidArgument(msg, errBuf, errCap)
	}
	if count > 0 && (keyLens == nil || dataLens == nil) {
		return invalidArgument("key_lens and data_lens must not be NULL", errBuf, errCap)
	}
	if !fitsSlice[C.gokpl_outcome](count) { // outs, the widest of the arrays
		return invalidArgument("count is larger than memory can hold", errBuf, errCap)
	}
	kl, dl := unsafe.Slice(keyLens, int(count)), unsafe.Slice(dataLens, int(count))
	if (keys == nil && total(kl) > 0) || (data == nil && total(dl) > 0) {
		return invalidArgument("keys or data is NULL with lengths that are not all 0", errBuf, errCap)
	}
	keyAt, dataAt := unsafe.Pointer(keys), unsafe.Pointer(data)
	return putEach(producer, stream, streamLen, int(count), timeoutMS, outs, accepted, errBuf, errCap,
		func(i int) (string, []byte, string) {
			key, payload := goKeyAndData((*C.gokpl_cchar)(keyAt), C.size_t(kl[i]), (*C.gokpl_cbyte)(dataAt), C.size_t(dl[i]))
			keyAt, dataAt = unsafe.Add(keyAt, kl[i]), unsafe.Add(dataAt, dl[i])
			return key, payload, ""
		})
}

// batchOutsMissing says what is wrong with a batch's out-parameters, or ""
// when nothing is. First it sets *accepted and outs[0:count] to 0 when it
// can, so that a batch failing any later check leaves no stale handle there.
func batchOutsMissing(count C.size_t, outs *C.gokpl_outcome, accepted *C.size_t) string {
	if accepted == nil || (count > 0 && outs == nil) {
		return "records, outs and accepted must not be NULL"
	}
	*accepted = 0
	if count > 0 && fitsSlice[C.gokpl_outcome](count) {
		clear(unsafe.Slice(outs, int(count)))
	}
	return ""
}

// badRecordPointers says which record of a batch has a NULL pointer with a
// length other than 0, or "" when none has: the whole batch is checked so
// before any record is put.
func badRecordPointers(records []C.gokpl_crecord) string {
	for i := range records {
		r := &records[i]
		msg := firstBad(
			nullWithLength(nil, 0, (*C.gokpl_cchar)(r.partition_key), r.partition_key_len, (*C.gokpl_cbyte)(r.data), r.data_len),
			badBytes("explicit_hash_key", unsafe.Pointer(r.explicit_hash_key), r.explicit_hash_key_len),
		)
		if msg != "" {
			return fmt.Sprintf("records[%d]: %s", i, msg)
		}
	}
	return ""
}

// fitsSlice reports whether count elements of T can be one slice: a larger
// count is a caller's mistake (unsafe.Slice would panic on it).
func fitsSlice[T any](count C.size_t) bool {
	var zero T
	return uint64(count) <= uint64(math.MaxInt)/uint64(max(unsafe.Sizeof(zero), 1))
}

func total(lengths []C.gokpl_cuint32) (n uint64) {
	for _, l := range lengths {
		n += uint64(l)
	}
	return n
}

// putEach puts count records to one stream, record(i) giving the partition
// key, data and explicit hash key of the i-th, Go copies: the loop behind
// both batch exports. It stops at the first record that fails.
func putEach(producer C.gokpl_producer, stream *C.gokpl_cchar, streamLen C.size_t, count int, timeoutMS C.int64_t,
	outs *C.gokpl_outcome, accepted *C.size_t, errBuf *C.char, errCap C.size_t,
	record func(i int) (key string, data []byte, explicitHashKey string)) C.int32_t {
	if msg := badBytes("stream", unsafe.Pointer(stream), streamLen); msg != "" {
		return invalidArgument(msg, errBuf, errCap)
	}
	entry, ok := producers.get(uint64(producer))
	if !ok {
		return invalidHandle("producer", uint64(producer), errBuf, errCap)
	}
	handles := unsafe.Slice(outs, count)
	streamName, known := entry.streamName(stream, streamLen)
	w := waiter{timeoutMS: timeoutMS}
	defer w.release()
	for i := range count {
		key, data, explicitHashKey := record(i)
		outcome, err := w.put(entry.p, core.Record{Stream: streamName, PartitionKey: key, ExplicitHashKey: explicitHashKey, Data: data})
		if err != nil {
			return fail(err, errBuf, errCap)
		}
		if i == 0 {
			entry.accepted(streamName, known)
		}
		handles[i] = C.gokpl_outcome(outcomes.add(outcomeEntry{outcome, entry.q}))
		*accepted = C.size_t(i + 1)
	}
	return C.GOKPL_OK
}

//export gokpl_producer_flush
func gokpl_producer_flush(producer C.gokpl_producer, timeoutMS C.int64_t) (status C.int32_t) {
	defer recoverPanic(&status, nil, 0)
	entry, ok := producers.get(uint64(producer))
	if !ok {
		return C.GOKPL_ERR_INVALID_HANDLE
	}
	ctx, cancel := contextFor(timeoutMS)
	defer cancel()
	if err := entry.p.Flush(ctx); err != nil {
		return C.GOKPL_TIMEOUT
	}
	return C.GOKPL_OK
}

//export gokpl_producer_outstanding
func gokpl_producer_outstanding(producer C.gokpl_producer, out *C.int64_t) (status C.int32_t) {
	defer recoverPanic(&status, nil, 0)
	return fillFromProducer(producer, out, func(e *producerEntry) C.int64_t { return C.int64_t(e.p.Outstanding()) })
}

// fillFromProducer is the body of the exports that fill one out-parameter
// from a live producer: a NULL out is an invalid argument, an unknown
// handle an invalid handle.
func fillFromProducer[T any](producer C.gokpl_producer, out *T, fill func(*producerEntry) T) C.int32_t {
	if out == nil {
		return C.GOKPL_ERR_INVALID_ARGUMENT
	}
	entry, ok := producers.get(uint64(producer))
	if !ok {
		return C.GOKPL_ERR_INVALID_HANDLE
	}
	*out = fill(entry)
	return C.GOKPL_OK
}

//export gokpl_producer_stats
func gokpl_producer_stats(producer C.gokpl_producer, out *C.gokpl_stats) (status C.int32_t) {
	defer recoverPanic(&status, nil, 0)
	return fillFromProducer(producer, out, func(e *producerEntry) C.gokpl_stats {
		s := e.p.Stats()
		return C.gokpl_stats{
			records_put:          C.int64_t(s.RecordsPut),
			records_succeeded:    C.int64_t(s.RecordsSucceeded),
			records_failed:       C.int64_t(s.RecordsFailed),
			records_cancelled:    C.int64_t(s.RecordsCancelled),
			records_retried:      C.int64_t(s.RecordsRetried),
			kinesis_records_sent: C.int64_t(s.KinesisRecordsSent),
			requests:             C.int64_t(s.Requests),
			request_errors:       C.int64_t(s.RequestErrors),
			outstanding_records:  C.int64_t(s.OutstandingRecords),
			outstanding_bytes:    C.int64_t(s.OutstandingBytes),
			requests_throttled:   C.int64_t(s.RequestsThrottled),
		}
	})
}

//export gokpl_producer_next_completions
func gokpl_producer_next_completions(producer C.gokpl_producer, tokens *C.uint64_t, capacity C.size_t, timeoutMS C.int64_t, n *C.size_t) (status C.int32_t) {
	defer recoverPanic(&status, nil, 0)
	if n == nil {
		return C.GOKPL_ERR_INVALID_ARGUMENT
	}
	*n = 0
	if tokens == nil || capacity == 0 || !fitsSlice[C.uint64_t](capacity) {
		return C.GOKPL_ERR_INVALID_ARGUMENT
	}
	q, ok := queues.get(uint64(producer))
	if !ok {
		return C.GOKPL_ERR_INVALID_HANDLE
	}
	timeout := time.Duration(-1)
	if timeoutMS >= 0 {
		timeout = msToDuration(int64(timeoutMS))
	}
	out := unsafe.Slice((*uint64)(unsafe.Pointer(tokens)), int(capacity))
	got, drained := q.next(out, timeout)
	*n = C.size_t(got)
	switch {
	case got > 0:
		return C.GOKPL_OK
	case drained:
		queues.remove(uint64(producer))
		return C.GOKPL_ERR_CLOSED
	}
	return C.GOKPL_TIMEOUT
}

//export gokpl_producer_close
func gokpl_producer_close(producer C.gokpl_producer, timeoutMS C.int64_t, errBuf *C.char, errCap C.size_t) (status C.int32_t) {
	defer recoverPanic(&status, errBuf, errCap)
	entry, ok := producers.remove(uint64(producer))
	if !ok {
		return invalidHandle("producer", uint64(producer), errBuf, errCap)
	}
	ctx, cancel := contextFor(timeoutMS)
	defer cancel()
	err := entry.p.Close(ctx)
	memoryLimit.remove(entry.budget)
	closeQueue(uint64(producer), entry.q)
	if err != nil {
		writeMessage(err.Error(), errBuf, errCap)
		return C.GOKPL_TIMEOUT
	}
	return C.GOKPL_OK
}

//export gokpl_producer_free
func gokpl_producer_free(producer C.gokpl_producer) (status C.int32_t) {
	defer recoverPanic(&status, nil, 0)
	if entry, ok := producers.remove(uint64(producer)); ok {
		ctx, cancel := context.WithTimeout(context.Background(), 0)
		defer cancel()
		_ = entry.p.Close(ctx)
		memoryLimit.remove(entry.budget)
		entry.q.close()
	}
	// Completions nobody collected are dropped with the handle.
	queues.remove(uint64(producer))
	return C.GOKPL_OK
}

// closeQueue marks a closed producer's completion queue closed. A queue that
// never had a token is forgotten at once; one that had tokens stays until
// gokpl_producer_next_completions reports it drained, or the handle is freed.
func closeQueue(h uint64, q *completionQueue) {
	q.close()
	if q.unused() {
		queues.remove(h)
	}
}

//export gokpl_handle_counts
func gokpl_handle_counts(producerCount, outcomeCount *C.uint64_t) (status C.int32_t) {
	defer recoverPanic(&status, nil, 0)
	if producerCount != nil {
		// Every producer's queue is listed from its creation until it is
		// freed or, closed, drained (gokpl_producer_next_completions saw
		// it closed; at close for a queue that never had a token).
		*producerCount = C.uint64_t(queues.len())
	}
	if outcomeCount != nil {
		*outcomeCount = C.uint64_t(outcomes.len())
	}
	return C.GOKPL_OK
}

func invalidArgument(msg string, errBuf *C.char, errCap C.size_t) C.int32_t {
	writeMessage("gokpl: invalid argument: "+msg, errBuf, errCap)
	return C.GOKPL_ERR_INVALID_ARGUMENT
}

func invalidHandle(kind string, h uint64, errBuf *C.char, errCap C.size_t) C.int32_t {
	writeMessage(errInvalidHandle(kind, h).Error(), errBuf, errCap)
	return C.GOKPL_ERR_INVALID_HANDLE
}

func msToDuration(ms int64) time.Duration {
	if ms > math.MaxInt64/int64(time.Millisecond) {
		return time.Duration(math.MaxInt64)
	}
	return time.Duration(ms) * time.Millisecond
}
