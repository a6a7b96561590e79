package core_test

// One test per edge case of the KPL behaviour reference (section 6, cases
// 1-21), each named after its number. They go through the public API and
// the fake endpoint; the cases that live inside one stage (token bucket
// arithmetic, shard-map invalidation, limiter expiry) have internal
// counterparts in edgecases_internal_test.go. Where gokpl deliberately
// differs from the KPL, the test checks gokpl's documented behaviour and
// its comment says how and why.

import (
	"bytes"
	"context"
	"crypto/md5"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gokpl/gokpl/core"
	"github.com/gokpl/gokpl/core/kinesistest"
	"github.com/gokpl/gokpl/internal/aggpb"
	"google.golang.org/protobuf/proto"
)

// ecProducer starts a fake endpoint holding streams (name → shard count)
// and a producer pointed at it, with a 10 ms buffering time unless adjust
// changes it. Both stop at the end of the test, the producer first.
func ecProducer(t *testing.T, streams map[string]int, adjust func(*core.Config)) (*core.Producer, *kinesistest.Server) {
	t.Helper()
	srv := kinesistest.NewServer(kinesistest.Options{Streams: streams})
	t.Cleanup(srv.Close)
	cfg := core.DefaultConfig()
	cfg.Region = "us-east-1"
	cfg.EndpointURL = srv.URL
	cfg.RecordMaxBufferedTime = 10 * time.Millisecond
	if adjust != nil {
		adjust(&cfg)
	}
	p, err := core.New(context.Background(), cfg, core.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeProducer(t, p) })
	return p, srv
}

// ecFlush flushes, failing the test if that takes more than 10 s.
func ecFlush(t *testing.T, p *core.Producer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.Flush(ctx); err != nil {
		t.Fatalf("flush: %v", err)
	}
}

// ecProbeKey is the partition key of the records ecAwaitShardMap puts;
// checks of what was stored leave them out.
const ecProbeKey = "probe"

// ecAwaitShardMap returns once the producer has the stream's shard map,
// listed by the first ListShards call (see ecAwaitShardMapAfter).
func ecAwaitShardMap(t *testing.T, p *core.Producer, srv *kinesistest.Server, stream string) {
	t.Helper()
	ecAwaitShardMapAfter(t, p, srv, stream, 1)
}

// ecAwaitShardMapAfter returns once the producer has the stream's shard
// map, which the listings-th ListShards call completes: two records of one
// partition key put back to back are then aggregated into one Kinesis
// record (without a map, a flush sends them unaggregated). It needs
// aggregation on and room for small records in an aggregate.
//
// A first record starts the stream's pipeline and its map; the probe
// records are put and flushed only a while after the listing, because a
// flush racing the map's arrival can miss records on their way from the
// waiting room to the aggregator, which then wait out their buffering time.
func ecAwaitShardMapAfter(t *testing.T, p *core.Producer, srv *kinesistest.Server, stream string, listings int) {
	t.Helper()
	// After failed listings the shard map backs off up to 30 s (jittered),
	// so the next listing may be that far away.
	const within = 40 * time.Second
	deadline := time.Now().Add(within)
	put(t, p, core.Record{Stream: stream, PartitionKey: ecProbeKey, Data: []byte("probe-start")})
	for i := 0; ; i++ {
		for srv.Requests("ListShards") < listings {
			if time.Now().After(deadline) {
				t.Fatalf("%d ListShards calls within %v, want %d", srv.Requests("ListShards"), within, listings)
			}
			time.Sleep(5 * time.Millisecond)
		}
		time.Sleep(200 * time.Millisecond)
		first := fmt.Sprintf("probe-%d-a", i)
		for _, data := range []string{first, fmt.Sprintf("probe-%d-b", i)} {
			put(t, p, core.Record{Stream: stream, PartitionKey: ecProbeKey, Data: []byte(data)})
		}
		ecFlush(t, p)
		for _, k := range srv.Records(stream) {
			if core.IsAggregated(k.Data) && bytes.Contains(k.Data, []byte(first)) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the producer did not load the shard map within %v", within)
		}
		listings = srv.Requests("ListShards") + 1
	}
}

// ecStored is stored without the probe records.
func ecStored(t *testing.T, srv *kinesistest.Server, stream string) []storedRecord {
	t.Helper()
	var out []storedRecord
	for _, r := range stored(t, srv, stream) {
		if r.PartitionKey != ecProbeKey {
			out = append(out, r)
		}
	}
	return out
}

// ecEntries are the stored Kinesis records (PutRecords entries) that hold
// at least one record other than a probe.
func ecEntries(t *testing.T, srv *kinesistest.Server, stream string) []kinesistest.StoredRecord {
	t.Helper()
	var out []kinesistest.StoredRecord
	for _, k := range srv.Records(stream) {
		records, err := core.Deaggregate(k.PartitionKey, k.ExplicitHashKey, k.Data)
		if err != nil {
			t.Fatalf("stored record in %s does not de-aggregate: %v", k.ShardID, err)
		}
		if slices.ContainsFunc(records, func(r core.DeaggregatedRecord) bool { return r.PartitionKey != ecProbeKey }) {
			out = append(out, k)
		}
	}
	return out
}

// ecSpy records every PutRecords request the server receives (after the
// spy is installed) and answers it with decide's fault, if decide is set.
type ecSpy struct {
	mu       sync.Mutex
	requests []*kinesistest.Request
}

func ecSpyOn(srv *kinesistest.Server, decide func(n int, req *kinesistest.Request) *kinesistest.Fault) *ecSpy {
	s := &ecSpy{}
	srv.SetFaultFunc(func(req *kinesistest.Request) *kinesistest.Fault {
		if req.Operation != "PutRecords" {
			return nil
		}
		s.mu.Lock()
		n := len(s.requests)
		s.requests = append(s.requests, req)
		s.mu.Unlock()
		if decide == nil {
			return nil
		}
		return decide(n, req)
	})
	return s
}

func (s *ecSpy) all() []*kinesistest.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// ecWireSize is how the service counts a request against its 5 MiB limit.
func ecWireSize(req *kinesistest.Request) int {
	n := 0
	for _, e := range req.Records {
		n += len(e.PartitionKey) + len(e.Data)
	}
	return n
}

// ecUserRecords de-aggregates one request entry.
func ecUserRecords(t *testing.T, e kinesistest.RecordEntry) []core.DeaggregatedRecord {
	t.Helper()
	records, err := core.Deaggregate(e.PartitionKey, e.ExplicitHashKey, e.Data)
	if err != nil {
		t.Fatalf("request entry does not de-aggregate: %v", err)
	}
	return records
}

// ecWaitAll waits for every outcome.
func ecWaitAll(t *testing.T, outcomes []*core.Outcome) []*core.RecordResult {
	t.Helper()
	results := make([]*core.RecordResult, len(outcomes))
	for i, o := range outcomes {
		results[i] = wait(t, o)
	}
	return results
}

// ecBig is h as a big integer.
func ecBig(h core.HashKey) *big.Int {
	n, _ := new(big.Int).SetString(h.String(), 10)
	return n
}

// ecKey parses a decimal hash key, failing the test if it is not one.
func ecKey(t *testing.T, s string) core.HashKey {
	t.Helper()
	h, err := core.ParseHashKey(s)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// ecShard is a shard's id and hash-key range.
type ecShard struct {
	id         string
	start, end core.HashKey
	open       bool
}

func ecShards(t *testing.T, srv *kinesistest.Server, stream string) []ecShard {
	t.Helper()
	var out []ecShard
	for _, s := range srv.Shards(stream) {
		out = append(out, ecShard{id: s.ShardID, start: ecKey(t, s.StartingHashKey), end: ecKey(t, s.EndingHashKey), open: s.Open})
	}
	return out
}

func (s ecShard) holds(h core.HashKey) bool { return !h.Less(s.start) && !s.end.Less(h) }

// ecRecordHash is the hash key a record is routed by.
func ecRecordHash(t *testing.T, pk, ehk string) core.HashKey {
	if ehk != "" {
		return ecKey(t, ehk)
	}
	return core.PartitionKeyHash(pk)
}

func TestEdgeCase01HashKeyIsBigEndianMD5(t *testing.T) {
	for _, pk := range []string{"a", "user-1", "ünïcödé ключ 键", strings.Repeat("x", 256)} {
		sum := md5.Sum([]byte(pk))
		want := new(big.Int).SetBytes(sum[:]).String() // big-endian
		if got := core.PartitionKeyHash(pk).String(); got != want {
			t.Errorf("PartitionKeyHash(%q) = %s, want MD5 read big-endian %s", pk, got, want)
		}
	}

	maxKey := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 128), big.NewInt(1)).String()
	tooBig := new(big.Int).Lsh(big.NewInt(1), 128).String()
	for in, want := range map[string]string{"0": "0", maxKey: maxKey, "007": "7", " 42 ": "42"} {
		h, err := core.ParseHashKey(in)
		if err != nil || h.String() != want {
			t.Errorf("ParseHashKey(%q) = %s, %v; want %s (normalised to decimal)", in, h, err, want)
		}
	}
	for _, in := range []string{tooBig, "-1", "", "abc", "0x10", "1e3", "1.5"} {
		var invalid *core.InvalidRecordError
		if _, err := core.ParseHashKey(in); !errors.As(err, &invalid) || invalid.Field != "explicit_hash_key" {
			t.Errorf("ParseHashKey(%q) err = %v, want an InvalidRecordError on explicit_hash_key", in, err)
		}
	}

	// Through the producer: the explicit hash key goes out normalised, a
	// record without one carries MD5(partition key) as its explicit hash
	// key, and the extremes route to the first and last shard.
	p, srv := ecProducer(t, map[string]int{"s": 2}, func(c *core.Config) { c.AggregationEnabled = false })
	o7 := put(t, p, core.Record{Stream: "s", PartitionKey: "seven", ExplicitHashKey: "007", Data: []byte("seven")})
	oMD5 := put(t, p, core.Record{Stream: "s", PartitionKey: "md5", Data: []byte("md5")})
	oZero := put(t, p, core.Record{Stream: "s", PartitionKey: "zero", ExplicitHashKey: "0", Data: []byte("zero")})
	oMax := put(t, p, core.Record{Stream: "s", PartitionKey: "max", ExplicitHashKey: maxKey, Data: []byte("max")})
	for _, ehk := range []string{tooBig, "-1"} {
		if _, err := p.Put(context.Background(), core.Record{Stream: "s", PartitionKey: "k", ExplicitHashKey: ehk}); err == nil {
			t.Errorf("Put with explicit hash key %s was accepted", ehk)
		}
	}
	ecFlush(t, p)
	results := ecWaitAll(t, []*core.Outcome{o7, oMD5, oZero, oMax})
	for _, r := range results {
		if !r.Success {
			t.Fatalf("result = %+v", r)
		}
	}
	shards := srv.Shards("s")
	if results[2].ShardID != shards[0].ShardID || results[3].ShardID != shards[1].ShardID {
		t.Errorf("hash 0 went to %s and 2^128-1 to %s, want %s and %s", results[2].ShardID, results[3].ShardID, shards[0].ShardID, shards[1].ShardID)
	}
	ehks := map[string]string{}
	for _, k := range srv.Records("s") {
		ehks[string(k.Data)] = k.ExplicitHashKey
	}
	if ehks["seven"] != "7" {
		t.Errorf("explicit hash key 007 went out as %q, want 7", ehks["seven"])
	}
	if want := core.PartitionKeyHash("md5").String(); ehks["md5"] != want {
		t.Errorf("a record without explicit hash key went out with %q, want its MD5 hash %s", ehks["md5"], want)
	}
	if len(ehks) != 4 {
		t.Errorf("stored %d records, want 4 (invalid ones are refused by Put)", len(ehks))
	}
}

