package main

/*
#include "cgotypes.h"
*/
import "C"

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"
)

// The engine logs through log/slog. Go never calls into the host, so the
// library's producers log into a bounded ring in Go memory instead, and the
// host pulls the records from a thread of its own (gokpl_log_next). When the
// ring is full the oldest record is dropped and counted; the next record read
// reports how many went. Records below the level the host asked for
// (gokpl_log_set_level) are not formatted at all.

// logRingSize bounds the records kept for the host: a host that never reads
// them costs at most this many.
const logRingSize = 1024

type logEntry struct {
	at      time.Time
	level   slog.Level
	text    string
	dropped uint64 // records dropped just before this one
}

// logRing is the process-wide queue of formatted records. Safe for
// concurrent use.
type logRing struct {
	mu      sync.Mutex
	entries [logRingSize]logEntry
	head    int // index of the oldest entry
	n       int
	dropped uint64        // dropped since the last entry was queued
	level   slog.Level    // records below it are not kept
	ready   chan struct{} // signalled when an entry is queued
}

func newLogRing() *logRing {
	return &logRing{level: slog.LevelInfo, ready: make(chan struct{}, 1)}
}

// engineLogs is what every producer of the library logs into.
var engineLogs = newLogRing()

func (r *logRing) enabled(level slog.Level) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return level >= r.level
}

func (r *logRing) setLevel(level slog.Level) {
	r.mu.Lock()
	r.level = level
	r.mu.Unlock()
}

func (r *logRing) push(e logEntry) {
	r.mu.Lock()
	if r.n == logRingSize {
		r.head = (r.head + 1) % logRingSize
		r.n--
		r.dropped++
	}
	e.dropped, r.dropped = r.dropped, 0
	r.entries[(r.head+r.n)%logRingSize] = e
	r.n++
	r.mu.Unlock()
	select {
	case r.ready <- struct{}{}:
	default:
	}
}

// next takes the oldest entry, waiting up to timeout for one (forever if
// timeout is negative).
func (r *logRing) next(timeout time.Duration) (logEntry, bool) {
	var timer *time.Timer
	for {
		r.mu.Lock()
		if r.n > 0 {
			e := r.entries[r.head]
			r.entries[r.head] = logEntry{}
			r.head = (r.head + 1) % logRingSize
			r.n--
			more := r.n > 0
			r.mu.Unlock()
			if more { // pass the signal on to another reader
				select {
				case r.ready <- struct{}{}:
				default:
				}
			}
			if timer != nil {
				timer.Stop()
			}
			return e, true
		}
		r.mu.Unlock()
		if timeout == 0 {
			return logEntry{}, false
		}
		if timer == nil && timeout > 0 {
			timer = time.NewTimer(timeout)
		}
		var expired <-chan time.Time
		if timer != nil {
			expired = timer.C
		}
		select {
		case <-r.ready:
		case <-expired:
			return logEntry{}, false
		}
	}
}

// ringHandler is the slog.Handler that formats records as
// "message key=value ..." into a logRing. Attributes whose key names a
// secret (see secretKey) are written as "[redacted]".
type ringHandler struct {
	ring   *logRing
	prefix string // attributes from WithAttrs, formatted
	group  string // "a.b." from WithGroup
}

func (h *ringHandler) Enabled(_ context.Context, level slog.Level) bool {
	return h.ring.enabled(level)
}

func (h *ringHandler) Handle(_ context.Context, rec slog.Record) error {
	var b strings.Builder
	b.WriteString(strings.TrimPrefix(rec.Message, "gokpl: "))
	b.WriteString(h.prefix)
	rec.Attrs(func(a slog.Attr) bool {
		appendAttr(&b, h.group, a)
		return true
	})
	at := rec.Time
	if at.IsZero() {
		at = time.Now()
	}
	h.ring.push(logEntry{at: at, level: rec.Level, text: b.String()})
	return nil
}

func (h *ringHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	var b strings.Builder
	b.WriteString(h.prefix)
	for _, a := range attrs {
		appendAttr(&b, h.group, a)
	}
	return &ringHandler{ring: h.ring, prefix: b.String(), group: h.group}
}

func (h *ringHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	return &ringHandler{ring: h.ring, prefix: h.prefix, group: h.group + name + "."}
}

func appendAttr(b *strings.Builder, group string, a slog.Attr) {
	a.Value = a.Value.Resolve()
	if a.Equal(slog.Attr{}) {
		return
	}
	if a.Value.Kind() == slog.KindGroup {
		inner := group
		if a.Key != "" {
			inner += a.Key + "."
		}
		for _, ga := range a.Value.Group() {
			appendAttr(b, inner, ga)
		}
		return
	}
	key := group + a.Key
	b.WriteByte(' ')
	b.WriteString(key)
	b.WriteByte('=')
	if secretKey(key) {
		b.WriteString("[redacted]")
		return
	}
	value := a.Value.String()
	if value == "" || strings.ContainsAny(value, " \t\n\"=") {
		value = strconv.Quote(value)
	}
	b.WriteString(value)
}

// secretKey reports whether an attribute's key names something that must
// never reach a log: keys, tokens, passwords, credentials.
func secretKey(key string) bool {
	k := strings.ToLower(key)
	for _, word := range []string{"secret", "token", "password", "credential", "access_key", "session", "authorization", "signature"} {
		if strings.Contains(k, word) {
			return true
		}
	}
	return false
}

// engineLogger is the logger every producer of the library gets.
var engineLogger = slog.New(&ringHandler{ring: engineLogs})

//export gokpl_log_set_level
func gokpl_log_set_level(level C.int32_t) (status C.int32_t) {
	defer recoverPanic(&status, nil, 0)
	engineLogs.setLevel(slog.Level(level))
	return C.GOKPL_OK
}

//export gokpl_log_next
func gokpl_log_next(timeoutMS C.int64_t, out *C.gokpl_log_record, buf *C.char, capacity C.size_t) (status C.int32_t) {
	defer recoverPanic(&status, nil, 0)
	if out == nil || (buf == nil && capacity > 0) {
		return C.GOKPL_ERR_INVALID_ARGUMENT
	}
	timeout := time.Duration(-1)
	if timeoutMS >= 0 {
		timeout = msToDuration(int64(timeoutMS))
	}
	e, ok := engineLogs.next(timeout)
	if !ok {
		return C.GOKPL_TIMEOUT
	}
	n := len(e.text)
	if uint64(n) > uint64(capacity) {
		n = int(capacity)
	}
	if n > 0 {
		copy(unsafe.Slice((*byte)(unsafe.Pointer(buf)), n), e.text)
	}
	*out = C.gokpl_log_record{
		time_ns:     C.int64_t(e.at.UnixNano()),
		level:       C.int32_t(e.level),
		message_len: C.size_t(n),
		dropped:     C.uint64_t(e.dropped),
	}
	return C.GOKPL_OK
}
