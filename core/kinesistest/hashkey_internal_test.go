package kinesistest

import (
	"math/big"
	"testing"
)

func bigKey(k hashKey) *big.Int {
	v := new(big.Int).SetUint64(k.hi)
	v.Lsh(v, 64)
	return v.Or(v, new(big.Int).SetUint64(k.lo))
}

func TestHashKeyParseAndFormatRoundTrip(t *testing.T) {
	for _, s := range []string{
		"0", "1", "18446744073709551615", "18446744073709551616",
		"113427455640312821154458202477256070485",
		"340282366920938463463374607431768211455",
	} {
		k, ok := parseHashKey(s)
		if !ok {
			t.Fatalf("parseHashKey(%q) failed", s)
		}
		if got := k.String(); got != s {
			t.Errorf("String() = %q, want %q", got, s)
		}
		if got := bigKey(k).String(); got != s {
			t.Errorf("value = %s, want %s", got, s)
		}
	}
}

func TestHashKeyParseRejectsInvalid(t *testing.T) {
	for _, s := range []string{
		"", "-1", "01", "1a", " 1",
		"340282366920938463463374607431768211456", // 2^128
		"1000000000000000000000000000000000000000",
	} {
		if _, ok := parseHashKey(s); ok {
			t.Errorf("parseHashKey(%q) succeeded", s)
		}
	}
}

func TestEvenSplitMatchesBigArithmetic(t *testing.T) {
	space := new(big.Int).Lsh(big.NewInt(1), 128)
	for _, n := range []uint64{1, 2, 3, 7, 10, 500, 9999} {
		for _, i := range []uint64{0, 1, n / 2, n - 1} {
			if i >= n {
				continue
			}
			want := new(big.Int).Mul(space, new(big.Int).SetUint64(i))
			want.Div(want, new(big.Int).SetUint64(n))
			if got := bigKey(evenSplit(i, n)); got.Cmp(want) != 0 {
				t.Errorf("evenSplit(%d, %d) = %s, want %s", i, n, got, want)
			}
		}
	}
}

func TestHashKeyMidpointAndCarry(t *testing.T) {
	mid := hashKey{}.midpoint(maxHashKey)
	if want := "170141183460469231731687303715884105727"; mid.String() != want {
		t.Errorf("midpoint = %s, want %s", mid, want)
	}
	if got := (hashKey{lo: ^uint64(0)}).add(1); got != (hashKey{hi: 1}) {
		t.Errorf("add carry = %+v", got)
	}
	if got := (hashKey{hi: 1}).sub(1); got != (hashKey{lo: ^uint64(0)}) {
		t.Errorf("sub borrow = %+v", got)
	}
}

func TestSequenceNumbersRoundTrip(t *testing.T) {
	prefix := sequencePrefix(1795796007015068149, 12)
	seq := formatSequenceNumber(prefix, 12345)
	if len(seq) != 56 {
		t.Fatalf("len = %d", len(seq))
	}
	if counter, ok := parseSequenceNumber(prefix, seq); !ok || counter != 12345 {
		t.Errorf("parse = %d, %v", counter, ok)
	}
	if _, ok := parseSequenceNumber(sequencePrefix(1795796007015068149, 13), seq); ok {
		t.Error("another shard's prefix accepted the number")
	}
	if formatSequenceNumber(prefix, 9) >= formatSequenceNumber(prefix, 10) {
		t.Error("sequence numbers do not sort numerically")
	}
}