func TestEdgeCase02ShardLookupBoundary(t *testing.T) {
	// The map's lookup itself is checked in the internal test of the same
	// name; here the producer must predict the boundary hashes right: a
	// record whose hash equals shard 0's ending hash key belongs to shard
	// 0, one more belongs to shard 1, so they never share an aggregated
	// record and none of them needs a second attempt.
	p, srv := ecProducer(t, map[string]int{"s": 2}, func(c *core.Config) { c.RecordMaxBufferedTime = time.Hour })
	ecAwaitShardMap(t, p, srv, "s")
	shards := ecShards(t, srv, "s")
	end := shards[0].end.String()
	next := new(big.Int).Add(ecBig(shards[0].end), big.NewInt(1)).String()
	want := map[string]string{end: shards[0].id, next: shards[1].id}
	var outcomes []*core.Outcome
	var keys []string
	for i := range 6 {
		ehk := []string{end, next}[i%2]
		keys = append(keys, ehk)
		outcomes = append(outcomes, put(t, p, core.Record{Stream: "s", PartitionKey: fmt.Sprint("k", i), ExplicitHashKey: ehk, Data: []byte(fmt.Sprint(i))}))
	}
	ecFlush(t, p)
	for i, r := range ecWaitAll(t, outcomes) {
		if !r.Success || len(r.Attempts()) != 1 || r.ShardID != want[keys[i]] {
			t.Errorf("record with hash %s: success %v in %s after %d attempts, want one attempt into %s (%+v)", keys[i], r.Success, r.ShardID, len(r.Attempts()), want[keys[i]], r.Attempts())
		}
	}
	for _, k := range ecEntries(t, srv, "s") {
		for _, u := range ecUserRecords(t, kinesistest.RecordEntry{PartitionKey: k.PartitionKey, ExplicitHashKey: k.ExplicitHashKey, Data: k.Data}) {
			if want[u.ExplicitHashKey] != k.ShardID {
				t.Errorf("record with hash %s stored in %s, want %s", u.ExplicitHashKey, k.ShardID, want[u.ExplicitHashKey])
			}
		}
	}
}

func TestEdgeCase03PartitionKeyLengthInCharacters(t *testing.T) {
	// The limit is 256 characters, not bytes, counted as the KPL's Java
	// wrapper counts them: in UTF-16 units, so a character outside the
	// Basic Multilingual Plane (such as an emoji) counts twice.
	p, srv := ecProducer(t, map[string]int{"s": 1}, func(c *core.Config) { c.RecordMaxBufferedTime = time.Hour })
	ecAwaitShardMap(t, p, srv, "s")
	keys := []string{
		strings.Repeat("é", 256), // 512 bytes
		strings.Repeat("键", 256), // 768 bytes
		strings.Repeat("😀", 128), // 512 bytes, 256 UTF-16 units
		"ключ",
	}
	var outcomes []*core.Outcome
	for i, pk := range keys {
		outcomes = append(outcomes, put(t, p, core.Record{Stream: "s", PartitionKey: pk, Data: []byte(fmt.Sprint(i))}))
	}
	for _, pk := range []string{strings.Repeat("é", 257), strings.Repeat("😀", 129), strings.Repeat("😀", 128) + "x", ""} {
		var invalid *core.InvalidRecordError
		if _, err := p.Put(context.Background(), core.Record{Stream: "s", PartitionKey: pk}); !errors.As(err, &invalid) || invalid.Field != "partition_key" {
			t.Errorf("Put with partition key of %d characters (%d bytes): err = %v, want an InvalidRecordError on partition_key", len([]rune(pk)), len(pk), err)
		}
	}
	ecFlush(t, p)
	for i, r := range ecWaitAll(t, outcomes) {
		if !r.Success {
			t.Errorf("record %d: %+v", i, r)
		}
	}
	// The keys come back whole from the aggregated record.
	got := map[string]string{}
	for _, r := range ecStored(t, srv, "s") {
		got[r.Data] = r.PartitionKey
	}
	for i, pk := range keys {
		if got[fmt.Sprint(i)] != pk {
			t.Errorf("record %d came back with partition key %q, want %q", i, got[fmt.Sprint(i)], pk)
		}
	}
	if entries := ecEntries(t, srv, "s"); len(entries) != 1 || !core.IsAggregated(entries[0].Data) {
		t.Errorf("the four records went out as %d entries, want one aggregated record", len(entries))
	}
}

func TestEdgeCase04AggregatedRecordIsByteExact(t *testing.T) {
	// The stored data must be exactly magic + protobuf + MD5(protobuf), with
	// the protobuf as the protobuf library itself encodes the
	// AggregatedRecord message (fields in number order) — the encoding the
	// KCL's and aws-kinesis-agg's de-aggregators parse. Key tables are
	// de-duplicated, and only records put with an explicit hash key get an
	// index into the explicit-hash-key table. Tags are never written.
	p, srv := ecProducer(t, map[string]int{"s": 1}, func(c *core.Config) { c.RecordMaxBufferedTime = time.Hour })
	ecAwaitShardMap(t, p, srv, "s")
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	records := []core.Record{
		{PartitionKey: "alpha", Data: []byte("zero")},
		{PartitionKey: "beta", ExplicitHashKey: "12345", Data: nil},
		{PartitionKey: "alpha", Data: []byte("two")},
		{PartitionKey: "gamma", ExplicitHashKey: "12345", Data: []byte("three")},
		{PartitionKey: "beta", ExplicitHashKey: "0099", Data: all},
	}
	var outcomes []*core.Outcome
	for _, r := range records {
		r.Stream = "s"
		outcomes = append(outcomes, put(t, p, r))
	}
	ecFlush(t, p)
	for i, r := range ecWaitAll(t, outcomes) {
		if !r.Success {
			t.Fatalf("record %d: %+v", i, r)
		}
	}

	u := proto.Uint64
	want := &aggpb.AggregatedRecord{
		PartitionKeyTable:    []string{"alpha", "beta", "gamma"},
		ExplicitHashKeyTable: []string{"12345", "99"},
		Records: []*aggpb.Record{
			{PartitionKeyIndex: u(0), Data: []byte("zero")},
			{PartitionKeyIndex: u(1), ExplicitHashKeyIndex: u(0), Data: []byte{}},
			{PartitionKeyIndex: u(0), Data: []byte("two")},
			{PartitionKeyIndex: u(2), ExplicitHashKeyIndex: u(0), Data: []byte("three")},
			{PartitionKeyIndex: u(1), ExplicitHashKeyIndex: u(1), Data: all},
		},
	}
	pb, err := proto.MarshalOptions{Deterministic: true}.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	sum := md5.Sum(pb)
	wantData := slices.Concat([]byte{0xF3, 0x89, 0x9A, 0xC2}, pb, sum[:])

	entries := ecEntries(t, srv, "s")
	if len(entries) != 1 {
		t.Fatalf("the records went out as %d entries, want one aggregated record", len(entries))
	}
	k := entries[0]
	if !bytes.Equal(k.Data, wantData) {
		t.Errorf("aggregated data differs from the reference encoding:\n got %x\nwant %x", k.Data, wantData)
	}
	if k.PartitionKey != "a" || k.ExplicitHashKey != core.PartitionKeyHash("alpha").String() {
		t.Errorf("aggregated record keys = %q / %q, want \"a\" / the first record's hash", k.PartitionKey, k.ExplicitHashKey)
	}
	var decoded aggpb.AggregatedRecord
	if err := proto.Unmarshal(k.Data[4:len(k.Data)-16], &decoded); err != nil {
		t.Fatalf("the protobuf part does not parse: %v", err)
	}
	for i, r := range decoded.GetRecords() {
		if len(r.GetTags()) != 0 {
			t.Errorf("record %d has tags", i)
		}
	}
	back, err := core.Deaggregate(k.PartitionKey, k.ExplicitHashKey, k.Data)
	if err != nil || len(back) != len(records) {
		t.Fatalf("Deaggregate = %d records, %v", len(back), err)
	}
	for i, r := range back {
		wantEHK := records[i].ExplicitHashKey
		if wantEHK != "" {
			wantEHK = ecKey(t, wantEHK).String()
		}
		if r.PartitionKey != records[i].PartitionKey || r.ExplicitHashKey != wantEHK || !bytes.Equal(r.Data, records[i].Data) {
			t.Errorf("record %d read back as %+v, want %+v", i, r, records[i])
		}
	}
}

