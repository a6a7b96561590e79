package core

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gokpl/gokpl/internal/aggpb"
	"google.golang.org/protobuf/proto"
)

// aggRecord makes a validated user record, as Producer.Put would.
func aggRecord(t testing.TB, partitionKey, explicitHashKey string, data []byte) *userRecord {
	t.Helper()
	r := Record{Stream: "s", PartitionKey: partitionKey, ExplicitHashKey: explicitHashKey, Data: data}
	h, err := r.validate()
	if err != nil {
		t.Fatal(err)
	}
	u := newUserRecord(&r)
	u.hash = h
	u.ensureHash()
	return u
}

// taggedRecord is aggRecord with tags, validated as Producer.Put does.
func taggedRecord(t testing.TB, partitionKey string, data []byte, tags ...Tag) *userRecord {
	t.Helper()
	u := aggRecord(t, partitionKey, "", data)
	n, err := validateTags(tags)
	if err != nil {
		t.Fatal(err)
	}
	u.setTags(tags, n)
	return u
}

// aggregate packs records as the aggregator does and returns the aggregated data.
func aggregate(records []*userRecord) ([]byte, *aggregation) {
	var g aggregation
	for _, u := range records {
		g.add(u, g.measure(u))
	}
	return g.appendEncoded(nil), &g
}

// marshalReference encodes records with the generated code and proto.Marshal:
// what the hand-written encoder must reproduce byte for byte.
func marshalReference(t testing.TB, records []*userRecord) []byte {
	t.Helper()
	var ar aggpb.AggregatedRecord
	pks := map[string]uint64{}
	ehks := map[string]uint64{}
	for _, u := range records {
		pk, ok := pks[u.PartitionKey]
		if !ok {
			pk = uint64(len(ar.PartitionKeyTable))
			pks[u.PartitionKey] = pk
			ar.PartitionKeyTable = append(ar.PartitionKeyTable, u.PartitionKey)
		}
		r := &aggpb.Record{PartitionKeyIndex: proto.Uint64(pk), Data: nonNil(u.Data)}
		if u.explicitHash {
			key := u.hash.String()
			ehk, ok := ehks[key]
			if !ok {
				ehk = uint64(len(ar.ExplicitHashKeyTable))
				ehks[key] = ehk
				ar.ExplicitHashKeyTable = append(ar.ExplicitHashKeyTable, key)
			}
			r.ExplicitHashKeyIndex = proto.Uint64(ehk)
		}
		for _, tag := range u.tags() {
			pt := &aggpb.Tag{Key: proto.String(tag.Key)}
			if tag.HasValue {
				pt.Value = proto.String(tag.Value)
			}
			r.Tags = append(r.Tags, pt)
		}
		ar.Records = append(ar.Records, r)
	}
	pb, err := proto.MarshalOptions{Deterministic: true}.Marshal(&ar)
	if err != nil {
		t.Fatal(err)
	}
	sum := md5.Sum(pb)
	out := append(aggregatedMagic[:], pb...)
	return append(out, sum[:]...)
}

// mixedRecords covers what the encoder must get right: repeated and unique
// partition keys, explicit hash keys in several spellings, indexes and
// lengths that need two-byte varints, empty and non-UTF-8 data, multi-byte
// keys.
func mixedRecords(t testing.TB) []*userRecord {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	var records []*userRecord
	for i := range 200 {
		pk := fmt.Sprintf("key-%d", i%150)
		ehk := ""
		switch i % 7 {
		case 1:
			ehk = "340282366920938463463374607431768211455" // 2^128-1
		case 3:
			ehk = fmt.Sprint(i)
		case 5:
			ehk = " 000" + fmt.Sprint(i-2) + " " // the same key as i-2's, spelled differently
		}
		data := make([]byte, rng.IntN(300))
		for j := range data {
			data[j] = byte(rng.Uint32())
		}
		u := aggRecord(t, pk, ehk, data)
		if i%4 == 2 {
			tags := testTags(i)
			u.setTags(tags, tagsSize(tags))
		}
		records = append(records, u)
	}
	records = append(records,
		aggRecord(t, "ключ-🔑", "", []byte("unicode key")),
		aggRecord(t, "empty", "0", nil),
		aggRecord(t, strings.Repeat("k", MaxPartitionKeyChars), "", []byte{}),
	)
	return records
}

