package main

/*
#include "cgotypes.h"
*/
import "C"

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"unsafe"

	"github.com/gokpl/gokpl/core"
)

// statusOf maps an error from core to the one status code C callers see.
// This is the only place where that mapping lives.
func statusOf(err error) C.int32_t {
	var configErr *core.ConfigError
	var recordErr *core.InvalidRecordError
	switch {
	case err == nil:
		return C.GOKPL_OK
	case errors.As(err, &configErr):
		if configErr.Field == core.ConfigFieldAWS {
			return C.GOKPL_ERR_AWS
		}
		return C.GOKPL_ERR_CONFIG
	case errors.As(err, &recordErr):
		return C.GOKPL_ERR_INVALID_RECORD
	case errors.Is(err, core.ErrBackpressure):
		return C.GOKPL_ERR_BACKPRESSURE
	case errors.Is(err, core.ErrClosed):
		return C.GOKPL_ERR_CLOSED
	case errors.Is(err, core.ErrCancelled):
		return C.GOKPL_ERR_CANCELLED
	case errors.Is(err, context.DeadlineExceeded):
		return C.GOKPL_TIMEOUT
	}
	return C.GOKPL_ERR_INTERNAL
}

// fail writes err's message into the caller's buffer and returns its status.
func fail(err error, buf *C.char, capacity C.size_t) C.int32_t {
	writeMessage(err.Error(), buf, capacity)
	return statusOf(err)
}

// writeMessage copies msg into buf as a NUL-terminated string, truncated to
// fit. It touches only the bytes it writes, whatever capacity says.
func writeMessage(msg string, buf *C.char, capacity C.size_t) {
	if buf == nil || capacity == 0 {
		return
	}
	n := len(msg)
	if uint64(n) > uint64(capacity)-1 {
		n = int(capacity - 1)
	}
	dst := unsafe.Slice((*byte)(unsafe.Pointer(buf)), n+1)
	copy(dst, msg[:n])
	dst[n] = 0
}

// recoverPanic turns a panic in an export into GOKPL_ERR_INTERNAL with its
// message and stack, so a bug never takes the host process down. Every
// export defers it first.
func recoverPanic(status *C.int32_t, buf *C.char, capacity C.size_t) {
	if r := recover(); r != nil {
		writeMessage(fmt.Sprintf("gokpl: internal error: %v\n%s", r, debug.Stack()), buf, capacity)
		*status = C.GOKPL_ERR_INTERNAL
	}
}

// errInvalidHandle is the message for a handle not in its table.
func errInvalidHandle(kind string, h uint64) error {
	return fmt.Errorf("gokpl: invalid %s handle %#x (unknown, closed or freed)", kind, h)
}

// goString copies a (pointer, length) string from C, of any length (C.GoStringN
// takes an int, 32 bits).
func goString(p *C.gokpl_cchar, n C.size_t) string {
	if p == nil || n == 0 {
		return ""
	}
	return string(unsafe.Slice((*byte)(unsafe.Pointer(p)), int(n)))
}

// goKeyAndData copies a record's partition key and data from C in one
// allocation: a record is then one allocation of the caller's bytes and one
// of the engine's (core.Producer.Put). A record too large for any stream is
// not copied.
func goKeyAndData(key *C.gokpl_cchar, keyLen C.size_t, data *C.gokpl_cbyte, dataLen C.size_t) (string, []byte) {
	k, d := int(keyLen), int(dataLen)
	if key == nil {
		k = 0
	}
	if data == nil {
		d = 0
	}
	if k+d == 0 {
		return "", []byte{}
	}
	if k+d > core.MaxRecordSizeLimit {
		// Put refuses it whatever it holds, before keeping anything: C's
		// memory serves for the check instead of a copy of it.
		return unsafe.String((*byte)(unsafe.Pointer(key)), k), unsafe.Slice((*byte)(unsafe.Pointer(data)), d)
	}
	buf := make([]byte, k+d)
	copy(buf, unsafe.Slice((*byte)(unsafe.Pointer(key)), k))
	copy(buf[k:], unsafe.Slice((*byte)(unsafe.Pointer(data)), d))
	return unsafe.String(unsafe.SliceData(buf), k), buf[k : k+d : k+d]
}

// contextFor turns a C timeout in milliseconds into a context: negative waits
// without limit, 0 does not wait.
func contextFor(timeoutMS C.int64_t) (context.Context, context.CancelFunc) {
	if timeoutMS < 0 {
		return context.WithCancel(context.Background())
	}
	return context.WithTimeout(context.Background(), msToDuration(int64(timeoutMS)))
}