func TestEdgeCase05SingleRecordRawSeveralAggregatedUnderKeyA(t *testing.T) {
	p, srv := ecProducer(t, map[string]int{"s": 1}, func(c *core.Config) { c.RecordMaxBufferedTime = time.Hour })
	ecAwaitShardMap(t, p, srv, "s")

	// One record alone goes raw: its own partition key, its hash key in
	// decimal as explicit hash key (even when it came from MD5), no magic.
	solo := put(t, p, core.Record{Stream: "s", PartitionKey: "solo", Data: []byte("raw data")})
	ecFlush(t, p)
	if r := wait(t, solo); !r.Success {
		t.Fatalf("solo: %+v", r)
	}
	entries := ecEntries(t, srv, "s")
	if len(entries) != 1 {
		t.Fatalf("%d entries, want 1", len(entries))
	}
	if k := entries[0]; k.PartitionKey != "solo" || k.ExplicitHashKey != core.PartitionKeyHash("solo").String() || string(k.Data) != "raw data" {
		t.Errorf("single record went out as %q / %q / %q", k.PartitionKey, k.ExplicitHashKey, k.Data)
	}

	// Two or more: partition key "a", the first record's hash key as the
	// explicit hash key, whichever way that hash key came about.
	for _, first := range []core.Record{
		{Stream: "s", PartitionKey: "first", Data: []byte("1")},
		{Stream: "s", PartitionKey: "first", ExplicitHashKey: "000777", Data: []byte("1")},
	} {
		before := len(ecEntries(t, srv, "s"))
		outcomes := []*core.Outcome{put(t, p, first), put(t, p, core.Record{Stream: "s", PartitionKey: "second", ExplicitHashKey: "5", Data: []byte("2")})}
		ecFlush(t, p)
		results := ecWaitAll(t, outcomes)
		entries := ecEntries(t, srv, "s")
		if len(entries) != before+1 {
			t.Fatalf("two records went out as %d entries, want 1", len(entries)-before)
		}
		k := entries[len(entries)-1]
		wantEHK := ecRecordHash(t, first.PartitionKey, first.ExplicitHashKey).String()
		if k.PartitionKey != "a" || k.ExplicitHashKey != wantEHK || !core.IsAggregated(k.Data) {
			t.Errorf("aggregated record went out as %q / %q (aggregated %v), want \"a\" / %s", k.PartitionKey, k.ExplicitHashKey, core.IsAggregated(k.Data), wantEHK)
		}
		if results[0].SequenceNumber != results[1].SequenceNumber {
			t.Errorf("records of one aggregated record report sequence numbers %s and %s", results[0].SequenceNumber, results[1].SequenceNumber)
		}
	}
}

// ecAggregateSize is the exact size of an aggregated record of n records
// with one shared partition key of pkLen bytes, no explicit hash keys and
// dataLen bytes of data each.
func ecAggregateSize(t *testing.T, n, pkLen, dataLen int) int {
	t.Helper()
	ar := &aggpb.AggregatedRecord{PartitionKeyTable: []string{strings.Repeat("k", pkLen)}}
	for range n {
		ar.Records = append(ar.Records, &aggpb.Record{PartitionKeyIndex: proto.Uint64(0), Data: make([]byte, dataLen)})
	}
	return 4 + proto.Size(ar) + 16
}

func TestEdgeCase06AggregationSizeAndCountLimits(t *testing.T) {
	// The KPL flushes an aggregate once its *estimated* size reaches the
	// limit, then trims it to the accurate size by deadline order, putting
	// records back. gokpl keeps the exact encoded size as records come in
	// and closes an aggregate before a record would take it past the limit,
	// so no aggregate ever exceeds it and nothing is put back; limits are
	// still ">=" (reaching one sends at once). A single record bigger than
	// the limit goes alone, raw: not dropped, not split.
	//
	// collection_max_count = 1 sends every Kinesis record the moment it
	// leaves the aggregator, so with an hour of buffering time a record
	// resolving without a flush shows that its aggregate left by a limit.
	sendAtOnce := func(c *core.Config) {
		c.RecordMaxBufferedTime = time.Hour
		c.CollectionMaxCount = 1
	}
	resolvedSoon := func(outcomes []*core.Outcome, within time.Duration) bool {
		deadline := time.After(within)
		for _, o := range outcomes {
			select {
			case <-o.Done():
			case <-deadline:
				return false
			}
		}
		return true
	}

	t.Run("count equal to the limit sends at once", func(t *testing.T) {
		p, srv := ecProducer(t, map[string]int{"s": 1}, func(c *core.Config) { sendAtOnce(c); c.AggregationMaxCount = 3 })
		ecAwaitShardMap(t, p, srv, "s")
		var two []*core.Outcome
		for i := range 2 {
			two = append(two, put(t, p, core.Record{Stream: "s", PartitionKey: "k", Data: []byte(fmt.Sprint(i))}))
		}
		if resolvedSoon(two, 300*time.Millisecond) {
			t.Fatal("two records under a count limit of three left without a flush")
		}
		third := put(t, p, core.Record{Stream: "s", PartitionKey: "k", Data: []byte("2")})
		if !resolvedSoon(append(two, third), 5*time.Second) {
			t.Fatal("the third record did not send the aggregate at once")
		}
		results := ecWaitAll(t, append(two, third))
		if results[0].SequenceNumber != results[2].SequenceNumber {
			t.Errorf("the three records were not sent as one aggregated record: %+v", results)
		}
	})

	t.Run("size equal to the limit sends at once", func(t *testing.T) {
		// The aggregate's partition key, "a", counts against the limit too.
		limit := ecAggregateSize(t, 3, 1, 100) + 1
		p, srv := ecProducer(t, map[string]int{"s": 1}, func(c *core.Config) { sendAtOnce(c); c.AggregationMaxSize = int64(limit) })
		ecAwaitShardMap(t, p, srv, "s")
		var outcomes []*core.Outcome
		for range 3 {
			outcomes = append(outcomes, put(t, p, core.Record{Stream: "s", PartitionKey: "k", Data: make([]byte, 100)}))
		}
		if !resolvedSoon(outcomes, 5*time.Second) {
			t.Fatalf("an aggregate of exactly aggregation_max_size (%d bytes) did not leave at once", limit)
		}
		entries := ecEntries(t, srv, "s")
		if len(entries) != 1 || len(entries[0].Data)+len(entries[0].PartitionKey) != limit {
			t.Fatalf("%d entries; want one of exactly %d bytes with its partition key", len(entries), limit)
		}
	})

	t.Run("never over the limit, oversize record alone", func(t *testing.T) {
		const limit = 1000
		p, srv := ecProducer(t, map[string]int{"s": 1}, func(c *core.Config) {
			c.RecordMaxBufferedTime = time.Hour
			c.AggregationMaxSize = limit
		})
		ecAwaitShardMap(t, p, srv, "s")
		// Each record adds 111 bytes (a new 3-byte key and 100 bytes of
		// data), so 8 fit in 1000 bytes (908) and a 9th would not (1019).
		var outcomes []*core.Outcome
		for i := range 40 {
			outcomes = append(outcomes, put(t, p, core.Record{Stream: "s", PartitionKey: fmt.Sprintf("k%02d", i), Data: bytes.Repeat([]byte{byte(i)}, 100)}))
		}
		big := bytes.Repeat([]byte("B"), 2*limit)
		outcomes = append(outcomes, put(t, p, core.Record{Stream: "s", PartitionKey: "big", Data: big}))
		ecFlush(t, p)
		for i, r := range ecWaitAll(t, outcomes) {
			if !r.Success {
				t.Fatalf("record %d: %+v", i, r)
			}
		}
		var sizes []int
		for _, k := range ecEntries(t, srv, "s") {
			if k.PartitionKey == "big" {
				if !bytes.Equal(k.Data, big) {
					t.Errorf("the oversize record went out changed (%d bytes)", len(k.Data))
				}
				continue
			}
			if !core.IsAggregated(k.Data) || len(k.Data)+len(k.PartitionKey) > limit {
				t.Errorf("entry of %d bytes and key %q (aggregated %v) over the %d-byte limit", len(k.Data), k.PartitionKey, core.IsAggregated(k.Data), limit)
			}
			sizes = append(sizes, len(k.Data))
		}
		if !slices.Equal(sizes, []int{908, 908, 908, 908, 908}) {
			t.Errorf("aggregate sizes = %v, want five full aggregates of 908 bytes", sizes)
		}
	})
}

func TestEdgeCase07PutRecordsRequestLimits(t *testing.T) {
	noAggregation := func(c *core.Config) {
		c.RecordMaxBufferedTime = time.Hour
		c.AggregationEnabled = false
	}
	// Requests run concurrently, so they reach the server in any order:
	// the checks sort them, largest first.
	entries := func(reqs []*kinesistest.Request) []int {
		var n []int
		for _, r := range reqs {
			n = append(n, len(r.Records))
		}
		slices.Sort(n)
		slices.Reverse(n)
		return n
	}
	bySize := func(reqs []*kinesistest.Request) []*kinesistest.Request {
		slices.SortFunc(reqs, func(a, b *kinesistest.Request) int { return ecWireSize(b) - ecWireSize(a) })
		return reqs
	}

	t.Run("at most 500 entries", func(t *testing.T) {
		p, srv := ecProducer(t, map[string]int{"s": 1}, noAggregation)
		spy := ecSpyOn(srv, nil)
		for i := range 1201 {
			put(t, p, core.Record{Stream: "s", PartitionKey: fmt.Sprint(i), Data: []byte("x")})
		}
		ecFlush(t, p)
		if got := entries(spy.all()); !slices.Equal(got, []int{500, 500, 201}) {
			t.Errorf("requests of %v entries, want [500 500 201]", got)
		}
	})

	t.Run("at most 5 MiB of keys and data", func(t *testing.T) {
		p, srv := ecProducer(t, map[string]int{"s": 1}, noAggregation)
		spy := ecSpyOn(srv, nil)
		var outcomes []*core.Outcome
		for i := range 60 {
			outcomes = append(outcomes, put(t, p, core.Record{Stream: "s", PartitionKey: fmt.Sprintf("k%02d", i), Data: make([]byte, 200<<10)}))
		}
		ecFlush(t, p)
		for _, r := range ecWaitAll(t, outcomes) {
			if !r.Success {
				t.Fatalf("%+v", r)
			}
		}
		reqs := bySize(spy.all())
		for i, r := range reqs {
			if size := ecWireSize(r); size > 5<<20 || (i < len(reqs)-1 && size+len(r.Records[0].Data)+3 <= 5<<20) {
				t.Errorf("request %d holds %d bytes: over 5 MiB, or left while another record still fitted", i, size)
			}
		}
	})

	t.Run("leaves early at 256 KiB for one shard", func(t *testing.T) {
		// (The rate limit is lifted so that all aggregates reach the
		// collector at once.)
		p, srv := ecProducer(t, map[string]int{"s": 2}, func(c *core.Config) {
			c.RecordMaxBufferedTime = time.Hour
			c.RateLimitBytesPerSecPerShard = 1e9
		})
		ecAwaitShardMap(t, p, srv, "s")
		spy := ecSpyOn(srv, nil)
		for i := range 60 {
			put(t, p, core.Record{Stream: "s", PartitionKey: fmt.Sprint(i), ExplicitHashKey: "1", Data: make([]byte, 10<<10)})
		}
		ecFlush(t, p)
		reqs := bySize(spy.all())
		if len(reqs) < 2 || ecWireSize(reqs[0]) < 256<<10 {
			t.Fatalf("%d requests; 600 KiB for one shard should leave in several, at 256 KiB", len(reqs))
		}
		for i, r := range reqs {
			size, largest := ecWireSize(r), 0
			for _, e := range r.Records {
				largest = max(largest, len(e.PartitionKey)+len(e.Data))
			}
			if size-largest >= 256<<10 {
				t.Errorf("request %d holds %d bytes for one shard in %d entries; want it to leave with the entry that reached 256 KiB", i, size, len(r.Records))
			}
		}
	})

	t.Run("aggregates due together share a request", func(t *testing.T) {
		// The KPL's collector gives each aggregated Kinesis record entering
		// it at least min(50 ms, RMBT/5) more, so that the aggregates of
		// several shards that leave the aggregator at their deadline go out
		// in one PutRecords request instead of one request each.
		p, srv := ecProducer(t, map[string]int{"s": 4}, func(c *core.Config) { c.RecordMaxBufferedTime = 200 * time.Millisecond })
		ecAwaitShardMap(t, p, srv, "s")
		time.Sleep(300 * time.Millisecond) // the probe's buffers are gone
		spy := ecSpyOn(srv, nil)
		var outcomes []*core.Outcome
		for i, s := range ecShards(t, srv, "s") {
			for j := range 3 {
				outcomes = append(outcomes, put(t, p, core.Record{Stream: "s", PartitionKey: fmt.Sprint(i, j), ExplicitHashKey: s.end.String(), Data: []byte("x")}))
			}
		}
		ecWaitAll(t, outcomes)
		if got := entries(spy.all()); !slices.Equal(got, []int{4}) {
			t.Errorf("4 aggregates due at the same time went out in requests of %v entries, want one request of 4", got)
		}
	})

	t.Run("an oversize entry goes alone", func(t *testing.T) {
		p, srv := ecProducer(t, map[string]int{"s": 1}, func(c *core.Config) {
			noAggregation(c)
			c.CollectionMaxSize = 52224 // the smallest allowed
		})
		spy := ecSpyOn(srv, nil)
		for i, size := range []int{20 << 10, 20 << 10, 60 << 10, 20 << 10} {
			put(t, p, core.Record{Stream: "s", PartitionKey: fmt.Sprint(i), Data: make([]byte, size)})
		}
		ecFlush(t, p)
		if got := entries(spy.all()); !slices.Equal(got, []int{2, 1, 1}) {
			t.Errorf("requests of %v entries, want [2 1 1]: the 60 KiB entry alone", got)
		}
		for _, r := range spy.all() {
			if len(r.Records[0].Data) == 60<<10 && len(r.Records) != 1 {
				t.Errorf("the 60 KiB entry shared a request with %d others", len(r.Records)-1)
			}
		}
	})
}