// testTags are tags of every shape: a key alone, an empty value, an empty
// key, multi-byte text, and a value whose length takes a two-byte varint.
func testTags(i int) []Tag {
	switch i % 5 {
	case 0:
		return []Tag{{Key: "k"}}
	case 1:
		return []Tag{{Key: "k", HasValue: true}, {Key: "", Value: "v", HasValue: true}}
	case 2:
		return []Tag{{Key: "ключ", Value: "🔑", HasValue: true}}
	case 3:
		return []Tag{{Key: strings.Repeat("k", 200), Value: strings.Repeat("v", 300), HasValue: true}}
	}
	return []Tag{{Key: "a", Value: "1", HasValue: true}, {Key: "b"}, {Key: "c", Value: fmt.Sprint(i), HasValue: true}}
}

func TestEncodeMatchesProtoMarshal(t *testing.T) {
	cases := map[string][]*userRecord{
		"two records": {aggRecord(t, "a", "", []byte("x")), aggRecord(t, "b", "", []byte("y"))},
		"mixed":       mixedRecords(t),
		"empty data":  {aggRecord(t, "a", "", nil), aggRecord(t, "a", "7", []byte{})},
		"tags": {
			taggedRecord(t, "a", []byte("x"), Tag{Key: "k", Value: "v", HasValue: true}),
			aggRecord(t, "b", "", []byte("y")),
			taggedRecord(t, "a", nil, Tag{Key: "only-key"}, Tag{Key: "empty-value", HasValue: true}),
		},
	}
	for name, records := range cases {
		t.Run(name, func(t *testing.T) {
			got, _ := aggregate(records)
			if want := marshalReference(t, records); !bytes.Equal(got, want) {
				t.Fatalf("encoding differs from proto.Marshal:\n got %x\nwant %x", got, want)
			}
		})
	}
}

func TestAggregationSizeIsExact(t *testing.T) {
	records := mixedRecords(t)
	var g aggregation
	for i, u := range records {
		add := g.measure(u)
		before := g.size()
		g.add(u, add)
		if g.size() != before+add.grow {
			t.Fatalf("record %d: size %d after growing %d from %d", i, g.size(), add.grow, before)
		}
		if n := len(g.appendEncoded(nil)); n != g.size() {
			t.Fatalf("after %d records: size %d, encoded %d bytes", i+1, g.size(), n)
		}
	}
}

func TestOneRecordIsSentRawWithItsOwnKeys(t *testing.T) {
	data := []byte("payload")
	u := aggRecord(t, "my-key", "", data)
	u.deadline = instantOf(time.Unix(10, 0))
	u.expiration = instantOf(time.Unix(20, 0))
	k := newKinesisRecord([]*userRecord{u})
	if k.partitionKey != "my-key" || k.explicitHashKey != PartitionKeyHash("my-key").String() {
		t.Fatalf("keys = %q, %q", k.partitionKey, k.explicitHashKey)
	}
	if &k.data[0] != &data[0] {
		t.Fatal("raw data was copied")
	}
	if !k.deadline.Equal(u.deadline.time()) || !k.expiration.Equal(u.expiration.time()) || len(k.records) != 1 {
		t.Fatalf("kinesis record = %+v", k)
	}
	if IsAggregated(k.data) {
		t.Fatal("a single record was aggregated")
	}
}

func TestSeveralRecordsUseKeyAAndTheFirstHashKey(t *testing.T) {
	first := aggRecord(t, "first", "12345", []byte("1"))
	second := aggRecord(t, "second", "", []byte("2"))
	k := newKinesisRecord([]*userRecord{first, second})
	if k.partitionKey != "a" || k.explicitHashKey != "12345" {
		t.Fatalf("keys = %q, %q", k.partitionKey, k.explicitHashKey)
	}
	if !bytes.HasPrefix(k.data, aggregatedMagic[:]) || !IsAggregated(k.data) {
		t.Fatalf("data is not aggregated: %x", k.data)
	}
	// Without an explicit key the first record's MD5 hash key routes it.
	k = newKinesisRecord([]*userRecord{second, first})
	if k.explicitHashKey != PartitionKeyHash("second").String() {
		t.Fatalf("explicit hash key = %q", k.explicitHashKey)
	}
}

