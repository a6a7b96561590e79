package main

/*
#include "cgotypes.h"
*/
import "C"

import (
	"unsafe"

	"github.com/gokpl/gokpl/core"
)

//export gokpl_outcome_wait
func gokpl_outcome_wait(outcome C.gokpl_outcome, timeoutMS C.int64_t) (status C.int32_t) {
	defer recoverPanic(&status, nil, 0)
	entry, ok := outcomes.get(uint64(outcome))
	if !ok {
		return C.GOKPL_ERR_INVALID_HANDLE
	}
	o := entry.o
	if o.IsDone() {
		return C.GOKPL_OK
	}
	ctx, cancel := contextFor(timeoutMS)
	defer cancel()
	select {
	case <-o.Done():
		return C.GOKPL_OK
	case <-ctx.Done():
		return C.GOKPL_TIMEOUT
	}
}

//export gokpl_outcome_done
func gokpl_outcome_done(outcome C.gokpl_outcome, done *C.int32_t) (status C.int32_t) {
	defer recoverPanic(&status, nil, 0)
	return setOutcomeFlag(outcome, done, (*core.Outcome).IsDone)
}

//export gokpl_outcome_cancel
func gokpl_outcome_cancel(outcome C.gokpl_outcome, cancelled *C.int32_t) (status C.int32_t) {
	defer recoverPanic(&status, nil, 0)
	return setOutcomeFlag(outcome, cancelled, (*core.Outcome).Cancel)
}

// setOutcomeFlag stores what fn reports of the outcome in *flag, as 1 or 0.
func setOutcomeFlag(outcome C.gokpl_outcome, flag *C.int32_t, fn func(*core.Outcome) bool) C.int32_t {
	if flag == nil {
		return C.GOKPL_ERR_INVALID_ARGUMENT
	}
	entry, ok := outcomes.get(uint64(outcome))
	if !ok {
		return C.GOKPL_ERR_INVALID_HANDLE
	}
	*flag = cBool(fn(entry.o))
	return C.GOKPL_OK
}

//export gokpl_outcome_notify
func gokpl_outcome_notify(outcome C.gokpl_outcome, token C.uint64_t, queued *C.int32_t) (status C.int32_t) {
	defer recoverPanic(&status, nil, 0)
	if queued == nil {
		return C.GOKPL_ERR_INVALID_ARGUMENT
	}
	*queued = 0
	entry, ok := outcomes.get(uint64(outcome))
	if !ok {
		return C.GOKPL_ERR_INVALID_HANDLE
	}
	*queued = cBool(entry.q.notify(entry.o, uint64(token)))
	return C.GOKPL_OK
}

//export gokpl_outcome_state
func gokpl_outcome_state(outcome C.gokpl_outcome) (state C.int64_t) {
	var status C.int32_t
	defer func() {
		if status != C.GOKPL_OK {
			state = -C.int64_t(status)
		}
	}()
	defer recoverPanic(&status, nil, 0)
	r, status := resultOf(outcome)
	if r == nil {
		return 0
	}
	return C.int64_t(r.AttemptCount())<<1 | C.int64_t(cBool(r.Success))
}

//export gokpl_outcome_result
func gokpl_outcome_result(outcome C.gokpl_outcome, out *C.gokpl_result, strings *C.char, stringsCap C.size_t) (status C.int32_t) {
	defer recoverPanic(&status, nil, 0)
	if out == nil || (strings == nil && stringsCap > 0) {
		return C.GOKPL_ERR_INVALID_ARGUMENT
	}
	r, status := resultOf(outcome)
	if r == nil {
		return status
	}
	*out = C.gokpl_result{
		success:             cBool(r.Success),
		attempt_count:       C.uint32_t(r.AttemptCount()),
		shard_id_len:        C.size_t(len(r.ShardID)),
		sequence_number_len: C.size_t(len(r.SequenceNumber)),
		error_code_len:      C.size_t(len(r.ErrorCode())),
		error_message_len:   C.size_t(len(r.ErrorMessage())),
	}
	return packStrings(strings, stringsCap, r.ShardID, r.SequenceNumber, r.ErrorCode(), r.ErrorMessage())
}

//export gokpl_outcome_attempt
func gokpl_outcome_attempt(outcome C.gokpl_outcome, index C.uint32_t, out *C.gokpl_attempt, strings *C.char, stringsCap C.size_t) (status C.int32_t) {
	defer recoverPanic(&status, nil, 0)
	if out == nil || (strings == nil && stringsCap > 0) {
		return C.GOKPL_ERR_INVALID_ARGUMENT
	}
	r, status := resultOf(outcome)
	if r == nil {
		return status
	}
	attempts := r.Attempts()
	if int(index) >= len(attempts) {
		return C.GOKPL_ERR_INVALID_ARGUMENT
	}
	a := &attempts[index]
	*out = C.gokpl_attempt{
		started_at_ns:       C.int64_t(a.StartedAt.UnixNano()),
		ended_at_ns:         C.int64_t(a.EndedAt.UnixNano()),
		success:             cBool(a.Success),
		shard_id_len:        C.size_t(len(a.ShardID)),
		sequence_number_len: C.size_t(len(a.SequenceNumber)),
		error_code_len:      C.size_t(len(a.ErrorCode)),
		error_message_len:   C.size_t(len(a.ErrorMessage)),
	}
	return packStrings(strings, stringsCap, a.ShardID, a.SequenceNumber, a.ErrorCode, a.ErrorMessage)
}

//export gokpl_outcome_free
func gokpl_outcome_free(outcome C.gokpl_outcome) (status C.int32_t) {
	defer recoverPanic(&status, nil, 0)
	outcomes.remove(uint64(outcome))
	return C.GOKPL_OK
}

//export gokpl_outcomes_free
func gokpl_outcomes_free(handles *C.gokpl_coutcome, count C.size_t) (status C.int32_t) {
	defer recoverPanic(&status, nil, 0)
	if (handles == nil && count > 0) || !fitsSlice[C.gokpl_outcome](count) {
		return C.GOKPL_ERR_INVALID_ARGUMENT
	}
	for _, h := range unsafe.Slice(handles, int(count)) {
		outcomes.remove(uint64(h))
	}
	return C.GOKPL_OK
}

// resultOf returns the result of a resolved outcome, or nil and the status
// that says why there is none.
func resultOf(outcome C.gokpl_outcome) (*core.RecordResult, C.int32_t) {
	entry, ok := outcomes.get(uint64(outcome))
	if !ok {
		return nil, C.GOKPL_ERR_INVALID_HANDLE
	}
	r, err := entry.o.Result()
	if err != nil {
		return nil, statusOf(err)
	}
	if r == nil {
		return nil, C.GOKPL_ERR_PENDING
	}
	return r, C.GOKPL_OK
}

// packStrings copies the strings one after another into the caller's buffer,
// or reports that it is too small.
func packStrings(buf *C.char, capacity C.size_t, parts ...string) C.int32_t {
	total := 0
	for _, s := range parts {
		total += len(s)
	}
	if uint64(total) > uint64(capacity) || (total > 0 && buf == nil) {
		return C.GOKPL_ERR_BUFFER_TOO_SMALL
	}
	if total == 0 {
		return C.GOKPL_OK
	}
	dst := unsafe.Slice((*byte)(unsafe.Pointer(buf)), total)
	n := 0
	for _, s := range parts {
		n += copy(dst[n:], s)
	}
	return C.GOKPL_OK
}

func cBool(b bool) C.int32_t {
	if b {
		return 1
	}
	return 0
}