func TestEdgeCase08RecordsFlowWithoutAShardMap(t *testing.T) {
	// While the stream's shard map cannot be listed, records are still
	// delivered: unaggregated (there is no predicted shard to aggregate
	// by) and past the rate limiter (there is no shard to limit), as in
	// the KPL. gokpl differs in two documented ways: a record first waits
	// for the first map up to its buffering deadline (the waiting room),
	// so that a producer's first records can be aggregated; and during a
	// refresh the previous map keeps serving (see the internal test of the
	// same number), where the KPL sends everything unaggregated.
	var listFails atomic.Bool
	listFails.Store(true)
	p, srv := ecProducer(t, map[string]int{"s": 1}, func(c *core.Config) {
		c.RateLimitRecordsPerSecPerShard = 1 // one record a second, if it applied
	})
	srv.SetFaultFunc(func(req *kinesistest.Request) *kinesistest.Fault {
		if req.Operation == "ListShards" && listFails.Load() {
			f := kinesistest.ErrorFault(500, "InternalFailure", "")
			return &f
		}
		return nil
	})
	start := time.Now()
	var outcomes []*core.Outcome
	for i := range 30 {
		outcomes = append(outcomes, put(t, p, core.Record{Stream: "s", PartitionKey: "same", Data: []byte(fmt.Sprint(i))}))
	}
	for i, r := range ecWaitAll(t, outcomes) {
		if !r.Success || len(r.Attempts()) != 1 {
			t.Fatalf("record %d: %+v", i, r)
		}
	}
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("30 records took %v: the rate limit (1 record/s) held back records without a shard map", elapsed)
	}
	entries := ecEntries(t, srv, "s")
	for _, k := range entries {
		if core.IsAggregated(k.Data) {
			t.Errorf("a record was aggregated without a shard map: %q", k.Data)
		}
	}
	if len(entries) != 30 || srv.Requests("ListShards") == 0 {
		t.Errorf("%d entries for 30 records, %d ListShards calls", len(entries), srv.Requests("ListShards"))
	}

	// Once the listing works again, records are aggregated by shard.
	listFails.Store(false)
	ecAwaitShardMapAfter(t, p, srv, "s", srv.Requests("ListShards")+1)
}

func TestEdgeCase09ShardMapListsInPagesAndBacksOff(t *testing.T) {
	// Paging (NextToken without StreamName or filter, the AT_LATEST
	// filter) and the backoff after failures (1 s growing by 1.5 up to
	// 30 s, jittered, reset by a success) are timing details of the shard
	// map, checked on virtual time by the internal test of the same number.
	// Here, end to end: a stream of more open shards than one ListShards
	// page holds (1,000), whose first two listings fail, still gets a
	// complete map within the backoff: records for a shard on the second
	// page are aggregated there and land in one attempt.
	const shards = 1100
	p, srv := ecProducer(t, map[string]int{"s": shards}, func(c *core.Config) { c.RecordMaxBufferedTime = time.Hour })
	srv.InjectFault("ListShards", kinesistest.ErrorFault(500, "InternalFailure", ""))
	srv.InjectFault("ListShards", kinesistest.ErrorFault(400, "LimitExceededException", ""))
	start := time.Now()
	ecAwaitShardMapAfter(t, p, srv, "s", 4)
	if elapsed := time.Since(start); elapsed < 1200*time.Millisecond || elapsed > 5*time.Second {
		t.Errorf("the map took %v after two failed listings; the backoff allows 1.25 s to 2.5 s (plus the probe's 0.2 s)", elapsed)
	}
	if n := srv.Requests("ListShards"); n != 4 {
		t.Errorf("%d ListShards calls, want 4 (two failures, then two pages)", n)
	}
	target := ecShards(t, srv, "s")[shards-3]
	var outcomes []*core.Outcome
	for i := range 3 {
		outcomes = append(outcomes, put(t, p, core.Record{Stream: "s", PartitionKey: fmt.Sprint(i), ExplicitHashKey: target.end.String(), Data: []byte(fmt.Sprint(i))}))
	}
	ecFlush(t, p)
	for i, r := range ecWaitAll(t, outcomes) {
		if !r.Success || len(r.Attempts()) != 1 || r.ShardID != target.id {
			t.Fatalf("record %d: %+v, want one attempt into %s", i, r, target.id)
		}
	}
	entries := ecEntries(t, srv, "s")
	if len(entries) != 1 || !core.IsAggregated(entries[0].Data) {
		t.Errorf("records for %s went out as %d entries, want one aggregated record: the map lacks the second page", target.id, len(entries))
	}
}

func TestEdgeCase10ShardMapInvalidationIsDeduplicated(t *testing.T) {
	// The invalidation rules themselves (ignored before the first map, for
	// a request older than the map, for a predicted shard that is no
	// longer open, and while a refresh runs; once per Kinesis record) are
	// checked by the internal tests of the same number. End to end: after
	// a split, fifty aggregated records in ten concurrent requests all land
	// in a shard other than the predicted one, yet the map is listed again
	// once (twice at most, if a request started after the refresh did),
	// not once per record or request.
	p, srv := ecProducer(t, map[string]int{"s": 1}, func(c *core.Config) {
		c.RecordMaxBufferedTime = time.Hour
		c.AggregationMaxCount = 4
		c.CollectionMaxCount = 5
	})
	ecAwaitShardMap(t, p, srv, "s")
	var outcomes []*core.Outcome
	for i := range 200 {
		outcomes = append(outcomes, put(t, p, core.Record{Stream: "s", PartitionKey: fmt.Sprint("key-", i), Data: []byte(fmt.Sprint(i))}))
	}
	lists := srv.Requests("ListShards")
	if err := srv.SplitShard("s", "shardId-000000000000", ""); err != nil {
		t.Fatal(err)
	}
	ecFlush(t, p)
	for i, r := range ecWaitAll(t, outcomes) {
		if !r.Success {
			t.Fatalf("record %d: %+v", i, r)
		}
	}
	if n := srv.Requests("ListShards") - lists; n < 1 || n > 2 {
		t.Errorf("%d ListShards calls after the split, want 1 (at most 2)", n)
	}
}

// ecHalves are hash keys in the lower and upper half of the key space.
var ecHalves = struct{ low, high []string }{
	low:  []string{"1000", "2000", "3000"},
	high: []string{"300000000000000000000000000000000000000", "300000000000000000000000000000000000001", "300000000000000000000000000000000000002"},
}

