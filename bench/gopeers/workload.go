package main

import (
	"encoding/hex"
	"math/bits"
	"syscall"
	"time"
)

// recordSize is the data size of every record.
const recordSize = 200

// payload is the data every record carries; the libraries only read it.
var payload = func() []byte {
	b := make([]byte, recordSize)
	x := uint64(0x9e3779b97f4a7c15)
	for i := range b {
		x = mix(x + uint64(i))
		b[i] = byte(x)
	}
	return b
}()

// mix is splitmix64's finalizer, a bijection on uint64: distinct inputs give
// distinct outputs.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// partitionKey returns record i's key: 16 random-looking hex characters,
// never the same for two records of one run.
func partitionKey(i int) string {
	var raw [8]byte
	x := mix(uint64(i) + 0x632be59bd9b4e019)
	for j := range raw {
		raw[j] = byte(x >> (8 * j))
	}
	var key [16]byte
	hex.Encode(key[:], raw[:])
	return string(key[:])
}

// histogram counts durations in nanoseconds with about 3% resolution.
type histogram struct {
	counts [2048]int64
	n      int64
	max    int64
}

// add counts one duration.
func (h *histogram) add(d time.Duration) {
	ns := max(int64(d), 0)
	h.counts[bucketOf(uint64(ns))]++
	h.n++
	h.max = max(h.max, ns)
}

// bucketOf is exact below 64 ns, then 32 buckets per power of two.
func bucketOf(v uint64) int {
	if v < 64 {
		return int(v)
	}
	shift := bits.Len64(v) - 6
	return shift*32 + int(v>>shift)
}

// bucketFloor is the smallest duration in bucket i.
func bucketFloor(i int) int64 {
	if i < 64 {
		return int64(i)
	}
	shift := i/32 - 1
	return int64(i%32+32) << shift
}

// quantile returns the duration at quantile q (0 to 1) in nanoseconds.
func (h *histogram) quantile(q float64) int64 {
	if h.n == 0 {
		return 0
	}
	rank := int64(q*float64(h.n-1)) + 1
	var seen int64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return min(bucketFloor(i), h.max)
		}
	}
	return h.max
}

// latency is a summary of the put calls' durations.
type latency struct {
	P50Nanos int64 `json:"p50_ns"`
	P99Nanos int64 `json:"p99_ns"`
	MaxNanos int64 `json:"max_ns"`
}

// summary returns h's p50, p99 and max.
func (h *histogram) summary() latency {
	return latency{P50Nanos: h.quantile(0.50), P99Nanos: h.quantile(0.99), MaxNanos: h.max}
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// pacer spreads puts over time at a fixed rate.
type pacer struct {
	start time.Time
	rate  float64
}

// due returns how many puts should have been made by now.
func (p pacer) due() int {
	return int(time.Since(p.start).Seconds()*p.rate) + 1
}
