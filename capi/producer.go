package main

/*
#include "cgotypes.h"
*/
import "C"

import (
	"context"
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
	if buf == nil || int(capacity) < len(Version)+1 {
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
	syncEnvironment()
	cfg, err := core.ParseConfigJSON([]byte(goString(configJSON, configLen)))
	if err != nil {
		return fail(err, errBuf, errCap)
	}
	p, err := core.New(context.Background(), cfg)
	if err != nil {
		return fail(err, errBuf, errCap)
	}
	*out = C.gokpl_producer(producers.add(p))
	return C.GOKPL_OK
}

//export gokpl_producer_put
func gokpl_producer_put(producer C.gokpl_producer,
	stream *C.gokpl_cchar, streamLen C.size_t,
	partitionKey *C.gokpl_cchar, partitionKeyLen C.size_t,
	explicitHashKey *C.gokpl_cchar, explicitHashKeyLen C.size_t,
	data *C.gokpl_cbyte, dataLen C.size_t,
	timeoutMS C.int64_t, out *C.gokpl_outcome,
	errBuf *C.char, errCap C.size_t) (status C.int32_t) {
	defer recoverPanic(&status, errBuf, errCap)
	if out == nil {
		return invalidArgument("out is NULL", errBuf, errCap)
	}
	*out = 0
	p, ok := producers.get(uint64(producer))
	if !ok {
		return invalidHandle("producer", uint64(producer), errBuf, errCap)
	}
	record := core.Record{
		Stream:          goString(stream, streamLen),
		PartitionKey:    goString(partitionKey, partitionKeyLen),
		ExplicitHashKey: goString(explicitHashKey, explicitHashKeyLen),
		Data:            goBytes(data, dataLen),
	}
	ctx, cancel := contextFor(timeoutMS)
	defer cancel()
	outcome, err := p.Put(ctx, record)
	if err != nil {
		return fail(err, errBuf, errCap)
	}
	*out = C.gokpl_outcome(outcomes.add(outcome))
	return C.GOKPL_OK
}

//export gokpl_producer_put_batch
func gokpl_producer_put_batch(producer C.gokpl_producer,
	stream *C.gokpl_cchar, streamLen C.size_t,
	records *C.gokpl_crecord, count C.size_t,
	timeoutMS C.int64_t, outs *C.gokpl_outcome, accepted *C.size_t,
	errBuf *C.char, errCap C.size_t) (status C.int32_t) {
	defer recoverPanic(&status, errBuf, errCap)
	if accepted == nil || (count > 0 && (records == nil || outs == nil)) {
		return invalidArgument("records, outs and accepted must not be NULL", errBuf, errCap)
	}
	*accepted = 0
	p, ok := producers.get(uint64(producer))
	if !ok {
		return invalidHandle("producer", uint64(producer), errBuf, errCap)
	}
	in := unsafe.Slice(records, int(count))
	handles := unsafe.Slice(outs, int(count))
	clear(handles)
	streamName := goString(stream, streamLen)
	ctx, cancel := contextFor(timeoutMS)
	defer cancel()
	for i := range in {
		outcome, err := p.Put(ctx, core.Record{
			Stream:          streamName,
			PartitionKey:    goString((*C.gokpl_cchar)(in[i].partition_key), in[i].partition_key_len),
			ExplicitHashKey: goString((*C.gokpl_cchar)(in[i].explicit_hash_key), in[i].explicit_hash_key_len),
			Data:            goBytes((*C.gokpl_cbyte)(in[i].data), in[i].data_len),
		})
		if err != nil {
			return fail(err, errBuf, errCap)
		}
		handles[i] = C.gokpl_outcome(outcomes.add(outcome))
		*accepted = C.size_t(i + 1)
	}
	return C.GOKPL_OK
}

//export gokpl_producer_flush
func gokpl_producer_flush(producer C.gokpl_producer, timeoutMS C.int64_t) (status C.int32_t) {
	defer recoverPanic(&status, nil, 0)
	p, ok := producers.get(uint64(producer))
	if !ok {
		return C.GOKPL_ERR_INVALID_HANDLE
	}
	ctx, cancel := contextFor(timeoutMS)
	defer cancel()
	if err := p.Flush(ctx); err != nil {
		return C.GOKPL_TIMEOUT
	}
	return C.GOKPL_OK
}

//export gokpl_producer_outstanding
func gokpl_producer_outstanding(producer C.gokpl_producer, out *C.int64_t) (status C.int32_t) {
	defer recoverPanic(&status, nil, 0)
	if out == nil {
		return C.GOKPL_ERR_INVALID_ARGUMENT
	}
	p, ok := producers.get(uint64(producer))
	if !ok {
		return C.GOKPL_ERR_INVALID_HANDLE
	}
	*out = C.int64_t(p.Outstanding())
	return C.GOKPL_OK
}

//export gokpl_producer_close
func gokpl_producer_close(producer C.gokpl_producer, timeoutMS C.int64_t, errBuf *C.char, errCap C.size_t) (status C.int32_t) {
	defer recoverPanic(&status, errBuf, errCap)
	p, ok := producers.remove(uint64(producer))
	if !ok {
		return invalidHandle("producer", uint64(producer), errBuf, errCap)
	}
	ctx, cancel := contextFor(timeoutMS)
	defer cancel()
	if err := p.Close(ctx); err != nil {
		writeMessage(err.Error(), errBuf, errCap)
		return C.GOKPL_TIMEOUT
	}
	return C.GOKPL_OK
}

//export gokpl_producer_free
func gokpl_producer_free(producer C.gokpl_producer) (status C.int32_t) {
	defer recoverPanic(&status, nil, 0)
	if p, ok := producers.remove(uint64(producer)); ok {
		ctx, cancel := context.WithTimeout(context.Background(), 0)
		defer cancel()
		_ = p.Close(ctx)
	}
	return C.GOKPL_OK
}

//export gokpl_handle_counts
func gokpl_handle_counts(producerCount, outcomeCount *C.uint64_t) (status C.int32_t) {
	defer recoverPanic(&status, nil, 0)
	if producerCount != nil {
		*producerCount = C.uint64_t(producers.len())
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
