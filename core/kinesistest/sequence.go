package kinesistest

import (
	"fmt"
	"strconv"
	"strings"
)

// Sequence numbers are 56 decimal digits, like the service's:
//
//	"49" | stream id (24 digits) | shard index (10 digits) | counter (20 digits)
//
// The stream id and shard index make a number recognisably belong to one
// shard of one stream; the counter is issued by the stream in increasing
// order, so numbers increase strictly within a shard. All sequence numbers
// have the same length, so comparing them as strings compares them as
// numbers.
const (
	sequenceNumberLength = 56
	sequenceCounterWidth = 20
	sequencePrefixLength = sequenceNumberLength - sequenceCounterWidth
)

// sequencePrefix returns the digits every sequence number of a shard starts
// with.
func sequencePrefix(streamID uint64, shardIndex int) string {
	return fmt.Sprintf("49%024d%010d", streamID, shardIndex)
}

// formatSequenceNumber appends counter, zero-padded, to a shard's prefix.
func formatSequenceNumber(prefix string, counter uint64) string {
	var buf [sequenceNumberLength]byte
	copy(buf[:], prefix)
	for i := sequenceNumberLength - 1; i >= sequencePrefixLength; i-- {
		buf[i] = byte('0' + counter%10)
		counter /= 10
	}
	return string(buf[:])
}

// parseSequenceNumber returns the counter of seq if seq is a sequence number
// of the shard whose numbers start with prefix.
func parseSequenceNumber(prefix, seq string) (uint64, bool) {
	if len(seq) != sequenceNumberLength || !strings.HasPrefix(seq, prefix) {
		return 0, false
	}
	counter, err := strconv.ParseUint(seq[sequencePrefixLength:], 10, 64)
	return counter, err == nil
}

// isDecimal reports whether s is a non-empty string of decimal digits.
func isDecimal(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