func TestKinesisRecordTimesAreTheEarliest(t *testing.T) {
	a := aggRecord(t, "a", "", nil)
	b := aggRecord(t, "b", "", nil)
	a.deadline, a.expiration = instantOf(time.Unix(5, 0)), instantOf(time.Unix(50, 0))
	b.deadline, b.expiration = instantOf(time.Unix(7, 0)), instantOf(time.Unix(40, 0))
	k := newKinesisRecord([]*userRecord{a, b})
	if !k.deadline.Equal(time.Unix(5, 0)) || !k.expiration.Equal(time.Unix(40, 0)) {
		t.Fatalf("deadline %v, expiration %v", k.deadline, k.expiration)
	}
}

func TestKeyTablesAreDeduplicated(t *testing.T) {
	records := []*userRecord{
		aggRecord(t, "x", "10", nil),
		aggRecord(t, "y", "20", nil),
		aggRecord(t, "x", "010", nil), // the same hash key as the first
		aggRecord(t, "y", "30", nil),
	}
	ar := unmarshalAggregated(t, newKinesisRecord(records).data)
	if got := ar.GetPartitionKeyTable(); !equalStrings(got, []string{"x", "y"}) {
		t.Fatalf("partition key table = %q", got)
	}
	if got := ar.GetExplicitHashKeyTable(); !equalStrings(got, []string{"10", "20", "30"}) {
		t.Fatalf("explicit hash key table = %q", got)
	}
	var pks, ehks []uint64
	for _, r := range ar.GetRecords() {
		pks = append(pks, r.GetPartitionKeyIndex())
		ehks = append(ehks, r.GetExplicitHashKeyIndex())
	}
	if fmt.Sprint(pks, ehks) != "[0 1 0 1] [0 1 0 2]" {
		t.Fatalf("indexes = %v %v", pks, ehks)
	}
}

func TestHashKeyTableHoldsOnlyExplicitKeys(t *testing.T) {
	records := []*userRecord{
		aggRecord(t, "implicit", "", nil),
		aggRecord(t, "explicit", " 0042 ", nil),
	}
	ar := unmarshalAggregated(t, newKinesisRecord(records).data)
	if got := ar.GetExplicitHashKeyTable(); !equalStrings(got, []string{"42"}) {
		t.Fatalf("explicit hash key table = %q", got)
	}
	if ar.Records[0].ExplicitHashKeyIndex != nil {
		t.Fatal("a record without an explicit hash key got an index")
	}
	if ar.Records[1].ExplicitHashKeyIndex == nil || ar.Records[1].GetExplicitHashKeyIndex() != 0 {
		t.Fatalf("explicit record's index = %v", ar.Records[1].ExplicitHashKeyIndex)
	}
	for _, r := range ar.Records {
		if len(r.Tags) != 0 {
			t.Fatal("tags written")
		}
	}
}

func TestAppendHashKeyMatchesBigInt(t *testing.T) {
	keys := []HashKey{
		{}, {Lo: 9}, {Lo: 10}, {Lo: 1<<64 - 1}, {Hi: 1}, {Hi: 1, Lo: 1},
		{Hi: ^uint64(0), Lo: ^uint64(0)},
	}
	for _, s := range []string{"10000000000000000000", "9999999999999999999", "18446744073709551616",
		"100000000000000000000000000000000000000", "99999999999999999999999999999999999999",
		"100000000000000000000000000000000000001", "200000000000000000000000000000000000000"} {
		h, err := ParseHashKey(s)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, h)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 10000 {
		keys = append(keys, HashKey{Hi: rng.Uint64() >> rng.IntN(64), Lo: rng.Uint64()})
	}
	for _, h := range keys {
		want := h.String()
		if got := hashKeyString(h); got != want {
			t.Fatalf("%#v: got %s, want %s", h, got, want)
		}
		if n := hashKeyDecimalLen(h); n != len(want) {
			t.Fatalf("%#v: length %d, want %d", h, n, len(want))
		}
	}
}

