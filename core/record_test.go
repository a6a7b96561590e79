package core

import (
	"crypto/md5"
	"errors"
	"math/big"
	"strings"
	"testing"
	"unicode/utf16"
	"unsafe"
)

func TestPartitionKeyHashIsBigEndianMD5(t *testing.T) {
	sum := md5.Sum([]byte("user-123"))
	want := new(big.Int).SetBytes(sum[:]).String()
	if got := PartitionKeyHash("user-123").String(); got != want {
		t.Fatalf("hash = %s, want %s", got, want)
	}
}

func TestParseHashKeyRange(t *testing.T) {
	max := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 128), big.NewInt(1)).String()
	for _, ok := range []string{"0", max, " 42 ", "170141183460469231731687303715884105728"} {
		if h, err := ParseHashKey(ok); err != nil || h.String() != strings.TrimSpace(ok) {
			t.Errorf("ParseHashKey(%q) = %v, %v", ok, h, err)
		}
	}
	tooBig := new(big.Int).Lsh(big.NewInt(1), 128).String()
	for _, bad := range []string{"-1", tooBig, "abc", "", "1.5", "0x10"} {
		var ire *InvalidRecordError
		if _, err := ParseHashKey(bad); !errors.As(err, &ire) || ire.Field != "explicit_hash_key" {
			t.Errorf("ParseHashKey(%q) err = %v", bad, err)
		}
	}
}

func TestRecordValidationNamesTheField(t *testing.T) {
	cases := []struct {
		record Record
		field  string
	}{
		{Record{Stream: "s", PartitionKey: ""}, "partition_key"},
		{Record{Stream: "s", PartitionKey: strings.Repeat("k", 257)}, "partition_key"},
		{Record{Stream: "s", PartitionKey: "k", Data: make([]byte, MaxRecordSizeLimit)}, "data"},
		{Record{Stream: "s", PartitionKey: "k\xff"}, "partition_key"},
		{Record{Stream: "s", PartitionKey: "k", ExplicitHashKey: "-1"}, "explicit_hash_key"},
	}
	for _, c := range cases {
		var ire *InvalidRecordError
		if _, err := c.record.validate(); !errors.As(err, &ire) || ire.Field != c.field {
			t.Errorf("%+v: err = %v, want field %s", c.record.PartitionKey, err, c.field)
		}
	}
}

func TestPartitionKeyLengthCountsCharactersNotBytes(t *testing.T) {
	key := strings.Repeat("é", 256) // 512 bytes, 256 characters
	if _, err := (&Record{Stream: "s", PartitionKey: key}).validate(); err != nil {
		t.Fatal(err)
	}
	if _, err := (&Record{Stream: "s", PartitionKey: key + "é"}).validate(); err == nil {
		t.Fatal("257 characters accepted")
	}
	emoji := strings.Repeat("😀", 128) // 128 characters, 256 UTF-16 units
	if _, err := (&Record{Stream: "s", PartitionKey: emoji}).validate(); err != nil {
		t.Fatal(err)
	}
	if _, err := (&Record{Stream: "s", PartitionKey: emoji + "😀"}).validate(); err == nil {
		t.Fatal("258 UTF-16 units accepted: the service counts an emoji twice")
	}
	full := Record{Stream: "s", PartitionKey: "k", Data: make([]byte, MaxRecordSizeLimit-1)}
	if _, err := full.validate(); err != nil {
		t.Fatalf("10 MiB of data and key rejected: %v", err)
	}
}

// partitionKeyLength counts UTF-16 units, with or without its ASCII fast
// path, and refuses invalid UTF-8 wherever it sits in the key.
func TestPartitionKeyLength(t *testing.T) {
	for _, tc := range []struct {
		key  string
		n    int
		want bool
	}{
		{"", 0, true},
		{"user-1", 6, true},
		{"é", 1, true},
		{"abcé", 4, true},
		{"é" + strings.Repeat("a", 10), 11, true},
		{"😀", 2, true},
		{"a😀b", 4, true},
		{"\uFFFD", 1, true}, // the replacement character itself is valid
		{"abc\xff", 0, false},
		{"\xffabc", 0, false},
		{"é\xc3", 0, false},
	} {
		n, ok := partitionKeyLength(tc.key)
		if ok != tc.want || (ok && n != tc.n) {
			t.Errorf("partitionKeyLength(%q) = %d, %v; want %d, %v", tc.key, n, ok, tc.n, tc.want)
		}
		if ok && n != len(utf16.Encode([]rune(tc.key))) {
			t.Errorf("partitionKeyLength(%q) = %d, but it has %d UTF-16 units", tc.key, n, len(utf16.Encode([]rune(tc.key))))
		}
	}
}

// A record in flight is allocated, filled and collected for every put: at a
// million puts a second its size shows in the CPU per record and in the
// slowest puts, which fault in fresh heap (the Go peers benchmark moved by
// a few per cent for each 32 bytes). It fits the allocator's 128-byte class.
func TestUserRecordFitsItsSizeClass(t *testing.T) {
	if size := unsafe.Sizeof(userRecord{}); size > 128 {
		t.Fatalf("userRecord takes %d bytes, more than 128", size)
	}
}