func TestEdgeCase11ResplitRecordsSucceedInRangeOrRetryAsWrongShard(t *testing.T) {
	t.Run("split after prediction", func(t *testing.T) {
		// Records aggregated for shard 0 reach the service after it split.
		// The aggregate lands in the child holding its first record's hash
		// (its explicit hash key), so that record succeeds there: gokpl
		// counts the first record of an aggregate a success wherever it
		// landed, since the service routed it by that very hash. The map
		// does not know the children yet, so, as in the KPL, the others
		// get a Wrong Shard attempt (the data was written: a de-aggregating
		// consumer drops records outside its shard's range) and are sent
		// again after the map is refreshed.
		p, srv := ecProducer(t, map[string]int{"s": 1}, func(c *core.Config) { c.RecordMaxBufferedTime = time.Hour })
		ecAwaitShardMap(t, p, srv, "s")
		keys := []string{ecHalves.low[0], ecHalves.high[0], ecHalves.low[1], ecHalves.high[1]}
		var outcomes []*core.Outcome
		for i, ehk := range keys {
			outcomes = append(outcomes, put(t, p, core.Record{Stream: "s", PartitionKey: fmt.Sprint("k", i), ExplicitHashKey: ehk, Data: []byte(fmt.Sprint(i))}))
		}
		lists := srv.Requests("ListShards")
		if err := srv.SplitShard("s", "shardId-000000000000", ""); err != nil {
			t.Fatal(err)
		}
		ecFlush(t, p)
		shards := ecShards(t, srv, "s")
		results := ecWaitAll(t, outcomes)
		first := results[0]
		if !first.Success || len(first.Attempts()) != 1 || first.ShardID != shards[1].id {
			t.Errorf("first record: %+v, want one attempt into %s", first, shards[1].id)
		}
		for i, r := range results[1:] {
			h := ecKey(t, keys[i+1])
			if !r.Success || len(r.Attempts()) != 2 || r.Attempts()[0].ErrorCode != core.CodeWrongShard || r.Attempts()[0].ShardID != shards[1].id {
				t.Errorf("record %d: %+v, want a Wrong Shard attempt in %s, then success", i+1, r, shards[1].id)
				continue
			}
			want := shards[1]
			if shards[2].holds(h) {
				want = shards[2]
			}
			if r.ShardID != want.id {
				t.Errorf("record %d with hash %s succeeded in %s, want %s", i+1, h, r.ShardID, want.id)
			}
		}
		if srv.Requests("ListShards") == lists {
			t.Error("the shard map was not refreshed")
		}
		ecCheckSuccessesInRange(t, srv, "s", keys, results)
	})

	t.Run("stream re-created with the same shard ids", func(t *testing.T) {
		// A stream split into shards 1 and 2, then deleted and re-created
		// with two shards, reuses ids 0 and 1 for different ranges. Records
		// predicted for the old shards 1 and 2 land in the new 0 and 1: the
		// predicted shard is newer than the actual one, where the KPL
		// before its fix never refreshed its map and retried as Wrong Shard
		// until the TTL. The map must be refreshed and every record
		// delivered in range after a few attempts.
		p, srv := ecProducer(t, map[string]int{"s": 1}, func(c *core.Config) {
			c.RecordMaxBufferedTime = time.Hour
			c.RecordTTL = 10 * time.Second
		})
		if err := srv.SplitShard("s", "shardId-000000000000", ""); err != nil {
			t.Fatal(err)
		}
		ecAwaitShardMap(t, p, srv, "s")
		if err := srv.DeleteStream("s"); err != nil {
			t.Fatal(err)
		}
		if err := srv.CreateStream("s", 2); err != nil {
			t.Fatal(err)
		}
		lists := srv.Requests("ListShards")
		keys := slices.Concat(ecHalves.low, ecHalves.high)
		var outcomes []*core.Outcome
		for i, ehk := range keys {
			outcomes = append(outcomes, put(t, p, core.Record{Stream: "s", PartitionKey: fmt.Sprint("k", i), ExplicitHashKey: ehk, Data: []byte(fmt.Sprint(i))}))
		}
		ecFlush(t, p)
		results := ecWaitAll(t, outcomes)
		for i, r := range results {
			if !r.Success || len(r.Attempts()) > 3 {
				t.Errorf("record %d: success %v after %d attempts: %+v", i, r.Success, len(r.Attempts()), r.Attempts())
			}
		}
		if srv.Requests("ListShards") == lists {
			t.Error("the shard map was not refreshed")
		}
		ecCheckSuccessesInRange(t, srv, "s", keys, results)
	})
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// ecCheckSuccessesInRange checks that each successful record (the i-th put
// with explicit hash key keys[i] and data "i") is stored at its reported
// shard and sequence number, in a shard whose range holds its hash: what a
// de-aggregating consumer needs to see it.
func ecCheckSuccessesInRange(t *testing.T, srv *kinesistest.Server, stream string, keys []string, results []*core.RecordResult) {
	t.Helper()
	shards := map[string]ecShard{}
	for _, s := range ecShards(t, srv, stream) {
		shards[s.id] = s
	}
	at := map[string][]storedRecord{}
	for _, r := range ecStored(t, srv, stream) {
		at[r.Data] = append(at[r.Data], r)
	}
	for i, r := range results {
		if !r.Success {
			continue
		}
		if !slices.ContainsFunc(at[fmt.Sprint(i)], func(s storedRecord) bool {
			return s.ShardID == r.ShardID && s.SequenceNumber == r.SequenceNumber
		}) {
			t.Errorf("record %d reported in %s at %s, stored at %+v", i, r.ShardID, r.SequenceNumber, at[fmt.Sprint(i)])
		}
		if h := ecKey(t, keys[i]); !shards[r.ShardID].holds(h) {
			t.Errorf("record %d with hash %s reported in %s, whose range does not hold it", i, h, r.ShardID)
		}
	}
}

func TestEdgeCase12PerShardTokenBucket(t *testing.T) {
	// Token bucket arithmetic (both streams taken together or not at all,
	// capacities, refill) is checked on virtual time by the internal test
	// of the same number. gokpl differs from the KPL in the capacities: a
	// fraction of a second of the configured rates (the service's own
	// per-shard limits by default) rather than a fixed 1,000 records and
	// 10 MiB; and the rates are set per shard in records and bytes per
	// second rather than as a percentage of the service limits
	// (rate_limit). End to end: a shard limited to 40 records a second
	// takes about two seconds for 100 records, and holds back only its own
	// records, not another shard's.
	p, srv := ecProducer(t, map[string]int{"s": 2}, func(c *core.Config) {
		c.RateLimitRecordsPerSecPerShard = 40
		c.AggregationMaxSize = 64 // each 100-byte record is its own Kinesis record
	})
	ecAwaitShardMap(t, p, srv, "s")
	shards := ecShards(t, srv, "s")
	start := time.Now()
	var hot, cold []*core.Outcome
	for i := range 100 {
		hot = append(hot, put(t, p, core.Record{Stream: "s", PartitionKey: fmt.Sprint("hot", i), ExplicitHashKey: "1", Data: make([]byte, 100)}))
		if i < 20 {
			cold = append(cold, put(t, p, core.Record{Stream: "s", PartitionKey: fmt.Sprint("cold", i), ExplicitHashKey: shards[1].end.String(), Data: make([]byte, 100)}))
		}
	}
	ecWaitAll(t, cold)
	coldDone := time.Since(start)
	ecWaitAll(t, hot)
	hotDone := time.Since(start)
	if coldDone > time.Second {
		t.Errorf("20 records of an idle shard took %v behind a busy one", coldDone)
	}
	// The burst passes at once (the bucket starts full, with at most a
	// second's worth), the rest at 40 a second: at least 1.5 s.
	if hotDone < 1200*time.Millisecond || hotDone > 6*time.Second {
		t.Errorf("100 records at 40 records/s took %v, want 1.5 to 2.5 s", hotDone)
	}
}

func TestEdgeCase13Expiry(t *testing.T) {
	t.Run("retried record expires with its cause and Expired", func(t *testing.T) {
		p, srv := ecProducer(t, map[string]int{"s": 1}, func(c *core.Config) { c.RecordTTL = 300 * time.Millisecond })
		srv.SetFaultFunc(func(req *kinesistest.Request) *kinesistest.Fault {
			if req.Operation != "PutRecords" {
				return nil
			}
			f := kinesistest.ErrorFault(500, "InternalFailure", "")
			return &f
		})
		r := wait(t, put(t, p, core.Record{Stream: "s", PartitionKey: "k", Data: []byte("x")}))
		n := len(r.Attempts())
		if r.Success || n < 2 || r.ErrorCode() != core.CodeExpired || r.Attempts()[n-2].ErrorCode != "InternalFailure" {
			t.Fatalf("result = %+v", r)
		}
		if last := r.Attempts()[n-1]; last.StartedAt != last.EndedAt {
			t.Errorf("the Expired attempt is synthetic and lasts no time: %+v", last)
		}
	})

	t.Run("limiter expires queued records", func(t *testing.T) {
		// gokpl gives a record that expires in the limiter one Expired
		// attempt ("Expiration reached while waiting in limiter"); the KPL
		// adds a second one from its retrier ("Record has reached
		// expiration"). Either way the record fails with code Expired.
		//
		// The shard's bytes refill at 2,000 a second; each record is a
		// Kinesis record of its own costing 901 bytes, so after the first
		// the next needs about 0.4 s of refill, well past the 150 ms TTL.
		p, srv := ecProducer(t, map[string]int{"s": 1}, func(c *core.Config) {
			c.RecordTTL = 150 * time.Millisecond
			c.RateLimitBytesPerSecPerShard = 2000
			c.AggregationMaxSize = 1000
		})
		ecAwaitShardMap(t, p, srv, "s")
		var outcomes []*core.Outcome
		for i := range 5 {
			outcomes = append(outcomes, put(t, p, core.Record{Stream: "s", PartitionKey: fmt.Sprint(i), Data: make([]byte, 900)}))
			time.Sleep(10 * time.Millisecond)
		}
		expired := 0
		for _, r := range ecWaitAll(t, outcomes) {
			if r.Success {
				continue
			}
			last := r.Attempts()[len(r.Attempts())-1]
			if r.ErrorCode() != core.CodeExpired || !strings.Contains(last.ErrorMessage, "limiter") || last.StartedAt != last.EndedAt {
				t.Errorf("result = %+v", r)
			}
			expired++
		}
		if expired < 3 {
			t.Errorf("%d of 5 records expired in the limiter", expired)
		}
	})

	t.Run("a record sent before its expiration may still succeed", func(t *testing.T) {
		// Expiry is checked when a retry is decided and in the limiter,
		// never on a success: a slow request that succeeds after the TTL
		// still counts.
		p, srv := ecProducer(t, map[string]int{"s": 1}, func(c *core.Config) {
			c.RecordTTL = 100 * time.Millisecond
			c.AggregationEnabled = false
		})
		srv.InjectFault("PutRecords", kinesistest.Fault{Delay: 400 * time.Millisecond})
		before := time.Now()
		r := wait(t, put(t, p, core.Record{Stream: "s", PartitionKey: "k", Data: []byte("x")}))
		if !r.Success || len(r.Attempts()) != 1 || r.Attempts()[0].EndedAt.Sub(before) < 400*time.Millisecond {
			t.Fatalf("result = %+v", r)
		}
	})

	t.Run("TTL near 2^63 ms does not overflow", func(t *testing.T) {
		// The KPL's arrival + TTL overflows here and the record expires
		// at once; gokpl saturates.
		cfg, err := core.ParseConfigJSON([]byte(`{"record_ttl_ms": 9223372036854775807}`))
		if err != nil {
			t.Fatal(err)
		}
		p, srv := ecProducer(t, map[string]int{"s": 1}, func(c *core.Config) { c.RecordTTL = cfg.RecordTTL })
		srv.InjectFault("PutRecords", kinesistest.ErrorFault(500, "InternalFailure", ""))
		if r := wait(t, put(t, p, core.Record{Stream: "s", PartitionKey: "k", Data: []byte("x")})); !r.Success || len(r.Attempts()) != 2 {
			t.Fatalf("result = %+v", r)
		}
	})
}

func TestEdgeCase14RetryDeadlineAndReaggregation(t *testing.T) {
	// The KPL gives a retried record the deadline now + RMBT/2; gokpl has
	// its own option, retry_deadline_ms (50 ms by default), because with a
	// long buffering time half of it is still too long for a retry. Either
	// way the deadline is capped at the record's expiration.
	//
	// (No flush here: a flush pushes retried records through at once.)
	t.Run("retry deadline", func(t *testing.T) {
		p, srv := ecProducer(t, map[string]int{"s": 1}, func(c *core.Config) {
			c.RecordMaxBufferedTime = 20 * time.Millisecond
			c.RetryDeadline = 300 * time.Millisecond
		})
		ecAwaitShardMap(t, p, srv, "s")
		srv.InjectFault("PutRecords", kinesistest.ErrorFault(500, "InternalFailure", ""))
		r := wait(t, put(t, p, core.Record{Stream: "s", PartitionKey: "k", Data: []byte("x")}))
		if !r.Success || len(r.Attempts()) != 2 {
			t.Fatalf("result = %+v", r)
		}
		// Backoff (25-50 ms) plus the retry deadline.
		if gap := r.Attempts()[1].StartedAt.Sub(r.Attempts()[0].EndedAt); gap < 300*time.Millisecond || gap > 3*time.Second {
			t.Errorf("the retry left %v after the failure, want the 300 ms retry deadline plus backoff", gap)
		}
	})

	t.Run("capped at the expiration", func(t *testing.T) {
		p, srv := ecProducer(t, map[string]int{"s": 1}, func(c *core.Config) {
			c.RetryDeadline = time.Hour
			c.RecordTTL = 600 * time.Millisecond
		})
		srv.InjectFault("PutRecords", kinesistest.ErrorFault(500, "InternalFailure", ""))
		before := time.Now()
		r := wait(t, put(t, p, core.Record{Stream: "s", PartitionKey: "k", Data: []byte("x")}))
		if len(r.Attempts()) < 2 || r.Attempts()[0].ErrorCode != "InternalFailure" {
			t.Fatalf("result = %+v", r)
		}
		if at := r.Attempts()[1].StartedAt.Sub(before); at < 500*time.Millisecond || at > 3*time.Second {
			t.Errorf("the retry left %v after the put, want about the 600 ms TTL", at)
		}
	})

	t.Run("retried records are aggregated again", func(t *testing.T) {
		// A and B fail together; while they wait out the backoff, C is put.
		// A and B come back into the aggregator and leave in one new
		// aggregate with C, at their retry deadline, before C's own.
		p, srv := ecProducer(t, map[string]int{"s": 1}, func(c *core.Config) {
			c.RecordMaxBufferedTime = 300 * time.Millisecond
			c.RetryDeadline = 50 * time.Millisecond
		})
		ecAwaitShardMap(t, p, srv, "s")
		var c atomic.Pointer[core.Outcome]
		ecSpyOn(srv, func(n int, req *kinesistest.Request) *kinesistest.Fault {
			if n != 0 {
				return nil
			}
			o, err := p.Put(context.Background(), core.Record{Stream: "s", PartitionKey: "C", Data: []byte("C")})
			if err != nil {
				t.Error(err)
				return nil
			}
			c.Store(o)
			return &kinesistest.Fault{RecordFailures: []kinesistest.RecordFailure{{Index: 0, ErrorCode: "InternalFailure"}}}
		})
		a := put(t, p, core.Record{Stream: "s", PartitionKey: "A", Data: []byte("A")})
		b := put(t, p, core.Record{Stream: "s", PartitionKey: "B", Data: []byte("B")})
		ra, rb := wait(t, a), wait(t, b)
		if c.Load() == nil {
			t.Fatal("no request reached the server")
		}
		rc := wait(t, c.Load())
		if !ra.Success || !rb.Success || !rc.Success || len(ra.Attempts()) != 2 || len(rc.Attempts()) != 1 {
			t.Fatalf("A %+v\nB %+v\nC %+v", ra, rb, rc)
		}
		if ra.SequenceNumber != rc.SequenceNumber || rb.SequenceNumber != rc.SequenceNumber {
			t.Errorf("A, B and C did not share a Kinesis record: %s %s %s", ra.SequenceNumber, rb.SequenceNumber, rc.SequenceNumber)
		}
	})
}

func TestEdgeCase14RecordsRetriedDuringAFlushAreAggregatedTogether(t *testing.T) {
	// A flush pushes records retried while it waits straight through; the
	// records of one failed aggregate must still go back out aggregated
	// together (one entry, one request), not one Kinesis record and one
	// request each.
	p, srv := ecProducer(t, map[string]int{"s": 1}, func(c *core.Config) { c.RecordMaxBufferedTime = time.Hour })
	ecAwaitShardMap(t, p, srv, "s")
	spy := ecSpyOn(srv, func(n int, req *kinesistest.Request) *kinesistest.Fault {
		if n != 0 {
			return nil
		}
		return &kinesistest.Fault{RecordFailures: []kinesistest.RecordFailure{{Index: 0, ErrorCode: "InternalFailure"}}}
	})
	var outcomes []*core.Outcome
	for i := range 20 {
		outcomes = append(outcomes, put(t, p, core.Record{Stream: "s", PartitionKey: fmt.Sprint(i), Data: []byte(fmt.Sprint(i))}))
	}
	ecFlush(t, p)
	for i, r := range ecWaitAll(t, outcomes) {
		if !r.Success || len(r.Attempts()) != 2 {
			t.Fatalf("record %d: %+v", i, r)
		}
	}
	var entries []int
	for _, r := range spy.all() {
		entries = append(entries, len(r.Records))
	}
	if len(entries) != 2 || entries[1] != 1 {
		t.Errorf("the first request (one aggregate of 20) failed; the retry went out as requests of %v entries, want one request of one aggregate", entries[1:])
	}
}

func TestEdgeCase15ThrottlingAndNonRetryableErrors(t *testing.T) {
	type outcome struct {
		success  bool
		attempts int
		code     string // of the first attempt
	}
	cases := []struct {
		name            string
		failIfThrottled bool
		fault           kinesistest.Fault
		want            outcome
	}{
		// fail_if_throttled covers throttling of the whole request and of
		// one entry.
		{"request throttled, fail_if_throttled", true, kinesistest.ErrorFault(400, kinesistest.ErrorTypeProvisionedThroughputExceeded, ""), outcome{false, 1, core.CodeThrottled}},
		{"entry throttled, fail_if_throttled", true, kinesistest.Fault{RecordFailures: []kinesistest.RecordFailure{{Index: 0}}}, outcome{false, 1, core.CodeThrottled}},
		{"request throttled", false, kinesistest.ErrorFault(400, kinesistest.ErrorTypeProvisionedThroughputExceeded, ""), outcome{true, 2, core.CodeThrottled}},
		{"entry throttled", false, kinesistest.Fault{RecordFailures: []kinesistest.RecordFailure{{Index: 0}}}, outcome{true, 2, core.CodeThrottled}},
		{"entry internal failure, fail_if_throttled", true, kinesistest.Fault{RecordFailures: []kinesistest.RecordFailure{{Index: 0, ErrorCode: "InternalFailure"}}}, outcome{true, 2, "InternalFailure"}},
		{"service unavailable", false, kinesistest.ErrorFault(503, "", ""), outcome{true, 2, kinesistest.ErrorTypeServiceUnavailable}},
		// The KPL retries every other error until the TTL, so the user
		// sees Expired after 30 s. gokpl fails errors that retrying cannot
		// fix at once, with their own code (DESIGN.md, Decisions), and
		// retries those that go away: a stream being updated. Expired
		// credentials that refreshing cannot renew (the static keys here)
		// fail as CredentialsRejected.
		{"access denied", false, kinesistest.ErrorFault(400, "AccessDeniedException", ""), outcome{false, 1, "AccessDeniedException"}},
		{"KMS key disabled", false, kinesistest.Fault{RecordFailures: []kinesistest.RecordFailure{{Index: 0, ErrorCode: "KMSDisabledException"}}}, outcome{false, 1, "KMSDisabledException"}},
		{"stream in use", false, kinesistest.ErrorFault(400, kinesistest.ErrorTypeResourceInUse, ""), outcome{true, 2, kinesistest.ErrorTypeResourceInUse}},
		{"expired token", false, kinesistest.ErrorFault(400, kinesistest.ErrorTypeExpiredToken, ""), outcome{false, 1, core.CodeCredentialsRejected}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, srv := ecProducer(t, map[string]int{"s": 1}, func(c *core.Config) {
				c.FailIfThrottled = tc.failIfThrottled
				c.AggregationEnabled = false
			})
			srv.InjectFault("PutRecords", tc.fault)
			r := wait(t, put(t, p, core.Record{Stream: "s", PartitionKey: "k", Data: []byte("x")}))
			if got := (outcome{r.Success, len(r.Attempts()), r.Attempts()[0].ErrorCode}); got != tc.want {
				t.Errorf("got %+v, want %+v (%+v)", got, tc.want, r.Attempts())
			}
			if !r.Success && r.ErrorCode() != tc.want.code {
				t.Errorf("failure carries code %q, want %q", r.ErrorCode(), tc.want.code)
			}
		})
	}

	t.Run("stream not found", func(t *testing.T) {
		p, _ := ecProducer(t, map[string]int{"s": 1}, nil)
		r := wait(t, put(t, p, core.Record{Stream: "missing", PartitionKey: "k", Data: []byte("x")}))
		if r.Success || len(r.Attempts()) != 1 || r.ErrorCode() != kinesistest.ErrorTypeResourceNotFound {
			t.Errorf("result = %+v", r)
		}
	})
}