func TestDeaggregateReturnsEachRecord(t *testing.T) {
	records := mixedRecords(t)
	k := newKinesisRecord(records)
	got, err := Deaggregate(k.partitionKey, k.explicitHashKey, k.data)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(records) {
		t.Fatalf("%d records, want %d", len(got), len(records))
	}
	for i, u := range records {
		want := DeaggregatedRecord{PartitionKey: u.PartitionKey, Data: nonNil(u.Data), Tags: u.tags()}
		if u.explicitHash {
			want.ExplicitHashKey = u.hash.String()
		}
		if got[i].PartitionKey != want.PartitionKey || got[i].ExplicitHashKey != want.ExplicitHashKey ||
			!bytes.Equal(got[i].Data, want.Data) || got[i].Data == nil || !equalTags(got[i].Tags, want.Tags) {
			t.Fatalf("record %d = %+v, want %+v", i, got[i], want)
		}
	}
}

func TestDeaggregatePassesPlainDataThrough(t *testing.T) {
	for _, data := range [][]byte{nil, {}, []byte("plain"), aggregatedMagic[:3]} {
		got, err := Deaggregate("pk", "7", data)
		if err != nil || len(got) != 1 || got[0].PartitionKey != "pk" || got[0].ExplicitHashKey != "7" || !bytes.Equal(got[0].Data, data) {
			t.Fatalf("Deaggregate(%x) = %+v, %v", data, got, err)
		}
	}
}

func TestDeaggregateBadMD5IsNotAggregated(t *testing.T) {
	data := newKinesisRecord(mixedRecords(t)[:3]).data
	data[len(data)-1] ^= 1
	short := append(aggregatedMagic[:], 1, 2, 3)
	for _, data := range [][]byte{data, short} {
		if IsAggregated(data) {
			t.Fatal("IsAggregated with a bad MD5")
		}
		got, err := Deaggregate("pk", "", data)
		if !errors.Is(err, ErrNotAggregated) {
			t.Fatalf("err = %v", err)
		}
		if len(got) != 1 || got[0].PartitionKey != "pk" || !bytes.Equal(got[0].Data, data) {
			t.Fatalf("records = %+v, want the data as one record", got)
		}
	}
}

func TestDeaggregateCorruptProtobufIsAnError(t *testing.T) {
	outside := &aggpb.AggregatedRecord{
		PartitionKeyTable: []string{"a"},
		Records:           []*aggpb.Record{{PartitionKeyIndex: proto.Uint64(1), Data: []byte{}}},
	}
	outsideEHK := &aggpb.AggregatedRecord{
		PartitionKeyTable: []string{"a"},
		Records:           []*aggpb.Record{{PartitionKeyIndex: proto.Uint64(0), ExplicitHashKeyIndex: proto.Uint64(0), Data: []byte{}}},
	}
	missing := &aggpb.AggregatedRecord{Records: []*aggpb.Record{{Data: []byte{}}}}
	cases := map[string][]byte{
		"garbage":                  {0xFF, 0xFF, 0xFF},
		"partition key index":      mustMarshal(t, outside, false),
		"explicit hash key index":  mustMarshal(t, outsideEHK, false),
		"missing required field":   mustMarshal(t, missing, true),
		"truncated length-delimit": {0x0A, 0x05, 'a'},
	}
	for name, pb := range cases {
		t.Run(name, func(t *testing.T) {
			sum := md5.Sum(pb)
			data := append(append(aggregatedMagic[:], pb...), sum[:]...)
			if !IsAggregated(data) {
				t.Fatal("not recognised as aggregated")
			}
			got, err := Deaggregate("pk", "", data)
			if !errors.Is(err, ErrCorrupt) || got != nil {
				t.Fatalf("Deaggregate = %+v, %v", got, err)
			}
		})
	}
}

func TestDeaggregateTakesAnEmptyAggregateForPlainData(t *testing.T) {
	sum := md5.Sum(nil)
	data := append(aggregatedMagic[:], sum[:]...)
	got, err := Deaggregate("a", "1", data)
	if IsAggregated(data) || !errors.Is(err, ErrNotAggregated) || len(got) != 1 || !bytes.Equal(got[0].Data, data) {
		t.Fatalf("Deaggregate = %+v, %v", got, err)
	}
}

