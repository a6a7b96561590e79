package core

import (
	"bytes"
	"crypto/md5"
	"encoding/binary"
	"errors"
	"testing"
)

// Seeds for both fuzz tests are in testdata/fuzz/<FuzzName>/; run them with
//
//	go test ./core -run '^$' -fuzz FuzzAggregationRoundTrip -fuzztime 5m
//	go test ./core -run '^$' -fuzz FuzzDeaggregate -fuzztime 5m

// fuzzRecords turns fuzz input into user records. Each record takes
//
//	flags, partition key length, partition key..., [16 bytes of hash key], data length, data...
//
// where flags bit 0 gives the record an explicit hash key (written with
// leading zeros and spaces when bit 1 is set), bit 2 reuses an earlier
// record's partition key instead (the length byte picks which), bit 3
// makes the data length count in units of 64 bytes, and bit 4 adds tags
// after the data:
//
//	tag count, then per tag: key length (bit 7: a value follows), key..., [value length, value...]
func fuzzRecords(spec []byte) []*userRecord {
	var records []*userRecord
	take := func(n int) ([]byte, bool) {
		if len(spec) < n {
			return nil, false
		}
		b := spec[:n]
		spec = spec[n:]
		return b, true
	}
	for {
		head, ok := take(2)
		if !ok {
			return records
		}
		flags := head[0]
		var pk string
		if flags&4 != 0 && len(records) > 0 {
			pk = records[int(head[1])%len(records)].PartitionKey
		} else {
			b, ok := take(int(head[1])%64 + 1)
			if !ok {
				return records
			}
			pk = string(b)
		}
		ehk := ""
		if flags&1 != 0 {
			b, ok := take(16)
			if !ok {
				return records
			}
			ehk = HashKey{Hi: binary.BigEndian.Uint64(b), Lo: binary.BigEndian.Uint64(b[8:])}.String()
			if flags&2 != 0 {
				ehk = " 00" + ehk + " "
			}
		}
		n, ok := take(1)
		if !ok {
			return records
		}
		size := int(n[0])
		if flags&8 != 0 {
			size *= 64
		}
		data, ok := take(min(size, len(spec)))
		if !ok {
			return records
		}
		var tags []Tag
		if flags&16 != 0 {
			if tags, ok = fuzzTags(take); !ok {
				return records
			}
		}
		r := Record{Stream: "s", PartitionKey: pk, ExplicitHashKey: ehk, Data: data, Tags: tags}
		h, err := r.validate()
		if err != nil {
			continue
		}
		tagsSize, err := validateTags(tags)
		if err != nil {
			continue
		}
		u := newUserRecord(&r)
		u.hash = h
		u.setTags(tags, tagsSize)
		u.ensureHash()
		records = append(records, u)
	}
}

// fuzzTags reads up to 7 tags of fuzzRecords' input.
func fuzzTags(take func(int) ([]byte, bool)) ([]Tag, bool) {
	count, ok := take(1)
	if !ok {
		return nil, false
	}
	tags := make([]Tag, count[0]%8)
	for i := range tags {
		head, ok := take(1)
		if !ok {
			return nil, false
		}
		key, ok := take(int(head[0] & 0x7f))
		if !ok {
			return nil, false
		}
		tags[i].Key = string(key)
		if head[0]&0x80 != 0 {
			n, ok := take(1)
			if !ok {
				return nil, false
			}
			value, ok := take(int(n[0]))
			if !ok {
				return nil, false
			}
			tags[i].Value, tags[i].HasValue = string(value), true
		}
	}
	return tags, true
}

// FuzzAggregationRoundTrip checks that the hand-written encoder gives
// exactly proto.Marshal's bytes and its own predicted size, and that
// Deaggregate gives the records back.
func FuzzAggregationRoundTrip(f *testing.F) {
	f.Fuzz(func(t *testing.T, spec []byte) {
		records := fuzzRecords(spec)
		if len(records) == 0 {
			return
		}
		data, g := aggregate(records)
		if want := marshalReference(t, records); !bytes.Equal(data, want) {
			t.Fatalf("encoding differs from proto.Marshal:\n got %x\nwant %x", data, want)
		}
		if len(data) != g.size() {
			t.Fatalf("encoded %d bytes, predicted %d", len(data), g.size())
		}
		got, err := Deaggregate("a", "", data)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(records) {
			t.Fatalf("%d records back of %d", len(got), len(records))
		}
		for i, u := range records {
			ehk := ""
			if u.explicitHash {
				ehk = u.hash.String() // fuzzRecords writes it in decimal, with or without zeros and spaces around it
			}
			if got[i].PartitionKey != u.PartitionKey || got[i].ExplicitHashKey != ehk || !bytes.Equal(got[i].Data, u.Data) ||
				!equalTags(got[i].Tags, nilIfEmpty(u.tags())) {
				t.Fatalf("record %d = %+v, want %q %q %x", i, got[i], u.PartitionKey, ehk, u.Data)
			}
		}
		k := newKinesisRecord(records)
		if len(records) > 1 && (k.partitionKey != "a" || !bytes.Equal(k.data, data)) {
			t.Fatal("newKinesisRecord differs from the aggregation")
		}
	})
}

func nilIfEmpty(tags []Tag) []Tag {
	if len(tags) == 0 {
		return nil
	}
	return tags
}

// FuzzDeaggregate checks that Deaggregate never panics, and keeps its
// promises on any input. With wrap set the input is framed with the magic
// and a correct MD5, so that the fuzzer reaches the protobuf decoder.
func FuzzDeaggregate(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte, wrap bool) {
		if wrap {
			sum := md5.Sum(data)
			data = append(append(append([]byte(nil), aggregatedMagic[:]...), data...), sum[:]...)
		}
		aggregated := IsAggregated(data)
		got, err := Deaggregate("pk", "1", data)
		switch {
		case err == nil && aggregated:
			for _, r := range got {
				if r.Data == nil {
					t.Fatal("nil data")
				}
			}
		case err == nil, errors.Is(err, ErrNotAggregated):
			if aggregated || len(got) != 1 || got[0].PartitionKey != "pk" || got[0].ExplicitHashKey != "1" || !bytes.Equal(got[0].Data, data) {
				t.Fatalf("plain data: %+v, %v", got, err)
			}
			if err != nil && !bytes.HasPrefix(data, aggregatedMagic[:]) {
				t.Fatalf("ErrNotAggregated without the magic: %v", err)
			}
		case errors.Is(err, ErrCorrupt):
			if !aggregated || got != nil {
				t.Fatalf("corrupt: aggregated %v, records %+v", aggregated, got)
			}
		default:
			t.Fatalf("unexpected error %v", err)
		}
	})
}
