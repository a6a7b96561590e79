package kinesistest

import (
	"crypto/md5"
	"encoding/binary"
	"math/bits"
	"strconv"
)

// hashKey is an unsigned 128-bit Kinesis hash key. Values are immutable and
// safe to share between goroutines.
type hashKey struct {
	hi, lo uint64
}

// maxHashKey is 2^128 - 1, the end of the hash key space.
var maxHashKey = hashKey{hi: ^uint64(0), lo: ^uint64(0)}

// partitionKeyHash returns the MD5 digest of a partition key read as a
// big-endian 128-bit integer, which is how Kinesis routes a record that has
// no explicit hash key.
func partitionKeyHash(partitionKey string) hashKey {
	sum := md5.Sum([]byte(partitionKey))
	return hashKey{
		hi: binary.BigEndian.Uint64(sum[:8]),
		lo: binary.BigEndian.Uint64(sum[8:]),
	}
}

// parseHashKey parses a decimal hash key in 0..2^128-1. It accepts the
// service's format: digits only, no sign and no leading zeros.
func parseHashKey(s string) (hashKey, bool) {
	if s == "" || len(s) > 39 || (len(s) > 1 && s[0] == '0') {
		return hashKey{}, false
	}
	var k hashKey
	for i := 0; i < len(s); i++ {
		d := s[i] - '0'
		if d > 9 {
			return hashKey{}, false
		}
		next, overflow := k.mulAdd(10, uint64(d))
		if overflow {
			return hashKey{}, false
		}
		k = next
	}
	return k, true
}

// mulAdd returns k*m + a and whether the result overflowed 128 bits.
func (k hashKey) mulAdd(m, a uint64) (hashKey, bool) {
	loHi, lo := bits.Mul64(k.lo, m)
	hiHi, hi := bits.Mul64(k.hi, m)
	hi, carry := bits.Add64(hi, loHi, 0)
	overflow := hiHi != 0 || carry != 0
	lo, carry = bits.Add64(lo, a, 0)
	hi, carry = bits.Add64(hi, 0, carry)
	return hashKey{hi: hi, lo: lo}, overflow || carry != 0
}

// String formats k in decimal, the form the API uses.
func (k hashKey) String() string {
	if k.hi == 0 {
		return strconv.FormatUint(k.lo, 10)
	}
	var buf [39]byte
	i := len(buf)
	for k.hi != 0 || k.lo != 0 {
		var rem uint64
		k, rem = k.divMod10()
		i--
		buf[i] = byte('0' + rem)
	}
	return string(buf[i:])
}

// divMod10 returns k/10 and k%10.
func (k hashKey) divMod10() (hashKey, uint64) {
	hiQuo, hiRem := bits.Div64(0, k.hi, 10)
	loQuo, rem := bits.Div64(hiRem, k.lo, 10)
	return hashKey{hi: hiQuo, lo: loQuo}, rem
}

// cmp returns -1, 0 or +1 as k is less than, equal to or greater than o.
func (k hashKey) cmp(o hashKey) int {
	switch {
	case k.hi < o.hi:
		return -1
	case k.hi > o.hi:
		return 1
	case k.lo < o.lo:
		return -1
	case k.lo > o.lo:
		return 1
	}
	return 0
}

// add returns k+d, wrapping at 2^128.
func (k hashKey) add(d uint64) hashKey {
	lo, carry := bits.Add64(k.lo, d, 0)
	return hashKey{hi: k.hi + carry, lo: lo}
}

// sub returns k-d, wrapping below zero.
func (k hashKey) sub(d uint64) hashKey {
	lo, borrow := bits.Sub64(k.lo, d, 0)
	return hashKey{hi: k.hi - borrow, lo: lo}
}

// midpoint returns the key halfway between k and o, rounded down.
func (k hashKey) midpoint(o hashKey) hashKey {
	lo, carry := bits.Add64(k.lo, o.lo, 0)
	hi, top := bits.Add64(k.hi, o.hi, carry)
	return hashKey{hi: hi>>1 | top<<63, lo: lo>>1 | hi<<63}
}

// evenSplit returns the first key of shard i when the key space is divided
// evenly among n shards: floor(i * 2^128 / n). It requires i < n.
func evenSplit(i, n uint64) hashKey {
	// i * 2^128 has i as its third 64-bit word; i < n keeps the quotient
	// within 128 bits, so two long-division steps suffice.
	hi, rem := bits.Div64(i, 0, n)
	lo, _ := bits.Div64(rem, 0, n)
	return hashKey{hi: hi, lo: lo}
}