func mustMarshal(t *testing.T, m proto.Message, partial bool) []byte {
	t.Helper()
	b, err := proto.MarshalOptions{AllowPartial: partial, Deterministic: true}.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func unmarshalAggregated(t *testing.T, data []byte) *aggpb.AggregatedRecord {
	t.Helper()
	pb, ok := aggregatedProtobuf(data)
	if !ok {
		t.Fatalf("not aggregated: %x", data)
	}
	var ar aggpb.AggregatedRecord
	if err := proto.Unmarshal(pb, &ar); err != nil {
		t.Fatal(err)
	}
	return &ar
}

func equalTags(a, b []Tag) bool { return slices.Equal(a, b) }

func equalStrings(a, b []string) bool { return fmt.Sprintf("%q", a) == fmt.Sprintf("%q", b) }

// The test vector core/testdata/aggregated-mixed.{bin,json} is the data of
// one aggregated Kinesis record made by the encoder, and the user records a
// de-aggregator must read from it. Other implementations (the Python suite
// with aws_kinesis_agg) decode the same files. Regenerate with
//
//	go test ./core -run TestAggregatedVector -update-aggregated-vector
var updateAggregatedVector = flag.Bool("update-aggregated-vector", false, "rewrite core/testdata/aggregated-mixed.*")

type aggregatedVector struct {
	Comment         string                   `json:"comment"`
	PartitionKey    string                   `json:"partition_key"`
	ExplicitHashKey string                   `json:"explicit_hash_key"`
	Records         []aggregatedVectorRecord `json:"records"`
}

type aggregatedVectorRecord struct {
	PartitionKey    string                `json:"partition_key"`
	ExplicitHashKey string                `json:"explicit_hash_key"` // "" when the record has none
	Data            string                `json:"data_base64"`
	Tags            []aggregatedVectorTag `json:"tags,omitempty"`
}

type aggregatedVectorTag struct {
	Key   string  `json:"key"`
	Value *string `json:"value,omitempty"` // absent when the tag has no value
}

func vectorTags(tags []Tag) []aggregatedVectorTag {
	var out []aggregatedVectorTag
	for _, t := range tags {
		v := aggregatedVectorTag{Key: t.Key}
		if t.HasValue {
			v.Value = &t.Value
		}
		out = append(out, v)
	}
	return out
}

func TestAggregatedVector(t *testing.T) {
	binPath := filepath.Join("testdata", "aggregated-mixed.bin")
	jsonPath := filepath.Join("testdata", "aggregated-mixed.json")
	k := newKinesisRecord(mixedRecords(t))
	if *updateAggregatedVector {
		writeAggregatedVector(t, k, binPath, jsonPath)
	}
	data, err := os.ReadFile(binPath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data, k.data) {
		t.Fatalf("the encoder no longer reproduces %s", binPath)
	}
	raw, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	var want aggregatedVector
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	if want.PartitionKey != k.partitionKey || want.ExplicitHashKey != k.explicitHashKey {
		t.Fatalf("vector keys %q, %q; record's %q, %q", want.PartitionKey, want.ExplicitHashKey, k.partitionKey, k.explicitHashKey)
	}
	got, err := Deaggregate(want.PartitionKey, want.ExplicitHashKey, data)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want.Records) {
		t.Fatalf("%d records, want %d", len(got), len(want.Records))
	}
	for i, w := range want.Records {
		g := got[i]
		if g.PartitionKey != w.PartitionKey || g.ExplicitHashKey != w.ExplicitHashKey || base64.StdEncoding.EncodeToString(g.Data) != w.Data ||
			fmt.Sprint(vectorTagStrings(vectorTags(g.Tags))) != fmt.Sprint(vectorTagStrings(w.Tags)) {
			t.Fatalf("record %d = %+v, want %+v", i, g, w)
		}
	}
}

// vectorTagStrings renders tags for comparison, telling a missing value from an empty one.
func vectorTagStrings(tags []aggregatedVectorTag) []string {
	var out []string
	for _, t := range tags {
		if t.Value == nil {
			out = append(out, fmt.Sprintf("%q", t.Key))
		} else {
			out = append(out, fmt.Sprintf("%q=%q", t.Key, *t.Value))
		}
	}
	return out
}