func TestEdgeCase16RecordCountMismatchFailsEveryRecord(t *testing.T) {
	// A response with fewer or more entries than the request cannot be
	// matched to records: every record of the request fails with Record
	// Count Mismatch, without a retry, as in the KPL. (The service stored
	// them; retrying would duplicate them.)
	mismatch := func(srv *kinesistest.Server, delta int) *ecSpy {
		return ecSpyOn(srv, func(int, *kinesistest.Request) *kinesistest.Fault {
			return &kinesistest.Fault{ResponseRecordsDelta: delta}
		})
	}
	check := func(t *testing.T, outcomes []*core.Outcome) {
		t.Helper()
		for i, r := range ecWaitAll(t, outcomes) {
			if r.Success || len(r.Attempts()) != 1 || r.ErrorCode() != core.CodeRecordCountMismatch {
				t.Errorf("record %d: %+v", i, r)
			}
		}
	}
	for _, delta := range []int{-1, +1} {
		t.Run(fmt.Sprint("entries, delta ", delta), func(t *testing.T) {
			p, srv := ecProducer(t, map[string]int{"s": 2}, func(c *core.Config) {
				c.RecordMaxBufferedTime = time.Hour
				c.AggregationEnabled = false
			})
			spy := mismatch(srv, delta)
			var outcomes []*core.Outcome
			for i := range 3 {
				outcomes = append(outcomes, put(t, p, core.Record{Stream: "s", PartitionKey: fmt.Sprint(i), Data: []byte(fmt.Sprint(i))}))
			}
			ecFlush(t, p)
			check(t, outcomes)
			if reqs := spy.all(); len(reqs) != 1 || len(reqs[0].Records) != 3 {
				t.Errorf("%d requests, want one of 3 entries and no retry", len(reqs))
			}
		})
		t.Run(fmt.Sprint("aggregated, delta ", delta), func(t *testing.T) {
			p, srv := ecProducer(t, map[string]int{"s": 1}, func(c *core.Config) { c.RecordMaxBufferedTime = time.Hour })
			ecAwaitShardMap(t, p, srv, "s")
			spy := mismatch(srv, delta)
			var outcomes []*core.Outcome
			for i := range 3 {
				outcomes = append(outcomes, put(t, p, core.Record{Stream: "s", PartitionKey: fmt.Sprint(i), Data: []byte(fmt.Sprint(i))}))
			}
			ecFlush(t, p)
			check(t, outcomes)
			if reqs := spy.all(); len(reqs) != 1 || len(reqs[0].Records) != 1 {
				t.Errorf("%d requests, want one of one aggregate and no retry", len(reqs))
			}
		})
	}
}