func writeAggregatedVector(t *testing.T, k *kinesisRecord, binPath, jsonPath string) {
	t.Helper()
	v := aggregatedVector{
		Comment: "The data of one KPL aggregated Kinesis record (" + filepath.Base(binPath) +
			"), its partition and explicit hash keys, and the user records it holds in order. " +
			"explicit_hash_key is empty for records aggregated without one; tags, when present, " +
			"list each tag's key and its value (absent when the tag has none).",
		PartitionKey:    k.partitionKey,
		ExplicitHashKey: k.explicitHashKey,
	}
	for _, u := range k.records {
		r := aggregatedVectorRecord{PartitionKey: u.PartitionKey, Data: base64.StdEncoding.EncodeToString(u.Data), Tags: vectorTags(u.tags())}
		if u.explicitHash {
			r.ExplicitHashKey = u.hash.String()
		}
		v.Records = append(v.Records, r)
	}
	out, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(binPath), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(binPath, k.data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(jsonPath, append(out, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}

func BenchmarkEncode(b *testing.B) {
	records := make([]*userRecord, 250) // about 50 KiB, the default aggregation_max_size
	for i := range records {
		records[i] = aggRecord(b, fmt.Sprintf("partition-key-%d", i), "", bytes.Repeat([]byte{byte(i)}, 200))
	}
	_, g := aggregate(records)
	buf := make([]byte, 0, g.size())
	b.SetBytes(int64(g.size()))
	b.ReportAllocs()
	for b.Loop() {
		buf = g.appendEncoded(buf[:0])
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(records)), "ns/record")
}

// BenchmarkEncodeProtoMarshal is the reference: the same records through the
// generated types and proto.Marshal.
func BenchmarkEncodeProtoMarshal(b *testing.B) {
	records := make([]*userRecord, 250)
	for i := range records {
		records[i] = aggRecord(b, fmt.Sprintf("partition-key-%d", i), "", bytes.Repeat([]byte{byte(i)}, 200))
	}
	b.SetBytes(int64(len(marshalReference(b, records))))
	b.ReportAllocs()
	for b.Loop() {
		marshalReference(b, records)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(records)), "ns/record")
}

// An aggregated record's data buffer goes back to its pool once released:
// the record keeps its size (for the collector and the metrics) but no
// longer its bytes, and buffers come in the size classes of a bufferPool (a
// quarter of a power of two apart) so that records of nearby sizes share
// them.
func TestAggregatedDataBuffersAreReleasedKeepingTheSize(t *testing.T) {
	a := &userRecord{PartitionKey: "a", Data: bytes.Repeat([]byte("x"), 3000)}
	b := &userRecord{PartitionKey: "b", Data: bytes.Repeat([]byte("y"), 3000)}
	k := newKinesisRecord([]*userRecord{a, b})
	if !k.pooled || cap(k.data) != 6144 {
		t.Fatalf("pooled %v, capacity %d: want a pooled buffer of 6144 for %d bytes", k.pooled, cap(k.data), len(k.data))
	}
	size, dataLen := k.wireSize(), len(k.data)
	k.releaseData()
	if k.data != nil || k.wireSize() != size || k.dataLen() != dataLen {
		t.Fatalf("after release: data %v, wire size %d (was %d), data length %d (was %d)", k.data != nil, k.wireSize(), size, k.dataLen(), dataLen)
	}
	k.releaseData() // a second release changes nothing
	if k.dataLen() != dataLen {
		t.Fatalf("data length %d after a second release, want %d", k.dataLen(), dataLen)
	}
	single := newKinesisRecord([]*userRecord{a})
	single.releaseData() // the caller's own data is never pooled
	if single.pooled || len(single.data) != 3000 {
		t.Fatalf("a single record's data was released: pooled %v, %d bytes", single.pooled, len(single.data))
	}
	for _, size := range []int{0, 1, 2, 4096, 4097, 51200, 1 << 20} {
		if buf := aggregatedBuffers.get(size); len(buf) != 0 || cap(buf) < size {
			t.Errorf("buffer for %d bytes: length %d, capacity %d", size, len(buf), cap(buf))
		}
	}
}