func TestEdgeCase17AttemptTimesAndOneResultPerRecord(t *testing.T) {
	// The KPL reports each attempt's delay (from arrival, then from the
	// previous attempt's end) and duration; gokpl reports start and end
	// times, from which both follow.
	t.Run("attempt times", func(t *testing.T) {
		p, srv := ecProducer(t, map[string]int{"s": 1}, func(c *core.Config) { c.AggregationEnabled = false })
		srv.InjectFault("PutRecords", kinesistest.Fault{Delay: 20 * time.Millisecond, RecordFailures: []kinesistest.RecordFailure{{Index: 0, ErrorCode: "InternalFailure"}}})
		before := time.Now()
		r := wait(t, put(t, p, core.Record{Stream: "s", PartitionKey: "k", Data: []byte("x")}))
		if !r.Success || len(r.Attempts()) != 2 {
			t.Fatalf("result = %+v", r)
		}
		a, b := r.Attempts()[0], r.Attempts()[1]
		if a.StartedAt.Before(before) || a.EndedAt.Sub(a.StartedAt) < 20*time.Millisecond || b.StartedAt.Before(a.EndedAt) || b.EndedAt.Before(b.StartedAt) {
			t.Errorf("attempt times out of order: put at %v, %+v", before, r.Attempts())
		}
	})

	t.Run("synthetic attempts last no time", func(t *testing.T) {
		// A record waiting out its backoff when the producer closes ends
		// with a synthetic ProducerClosed attempt (as one that expires
		// ends with a synthetic Expired attempt, see edge case 13).
		srv := kinesistest.NewServer(kinesistest.Options{Streams: map[string]int{"s": 1}})
		defer srv.Close()
		cfg := core.DefaultConfig()
		cfg.Region, cfg.EndpointURL, cfg.AggregationEnabled = "us-east-1", srv.URL, false
		p, err := core.New(context.Background(), cfg, core.WithLogger(slog.New(slog.DiscardHandler)))
		if err != nil {
			t.Fatal(err)
		}
		srv.SetFaultFunc(func(req *kinesistest.Request) *kinesistest.Fault {
			f := kinesistest.ErrorFault(400, kinesistest.ErrorTypeProvisionedThroughputExceeded, "")
			return &f
		})
		o := put(t, p, core.Record{Stream: "s", PartitionKey: "k", Data: []byte("x")})
		// Throttling backoff doubles from 100 ms: after the fourth failure
		// the record waits 400 to 800 ms.
		for srv.Requests("PutRecords") < 4 {
			time.Sleep(5 * time.Millisecond)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		_ = p.Close(ctx)
		r := wait(t, o)
		last := r.Attempts()[len(r.Attempts())-1]
		if r.Success || len(r.Attempts()) != 5 || last.ErrorCode != core.CodeProducerClosed || last.StartedAt != last.EndedAt {
			t.Errorf("result = %+v", r)
		}
	})

	t.Run("one result per record while cancels race", func(t *testing.T) {
		// Records are resolved by the pipeline, cancelled by the caller,
		// or both at once; each must go through the producer's exit once:
		// succeeded + failed + cancelled = put, nothing outstanding.
		p, srv := ecProducer(t, map[string]int{"s": 2}, nil)
		var n atomic.Int64
		srv.SetFaultFunc(func(req *kinesistest.Request) *kinesistest.Fault {
			if req.Operation != "PutRecords" || n.Add(1)%3 != 0 {
				return nil
			}
			return &kinesistest.Fault{RecordFailures: []kinesistest.RecordFailure{{Index: 0, ErrorCode: "InternalFailure"}}}
		})
		outcomes := make(chan *core.Outcome, 4000)
		var cancels sync.WaitGroup
		cancels.Add(1)
		go func() {
			defer cancels.Done()
			i := 0
			for o := range outcomes {
				if i++; i%2 == 0 {
					o.Cancel()
				}
			}
		}()
		var all []*core.Outcome
		for i := range 4000 {
			o := put(t, p, core.Record{Stream: "s", PartitionKey: fmt.Sprint(i), Data: []byte(fmt.Sprint(i))})
			all = append(all, o)
			outcomes <- o
		}
		close(outcomes)
		cancels.Wait()
		ecFlush(t, p)
		cancelled := 0
		for _, o := range all {
			if !o.IsDone() {
				t.Fatal("an outcome is unresolved after flush")
			}
			if _, err := o.Result(); errors.Is(err, core.ErrCancelled) {
				cancelled++
			}
			if o.Cancel() {
				t.Fatal("Cancel won on a resolved outcome")
			}
		}
		s := p.Stats()
		if s.RecordsSucceeded+s.RecordsFailed+s.RecordsCancelled != s.RecordsPut || s.RecordsPut != 4000 || s.OutstandingRecords != 0 {
			t.Errorf("stats %+v: every record must leave once", s)
		}
		if s.RecordsCancelled != int64(cancelled) {
			t.Errorf("%d cancelled outcomes, stats count %d", cancelled, s.RecordsCancelled)
		}
	})
}

func TestEdgeCase18PartialFailureRetriesOnlyFailedEntries(t *testing.T) {
	t.Run("unaggregated", func(t *testing.T) {
		p, srv := ecProducer(t, map[string]int{"s": 1}, func(c *core.Config) {
			c.RecordMaxBufferedTime = time.Hour
			c.AggregationEnabled = false
		})
		spy := ecSpyOn(srv, func(n int, req *kinesistest.Request) *kinesistest.Fault {
			if n != 0 {
				return nil
			}
			return &kinesistest.Fault{RecordFailures: []kinesistest.RecordFailure{{Index: 1}, {Index: 3, ErrorCode: "InternalFailure"}}}
		})
		var outcomes []*core.Outcome
		for i := range 5 {
			outcomes = append(outcomes, put(t, p, core.Record{Stream: "s", PartitionKey: fmt.Sprint(i), Data: []byte(fmt.Sprint(i))}))
		}
		ecFlush(t, p)
		results := ecWaitAll(t, outcomes)
		for i, r := range results {
			wantAttempts := 1 + boolInt(i == 1 || i == 3)
			if !r.Success || len(r.Attempts()) != wantAttempts {
				t.Errorf("record %d: %+v, want success after %d attempts", i, r, wantAttempts)
			}
		}
		var retried []string
		for _, r := range spy.all()[1:] {
			for _, e := range r.Records {
				retried = append(retried, string(e.Data))
			}
		}
		if slices.Sort(retried); !slices.Equal(retried, []string{"1", "3"}) {
			t.Fatalf("retried %v, want records 1 and 3 only", retried)
		}
		got := stored(t, srv, "s")
		if len(got) != 5 {
			t.Errorf("stored %d records, want 5 (no duplicates)", len(got))
		}
		for _, s := range got {
			var i int
			fmt.Sscan(s.Data, &i)
			if results[i].SequenceNumber != s.SequenceNumber {
				t.Errorf("record %d reports sequence number %s, stored at %s", i, results[i].SequenceNumber, s.SequenceNumber)
			}
		}
	})

	t.Run("aggregated", func(t *testing.T) {
		p, srv := ecProducer(t, map[string]int{"s": 2}, func(c *core.Config) { c.RecordMaxBufferedTime = time.Hour })
		ecAwaitShardMap(t, p, srv, "s")
		shards := ecShards(t, srv, "s")
		spy := ecSpyOn(srv, func(n int, req *kinesistest.Request) *kinesistest.Fault {
			if n != 0 {
				return nil
			}
			return &kinesistest.Fault{RecordFailures: []kinesistest.RecordFailure{{Index: 0}}}
		})
		var outcomes []*core.Outcome
		for i := range 6 {
			outcomes = append(outcomes, put(t, p, core.Record{Stream: "s", PartitionKey: fmt.Sprint(i), ExplicitHashKey: shards[i%2].end.String(), Data: []byte(fmt.Sprint(i))}))
		}
		ecFlush(t, p)
		results := ecWaitAll(t, outcomes)
		reqs := spy.all()
		failed := map[string]bool{}
		for _, u := range ecUserRecords(t, reqs[0].Records[0]) {
			failed[string(u.Data)] = true
		}
		sent := map[string]int{}
		for _, r := range reqs {
			for _, e := range r.Records {
				for _, u := range ecUserRecords(t, e) {
					sent[string(u.Data)]++
				}
			}
		}
		for i := range 6 {
			d := fmt.Sprint(i)
			if want := 1 + boolInt(failed[d]); sent[d] != want {
				t.Errorf("record %d sent %d times, want %d (the failed aggregate held %v)", i, sent[d], want, failed)
			}
		}
		if len(failed) != 3 {
			t.Errorf("the failed aggregate held %d records, want 3", len(failed))
		}
		for i, r := range results {
			if !r.Success {
				t.Errorf("record %d: %+v", i, r)
			}
		}
		if n := len(ecStored(t, srv, "s")); n != 6 {
			t.Errorf("stored %d records, want 6", n)
		}
	})
}

func TestEdgeCase19FlushSendsNowUnderTheRateLimitAndEnds(t *testing.T) {
	t.Run("flush aggregates and sends now", func(t *testing.T) {
		p, srv := ecProducer(t, map[string]int{"s": 1}, func(c *core.Config) { c.RecordMaxBufferedTime = time.Hour })
		ecAwaitShardMap(t, p, srv, "s")
		var outcomes []*core.Outcome
		for i := range 10 {
			outcomes = append(outcomes, put(t, p, core.Record{Stream: "s", PartitionKey: fmt.Sprint(i), Data: []byte(fmt.Sprint(i))}))
		}
		start := time.Now()
		ecFlush(t, p)
		if elapsed := time.Since(start); elapsed > 2*time.Second {
			t.Errorf("flush took %v", elapsed)
		}
		for _, o := range outcomes {
			if !o.IsDone() {
				t.Fatal("flush returned before a record put before it resolved")
			}
		}
		if entries := ecEntries(t, srv, "s"); len(entries) != 1 || !core.IsAggregated(entries[0].Data) {
			t.Errorf("%d entries, want one aggregate", len(entries))
		}
	})

	t.Run("flush sends the aggregates in one request", func(t *testing.T) {
		// The KPL flushes every aggregator buffer, then the collector: the
		// aggregates of all shards leave together, in as few PutRecords
		// requests as the limits allow.
		p, srv := ecProducer(t, map[string]int{"s": 4}, func(c *core.Config) { c.RecordMaxBufferedTime = time.Hour })
		ecAwaitShardMap(t, p, srv, "s")
		spy := ecSpyOn(srv, nil)
		for i := range 40 {
			put(t, p, core.Record{Stream: "s", PartitionKey: fmt.Sprint(i), Data: []byte(fmt.Sprint(i))})
		}
		ecFlush(t, p)
		if reqs := spy.all(); len(reqs) != 1 {
			t.Errorf("a flush of 4 aggregates (40 records) sent %d requests, want 1", len(reqs))
		}
	})

	t.Run("flush pushes records retried during it", func(t *testing.T) {
		// A record that fails during a flush goes back into the aggregator
		// with its retry deadline; the flush must still send it, not wait
		// out that deadline.
		p, srv := ecProducer(t, map[string]int{"s": 1}, func(c *core.Config) {
			c.RecordMaxBufferedTime = time.Hour
			c.RetryDeadline = time.Hour
		})
		ecAwaitShardMap(t, p, srv, "s")
		srv.InjectFault("PutRecords", kinesistest.ErrorFault(500, "InternalFailure", ""))
		o := put(t, p, core.Record{Stream: "s", PartitionKey: "k", Data: []byte("x")})
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := p.Flush(ctx); err != nil {
			t.Fatalf("flush: %v; the retried record was left in the pipeline", err)
		}
		if r := wait(t, o); !r.Success || len(r.Attempts()) != 2 {
			t.Errorf("result = %+v", r)
		}
	})

	t.Run("flush obeys the rate limit", func(t *testing.T) {
		// As in the KPL (and unlike aiokpl), a flush does not bypass the
		// limiter: 30 single-record Kinesis records for a shard admitting
		// 20 a second take at least half a second beyond the burst the
		// bucket holds (at most a second's worth).
		p, srv := ecProducer(t, map[string]int{"s": 1}, func(c *core.Config) {
			c.RecordMaxBufferedTime = time.Hour
			c.RateLimitRecordsPerSecPerShard = 20
			c.AggregationMaxSize = 64 // each 100-byte record is its own Kinesis record
		})
		ecAwaitShardMap(t, p, srv, "s")
		time.Sleep(100 * time.Millisecond) // the bucket refills after the probe
		for i := range 30 {
			put(t, p, core.Record{Stream: "s", PartitionKey: fmt.Sprint(i), Data: make([]byte, 100)})
		}
		start := time.Now()
		ecFlush(t, p)
		if elapsed := time.Since(start); elapsed < 350*time.Millisecond {
			t.Errorf("flush of 30 records at 20 records/s took %v, want at least 0.5 s", elapsed)
		}
	})

	t.Run("flush ends at its deadline", func(t *testing.T) {
		p, srv := ecProducer(t, map[string]int{"s": 1}, nil)
		srv.SetFaultFunc(func(req *kinesistest.Request) *kinesistest.Fault {
			if req.Operation != "PutRecords" {
				return nil
			}
			return &kinesistest.Fault{Delay: time.Second}
		})
		o := put(t, p, core.Record{Stream: "s", PartitionKey: "k", Data: []byte("x")})
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		start := time.Now()
		if err := p.Flush(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("flush = %v, want the context's deadline", err)
		}
		if elapsed := time.Since(start); elapsed > time.Second {
			t.Errorf("flush with a 200 ms deadline took %v", elapsed)
		}
		if r := wait(t, o); !r.Success {
			t.Errorf("result = %+v", r)
		}
	})
}

func TestEdgeCase20StatsCounters(t *testing.T) {
	// The KPL's metrics (dimensions, 0/1 semantics, per-attempt
	// BufferingTime, CloudWatch upload and its filters and batching) are
	// tested in metrics_test.go, metrics_internal_test.go and
	// cloudwatch_test.go. Here, the producer's counters, which the metrics
	// build on: they must agree with what happened.
	p, srv := ecProducer(t, map[string]int{"s": 1}, func(c *core.Config) {
		c.RecordMaxBufferedTime = time.Hour
		c.AggregationEnabled = false
	})
	srv.InjectFault("PutRecords", kinesistest.Fault{RecordFailures: []kinesistest.RecordFailure{{Index: 4}}})
	srv.InjectFault("PutRecords", kinesistest.ErrorFault(500, "InternalFailure", ""))
	var outcomes []*core.Outcome
	for i := range 10 {
		outcomes = append(outcomes, put(t, p, core.Record{Stream: "s", PartitionKey: fmt.Sprint(i), Data: []byte(fmt.Sprint(i))}))
	}
	ecFlush(t, p)
	retries := 0
	for _, r := range ecWaitAll(t, outcomes) {
		retries += len(r.Attempts()) - 1
	}
	missing := put(t, p, core.Record{Stream: "missing", PartitionKey: "k", Data: []byte("x")})
	ecFlush(t, p)
	if r := wait(t, missing); r.Success {
		t.Fatalf("a record for a missing stream succeeded")
	}
	s := p.Stats()
	for _, c := range []struct {
		name      string
		got, want int64
	}{
		{"RecordsPut", s.RecordsPut, 11},
		{"RecordsSucceeded", s.RecordsSucceeded, 10},
		{"RecordsFailed", s.RecordsFailed, 1},
		{"RecordsCancelled", s.RecordsCancelled, 0},
		{"RecordsRetried", s.RecordsRetried, 2}, // record 4, twice
		{"KinesisRecordsSent", s.KinesisRecordsSent, 10 + 1 + 1 + 1},
		{"Requests", s.Requests, 4},
		{"RequestErrors", s.RequestErrors, 2}, // the 500 and the missing stream
		{"RequestsThrottled", s.RequestsThrottled, 1},
		{"OutstandingRecords", s.OutstandingRecords, 0},
		{"OutstandingBytes", s.OutstandingBytes, 0},
	} {
		if c.got != c.want {
			t.Errorf("Stats().%s = %d, want %d", c.name, c.got, c.want)
		}
	}
	if retries != 2 || srv.Requests("PutRecords") != 4 {
		t.Errorf("%d retries in the attempts, %d requests at the server", retries, srv.Requests("PutRecords"))
	}
}

func TestEdgeCase21ConfigValidation(t *testing.T) {
	rejected := map[string]string{
		`{"collection_max_count": 501}`:                             "collection_max_count",
		`{"collection_max_count": 0}`:                               "collection_max_count",
		`{"collection_max_size": 52223}`:                            "collection_max_size",
		`{"aggregation_max_count": 0}`:                              "aggregation_max_count",
		`{"aggregation_max_size": 63}`:                              "aggregation_max_size",
		`{"record_ttl_ms": 99}`:                                     "record_ttl_ms",
		`{"record_max_buffered_time_ms": -1}`:                       "record_max_buffered_time_ms",
		`{"connect_timeout_ms": 99}`:                                "connect_timeout_ms",
		`{"connect_timeout_ms": 300001}`:                            "connect_timeout_ms",
		`{"request_timeout_ms": 600001}`:                            "request_timeout_ms",
		`{"max_connections": 0}`:                                    "max_connections",
		`{"max_connections": 257}`:                                  "max_connections",
		`{"metrics_level": "verbose"}`:                              "metrics_level",
		`{"metrics_granularity": "partition"}`:                      "metrics_granularity",
		`{"metrics_namespace": "AWS/Kinesis"}`:                      "metrics_namespace",
		`{"metrics_namespace": ""}`:                                 "metrics_namespace",
		`{"metrics_upload_interval_ms": 0}`:                         "metrics_upload_interval_ms",
		`{"metrics_upload_interval_ms": 60001}`:                     "metrics_upload_interval_ms",
		`{"region": "US-EAST-1"}`:                                   "region",
		`{"region": "us-east-1a"}`:                                  "region",
		`{"aggregation_enabled": "yes"}`:                            "aggregation_enabled",
		`{"collection_max_count": 1.5}`:                             "collection_max_count",
		`{"no_such_option": 1}`:                                     "no_such_option",
		`{"metrics_namespace": "` + strings.Repeat("n", 256) + `"}`: "metrics_namespace",
	}
	for raw, field := range rejected {
		var cfgErr *core.ConfigError
		if _, err := core.ParseConfigJSON([]byte(raw)); !errors.As(err, &cfgErr) || cfgErr.Field != field {
			t.Errorf("ParseConfigJSON(%s) err = %v, want a ConfigError on %s", raw, err, field)
		}
	}
	accepted := []string{
		`{"collection_max_count": 500}`,
		`{"collection_max_count": 1}`,
		`{"collection_max_size": 52224}`,
		`{"aggregation_max_size": 64}`,
		`{"record_ttl_ms": 100}`,
		`{"record_ttl_ms": 9223372036854775807}`,
		`{"record_max_buffered_time_ms": 0}`,
		`{"max_connections": 256}`,
		`{"region": "us-east-1"}`,
		`{"region": "us-gov-west-1"}`,
		`{"metrics_namespace": "MyApp/AWS/Kinesis"}`,
		`{"metrics_level": "detailed", "metrics_granularity": "shard"}`,
	}
	for _, raw := range accepted {
		if _, err := core.ParseConfigJSON([]byte(raw)); err != nil {
			t.Errorf("ParseConfigJSON(%s) = %v, want accepted", raw, err)
		}
	}

	// A Config built in Go is checked by New against the same table.
	cfg := core.DefaultConfig()
	cfg.Region = "us-east-1"
	cfg.CollectionMaxCount = 501
	var cfgErr *core.ConfigError
	if _, err := core.New(context.Background(), cfg); !errors.As(err, &cfgErr) || cfgErr.Field != "collection_max_count" {
		t.Errorf("New with collection_max_count 501: err = %v", err)
	}
}
