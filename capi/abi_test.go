//go:build gokpl_abitest

package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gokpl/gokpl/core/kinesistest"
)

// These tests drive the library through its C declarations (abicall.go), as
// a C program would, against the fake endpoint in this process. Every test
// ends with the handle tables empty and no goroutine left behind.

const stream = "s"

// fixture is a fake endpoint with stream "s" (two shards) and a producer on it.
type fixture struct {
	t        *testing.T
	srv      *kinesistest.Server
	producer uint64
}

// newFixture starts the endpoint and a producer with the given extra
// options; the test must leave no handle behind (checked at cleanup).
func newFixture(t *testing.T, options map[string]any) *fixture {
	t.Helper()
	srv := kinesistest.NewServer(kinesistest.Options{Streams: map[string]int{stream: 2}})
	f := &fixture{t: t, srv: srv}
	t.Cleanup(func() {
		srv.Close()
		f.assertNoHandles()
		if t.Failed() {
			freeLeftovers()
		}
	})
	f.producer = f.newProducer(options)
	return f
}

func (f *fixture) newProducer(options map[string]any) uint64 {
	f.t.Helper()
	cfg := map[string]any{
		"region":                      "us-east-1",
		"endpoint_url":                f.srv.URL,
		"record_max_buffered_time_ms": 10,
	}
	for k, v := range options {
		cfg[k] = v
	}
	raw, err := json.Marshal(cfg)
	if err != nil {
		f.t.Fatal(err)
	}
	h, status, msg := callProducerNew(string(raw))
	if status != statusOK || h == 0 {
		f.t.Fatalf("gokpl_producer_new = %d (%s), handle %#x", status, msg, h)
	}
	return h
}

func (f *fixture) put(key string, data string) uint64 {
	f.t.Helper()
	o, status, msg := callPut(f.producer, stream, abiRecord{PartitionKey: key, Data: []byte(data)}, -1)
	if status != statusOK || o == 0 {
		f.t.Fatalf("gokpl_producer_put = %d (%s)", status, msg)
	}
	return o
}

func (f *fixture) close(timeoutMS int64, want int32) {
	f.t.Helper()
	if status, msg := callClose(f.producer, timeoutMS); status != want {
		f.t.Fatalf("gokpl_producer_close = %d (%s), want %d", status, msg, want)
	}
}

// closeNow closes without waiting. Records still open are failed as
// ProducerClosed, though one may just make it (its request was quick enough),
// so either status is fine.
func (f *fixture) closeNow() {
	f.t.Helper()
	if status, msg := callClose(f.producer, 0); status != statusOK && status != statusTimeout {
		f.t.Fatalf("gokpl_producer_close = %d (%s)", status, msg)
	}
}

func (f *fixture) assertNoHandles() {
	f.t.Helper()
	if p, o := callHandleCounts(); p != 0 || o != 0 {
		f.t.Errorf("handles left: %d producers, %d outcomes", p, o)
	}
	if n := queues.len(); n != 0 {
		f.t.Errorf("%d completion queues left", n)
	}
}

// freeLeftovers frees the handles a failed test left behind, so that its
// failure is reported once rather than again by every later test's handle
// check.
func freeLeftovers() {
	producers.mu.Lock()
	var open []uint64
	for h := range producers.objects {
		open = append(open, h)
	}
	producers.mu.Unlock()
	for _, h := range open {
		callProducerFree(h)
	}
	outcomes.mu.Lock()
	var live []uint64
	for chunk, c := range outcomes.chunks {
		for i, used := range c.used {
			if used {
				live = append(live, outcomes.base+chunk<<slabChunkBits+uint64(i)+1)
			}
		}
	}
	outcomes.mu.Unlock()
	if len(live) > 0 {
		callOutcomesFree(live)
	}
	queues.mu.Lock()
	clear(queues.objects)
	queues.mu.Unlock()
}

func expect(t *testing.T, what string, got, want int32) {
	t.Helper()
	if got != want {
		t.Fatalf("%s = %d, want %d", what, got, want)
	}
}

func TestVersion(t *testing.T) {
	if got := callABIVersion(); got != abiVersionFromHeader {
		t.Fatalf("abi version %d, header says %d", got, abiVersionFromHeader)
	}
	v, status := callVersion(32)
	expect(t, "gokpl_version", status, statusOK)
	if v != Version {
		t.Fatalf("version %q, want %q", v, Version)
	}
	nullBuf, hugeCap, v := callVersionUnusual()
	expect(t, "gokpl_version(NULL, 64)", nullBuf, statusInvalidArgument)
	expect(t, "gokpl_version(buf, SIZE_MAX)", hugeCap, statusOK)
	if v != Version {
		t.Fatalf("version with the largest capacity %q, want %q", v, Version)
	}
	_, status = callVersion(len(Version)) // no room for the NUL
	expect(t, "gokpl_version(short)", status, statusBufferTooSmall)
}

func TestPutWaitResultAttempts(t *testing.T) {
	f := newFixture(t, nil)
	o := f.put("user-1", "hello")
	expect(t, "wait", callOutcomeWait(o, 10_000), statusOK)
	if done, status := callOutcomeDone(o); status != statusOK || !done {
		t.Fatalf("done = %v, %d", done, status)
	}
	r, status := callOutcomeResult(o, 256)
	expect(t, "result", status, statusOK)
	if !r.Success || r.Attempts != 1 || !strings.HasPrefix(r.ShardID, "shardId-") || r.SequenceNumber == "" || r.ErrorCode != "" {
		t.Fatalf("result %+v", r)
	}
	_, status = callOutcomeResult(o, 3)
	expect(t, "result(short buffer)", status, statusBufferTooSmall)

	a, status := callOutcomeAttempt(o, 0, 256)
	expect(t, "attempt 0", status, statusOK)
	if !a.Success || a.ShardID != r.ShardID || a.SequenceNumber != r.SequenceNumber || a.StartedNS <= 0 || a.EndedNS < a.StartedNS {
		t.Fatalf("attempt %+v", a)
	}
	_, status = callOutcomeAttempt(o, 1, 256)
	expect(t, "attempt 1", status, statusInvalidArgument)

	if cancelled, status := callOutcomeCancel(o); status != statusOK || cancelled {
		t.Fatalf("cancel after resolve = %v, %d", cancelled, status)
	}
	expect(t, "free", callOutcomeFree(o), statusOK)
	f.close(5_000, statusOK)

	stored := f.srv.Records(stream)
	if len(stored) != 1 || stored[0].SequenceNumber != r.SequenceNumber || stored[0].ShardID != r.ShardID {
		t.Fatalf("stored %+v, want the record of %+v", stored, r)
	}
}

func TestPutQuickAndOutcomeState(t *testing.T) {
	f := newFixture(t, map[string]any{"record_max_buffered_time_ms": 60_000, "max_outstanding_records": 1})
	o, status := callPutQuick(f.producer, stream, abiRecord{PartitionKey: "k", Data: []byte("quick")})
	expect(t, "put_quick", status, statusOK)
	_, _, status = callOutcomeState(o)
	expect(t, "state while buffered", status, statusPending)
	_, status = callPutQuick(f.producer, stream, abiRecord{PartitionKey: "k"})
	expect(t, "put_quick into a full producer", status, statusBackpressure)
	_, status = callPutQuick(f.producer, stream, abiRecord{PartitionKey: ""})
	expect(t, "put_quick without a partition key", status, statusInvalidRecord)
	_, status = callPutQuick(0, stream, abiRecord{PartitionKey: "k"})
	expect(t, "put_quick on handle 0", status, statusInvalidHandle)

	expect(t, "flush", callFlush(f.producer, 10_000), statusOK)
	success, attempts, status := callOutcomeState(o)
	if status != statusOK || !success || attempts != 1 {
		t.Fatalf("state = %v, %d attempts, status %d; want success in 1 attempt", success, attempts, status)
	}
	r, status := callOutcomeResult(o, 256)
	expect(t, "result", status, statusOK)
	expect(t, "free", callOutcomeFree(o), statusOK)
	_, _, status = callOutcomeState(o)
	expect(t, "state after free", status, statusInvalidHandle)

	cancelled, status := callPutQuick(f.producer, stream, abiRecord{PartitionKey: "k"})
	expect(t, "put_quick", status, statusOK)
	if ok, _ := callOutcomeCancel(cancelled); !ok {
		t.Fatal("cancel of a buffered record lost")
	}
	_, _, status = callOutcomeState(cancelled)
	expect(t, "state after cancel", status, statusCancelled)
	callOutcomeFree(cancelled)
	f.close(5_000, statusOK)
	if stored := f.srv.Records(stream); len(stored) != 1 || string(stored[0].Data) != "quick" || stored[0].SequenceNumber != r.SequenceNumber {
		t.Fatalf("stored %+v, want the one quick record", stored)
	}
}

func TestOutcomesFreeReleasesManyHandlesAtOnce(t *testing.T) {
	f := newFixture(t, nil)
	var handles []uint64
	for i := range 10 {
		handles = append(handles, f.put(fmt.Sprint("k", i), "data"))
	}
	expect(t, "flush", callFlush(f.producer, 10_000), statusOK)
	_, before := callHandleCounts()
	// 0 and an already freed handle are skipped, as by gokpl_outcome_free.
	expect(t, "free one", callOutcomeFree(handles[0]), statusOK)
	expect(t, "outcomes_free", callOutcomesFree(append([]uint64{0}, handles...)), statusOK)
	if _, after := callHandleCounts(); after != before-10 {
		t.Fatalf("%d outcome handles after freeing 10 of %d", after, before)
	}
	_, _, status := callOutcomeState(handles[5])
	expect(t, "state of a freed handle", status, statusInvalidHandle)
	expect(t, "outcomes_free(NULL, 0)", callOutcomesFree(nil), statusOK)
	expect(t, "outcomes_free(NULL, 3)", callOutcomesFreeNull(3), statusInvalidArgument)
	f.close(5_000, statusOK)
}

func TestPutCopiesItsInputs(t *testing.T) {
	f := newFixture(t, map[string]any{"record_max_buffered_time_ms": 200})
	data := []byte("original")
	o, status, _ := callPut(f.producer, stream, abiRecord{PartitionKey: "k", Data: data}, -1)
	expect(t, "put", status, statusOK)
	// The C memory was freed by callPut before the record was sent.
	expect(t, "flush", callFlush(f.producer, 10_000), statusOK)
	callOutcomeFree(o)
	f.close(5_000, statusOK)
	if stored := f.srv.Records(stream); len(stored) != 1 || string(stored[0].Data) != "original" {
		t.Fatalf("stored %+v", stored)
	}
}

func TestBatchPut(t *testing.T) {
	f := newFixture(t, nil)
	records := make([]abiRecord, 100)
	for i := range records {
		records[i] = abiRecord{PartitionKey: fmt.Sprintf("k%d", i), Data: []byte(fmt.Sprintf("d%d", i))}
	}
	last := "340282366920938463463374607431768211455"
	records[99].HashKey = &last
	outs, accepted, status, msg := callPutBatch(f.producer, stream, records, -1)
	expect(t, "put_batch", status, statusOK)
	if accepted != 100 || slices.Contains(outs, 0) {
		t.Fatalf("accepted %d, outs %v (%s)", accepted, outs, msg)
	}
	expect(t, "flush", callFlush(f.producer, 10_000), statusOK)
	if n, status := callOutstanding(f.producer); status != statusOK || n != 0 {
		t.Fatalf("outstanding %d, %d", n, status)
	}
	for i, o := range outs {
		r, status := callOutcomeResult(o, 256)
		if status != statusOK || !r.Success {
			t.Fatalf("record %d: %+v, %d", i, r, status)
		}
		if i == 99 && r.ShardID != "shardId-000000000001" {
			t.Fatalf("explicit hash key 2^128-1 went to %s", r.ShardID)
		}
		callOutcomeFree(o)
	}

	// A batch stops at the first invalid record; those before it are put.
	records[5].PartitionKey = ""
	outs, accepted, status, msg = callPutBatch(f.producer, stream, records[:10], -1)
	expect(t, "put_batch(bad record 5)", status, statusInvalidRecord)
	if accepted != 5 || outs[5] != 0 || outs[4] == 0 || !strings.Contains(msg, "partition_key") {
		t.Fatalf("accepted %d, outs %v, message %q", accepted, outs, msg)
	}
	for _, o := range outs[:accepted] {
		expect(t, "wait", callOutcomeWait(o, 10_000), statusOK)
		callOutcomeFree(o)
	}
	// An empty batch is fine.
	_, accepted, status, _ = callPutBatch(f.producer, stream, nil, 0)
	expect(t, "put_batch(empty)", status, statusOK)
	if accepted != 0 {
		t.Fatalf("accepted %d of nothing", accepted)
	}
	f.close(5_000, statusOK)
}

func TestPackedBatchPut(t *testing.T) {
	// Unaggregated, so that the endpoint stores each record as put.
	f := newFixture(t, map[string]any{"aggregation_enabled": false})
	records := []abiRecord{{PartitionKey: "a", Data: []byte("first")}, {PartitionKey: "bb", Data: nil}, {PartitionKey: "ccc", Data: []byte("third")}}
	handles, accepted, status, _ := callPutPacked(f.producer, stream, records, -1)
	expect(t, "put_packed", status, statusOK)
	if accepted != 3 {
		t.Fatalf("accepted %d of 3", accepted)
	}
	// A bad record stops the batch there; the ones before it are in.
	bad := []abiRecord{{PartitionKey: "d", Data: []byte("fourth")}, {PartitionKey: "", Data: []byte("x")}, {PartitionKey: "e"}}
	more, accepted, status, msg := callPutPacked(f.producer, stream, bad, -1)
	if status != statusInvalidRecord || accepted != 1 || more[1] != 0 || !strings.Contains(msg, "partition_key") {
		t.Fatalf("bad batch: status %d, accepted %d, handles %v, %q", status, accepted, more, msg)
	}
	expect(t, "flush", callFlush(f.producer, 10_000), statusOK)
	for _, h := range append(handles, more[0]) {
		if success, _, status := callOutcomeState(h); status != statusOK || !success {
			t.Fatalf("outcome %d: success %v, status %d", h, success, status)
		}
		callOutcomeFree(h)
	}
	f.close(5_000, statusOK)
	got := map[string]string{}
	for _, r := range f.srv.Records(stream) {
		got[r.PartitionKey] = string(r.Data)
	}
	if want := map[string]string{"a": "first", "bb": "", "ccc": "third", "d": "fourth"}; !maps.Equal(got, want) {
		t.Fatalf("stored %v, want %v", got, want)
	}
}

func TestInvalidRecords(t *testing.T) {
	f := newFixture(t, nil)
	minus, big, word := "-1", "340282366920938463463374607431768211456", "ten"
	cases := []struct {
		stream string
		record abiRecord
		field  string
	}{
		{stream, abiRecord{PartitionKey: ""}, "partition_key"},
		{stream, abiRecord{PartitionKey: strings.Repeat("k", 257)}, "partition_key"},
		{stream, abiRecord{PartitionKey: "k", HashKey: &minus}, "explicit_hash_key"},
		{stream, abiRecord{PartitionKey: "k", HashKey: &big}, "explicit_hash_key"},
		{stream, abiRecord{PartitionKey: "k", HashKey: &word}, "explicit_hash_key"},
		{stream, abiRecord{PartitionKey: "k", Data: make([]byte, 10<<20)}, "data"}, // with its key, over the largest record any stream takes
		{"", abiRecord{PartitionKey: "k"}, "stream"},
		{"bad name!", abiRecord{PartitionKey: "k"}, "stream"},
	}
	for _, c := range cases {
		o, status, msg := callPut(f.producer, c.stream, c.record, 0)
		if status != statusInvalidRecord || o != 0 || !strings.Contains(msg, c.field) {
			t.Errorf("%s: status %d, handle %#x, message %q", c.field, status, o, msg)
		}
	}
	// The producer still works.
	o := f.put("k", "after")
	expect(t, "wait", callOutcomeWait(o, 10_000), statusOK)
	callOutcomeFree(o)
	f.close(5_000, statusOK)
}

func TestCancelBeforeSendWithdrawsTheRecord(t *testing.T) {
	f := newFixture(t, map[string]any{"record_max_buffered_time_ms": 60_000})
	o := f.put("k", "never sent")
	expect(t, "wait(0)", callOutcomeWait(o, 0), statusTimeout)
	_, status := callOutcomeResult(o, 256)
	expect(t, "result(pending)", status, statusPending)
	if cancelled, status := callOutcomeCancel(o); status != statusOK || !cancelled {
		t.Fatalf("first cancel = %v, %d", cancelled, status)
	}
	if cancelled, status := callOutcomeCancel(o); status != statusOK || cancelled {
		t.Fatalf("second cancel = %v, %d", cancelled, status)
	}
	expect(t, "wait", callOutcomeWait(o, 0), statusOK)
	_, status = callOutcomeResult(o, 256)
	expect(t, "result(cancelled)", status, statusCancelled)
	_, status = callOutcomeAttempt(o, 0, 256)
	expect(t, "attempt(cancelled)", status, statusCancelled)
	expect(t, "flush", callFlush(f.producer, 10_000), statusOK)
	stats, status := callStats(f.producer)
	expect(t, "stats", status, statusOK)
	if stats.RecordsCancelled != 1 || stats.RecordsPut != 1 {
		t.Fatalf("stats %+v", stats)
	}
	callOutcomeFree(o)
	f.close(5_000, statusOK)
	if n := len(f.srv.Records(stream)); n != 0 {
		t.Fatalf("%d records reached the stream", n)
	}
}

func TestCloseResolvesOpenRecordsAndOutcomesOutliveIt(t *testing.T) {
	// Nothing listens at the endpoint, so the record is certainly still open at close.
	f := newFixture(t, map[string]any{"record_max_buffered_time_ms": 60_000, "endpoint_url": "http://127.0.0.1:1"})
	o := f.put("k", "buffered")
	f.close(0, statusTimeout)
	expect(t, "wait", callOutcomeWait(o, 5_000), statusOK)
	r, status := callOutcomeResult(o, 512)
	expect(t, "result", status, statusOK)
	if r.Success || r.ErrorCode != "ProducerClosed" {
		t.Fatalf("result %+v", r)
	}
	// The producer handle is gone; every call says so.
	h := f.producer
	expect(t, "second close", func() int32 { s, _ := callClose(h, 0); return s }(), statusInvalidHandle)
	_, status, _ = callPut(h, stream, abiRecord{PartitionKey: "k"}, 0)
	expect(t, "put after close", status, statusInvalidHandle)
	expect(t, "flush after close", callFlush(h, 0), statusInvalidHandle)
	_, status = callStats(h)
	expect(t, "stats after close", status, statusInvalidHandle)
	expect(t, "free after close", callProducerFree(h), statusOK)
	expect(t, "outcome free", callOutcomeFree(o), statusOK)
	expect(t, "outcome double free", callOutcomeFree(o), statusOK)
	expect(t, "wait on freed outcome", callOutcomeWait(o, 0), statusInvalidHandle)
}

func TestFreeClosesAnOpenProducer(t *testing.T) {
	f := newFixture(t, map[string]any{"record_max_buffered_time_ms": 60_000})
	o := f.put("k", "x")
	expect(t, "free", callProducerFree(f.producer), statusOK)
	expect(t, "double free", callProducerFree(f.producer), statusOK)
	expect(t, "wait", callOutcomeWait(o, 5_000), statusOK)
	callOutcomeFree(o)
}

func TestBadHandles(t *testing.T) {
	f := newFixture(t, nil)
	o := f.put("k", "x")
	for _, h := range []uint64{0, 1, 42, o, f.producer + 1000} {
		_, status, msg := callPut(h, stream, abiRecord{PartitionKey: "k"}, 0)
		if status != statusInvalidHandle || !strings.Contains(msg, "invalid producer handle") {
			t.Errorf("put(%#x) = %d (%q)", h, status, msg)
		}
		_, _, status, _ = callPutBatch(h, stream, []abiRecord{{PartitionKey: "k"}}, 0)
		expect(t, "put_batch", status, statusInvalidHandle)
		expect(t, "flush", callFlush(h, 0), statusInvalidHandle)
		_, status = callOutstanding(h)
		expect(t, "outstanding", status, statusInvalidHandle)
		_, status = callStats(h)
		expect(t, "stats", status, statusInvalidHandle)
		_, status = callNextCompletions(h, 4, 0)
		expect(t, "next_completions", status, statusInvalidHandle)
		status, _ = callClose(h, 0)
		expect(t, "close", status, statusInvalidHandle)
		expect(t, "producer free", callProducerFree(h), statusOK)
	}
	for _, h := range []uint64{0, 1, 42, f.producer} {
		expect(t, "outcome wait", callOutcomeWait(h, 0), statusInvalidHandle)
		_, status := callOutcomeDone(h)
		expect(t, "outcome done", status, statusInvalidHandle)
		_, status = callOutcomeCancel(h)
		expect(t, "outcome cancel", status, statusInvalidHandle)
		_, status = callOutcomeNotify(h, 1)
		expect(t, "outcome notify", status, statusInvalidHandle)
		_, status = callOutcomeResult(h, 64)
		expect(t, "outcome result", status, statusInvalidHandle)
		_, status = callOutcomeAttempt(h, 0, 64)
		expect(t, "outcome attempt", status, statusInvalidHandle)
		expect(t, "outcome free", callOutcomeFree(h), statusOK)
	}
	_, status := callNextCompletions(f.producer, 0, 0)
	expect(t, "next_completions(cap 0)", status, statusInvalidArgument)
	expect(t, "wait", callOutcomeWait(o, 10_000), statusOK)
	callOutcomeFree(o)
	f.close(5_000, statusOK)
}

func TestBadConfig(t *testing.T) {
	for config, needle := range map[string]string{
		`{"region":"us-east-1","no_such_option":1}`:         "no_such_option",
		`{"region":"us-east-1","collection_max_count":501}`: "collection_max_count",
		`{"region":"us-east-1","max_connections":"many"}`:   "max_connections",
		`{"region":"us-east-1","metrics_sink":null}`:        "metrics_sink",
		`{`: "",
	} {
		h, status, msg := callProducerNew(config)
		if status != statusConfig || h != 0 || !strings.Contains(msg, needle) {
			t.Errorf("%s: status %d, handle %#x, message %q", config, status, h, msg)
		}
	}
	if p, _ := callHandleCounts(); p != 0 {
		t.Fatalf("%d producers after failed creations", p)
	}
}

func TestBackpressure(t *testing.T) {
	f := newFixture(t, map[string]any{"record_max_buffered_time_ms": 60_000, "max_outstanding_records": 1})
	first := f.put("k", "fills the producer")
	start := time.Now()
	_, status, msg := callPut(f.producer, stream, abiRecord{PartitionKey: "k"}, 50)
	if status != statusBackpressure || !strings.Contains(msg, "full") {
		t.Fatalf("put into a full producer = %d (%q)", status, msg)
	}
	if waited := time.Since(start); waited < 40*time.Millisecond {
		t.Fatalf("gave up after %v, want about the 50 ms timeout", waited)
	}
	_, status, _ = callPut(f.producer, stream, abiRecord{PartitionKey: "k"}, 0)
	expect(t, "put(timeout 0)", status, statusBackpressure)
	_, accepted, status, _ := callPutBatch(f.producer, stream, []abiRecord{{PartitionKey: "a"}, {PartitionKey: "b"}}, 20)
	expect(t, "put_batch", status, statusBackpressure)
	if accepted != 0 {
		t.Fatalf("accepted %d", accepted)
	}
	// Room frees when the first record resolves; a waiting put then goes in.
	done := make(chan uint64)
	go func() {
		o, _, _ := callPut(f.producer, stream, abiRecord{PartitionKey: "k"}, 10_000)
		done <- o
	}()
	time.Sleep(20 * time.Millisecond)
	callFlush(f.producer, 0) // sends the first record
	second := <-done
	if second == 0 {
		t.Fatal("the waiting put failed after room freed")
	}
	callOutcomeFree(first)
	callOutcomeFree(second)
	f.closeNow()
}

func TestStats(t *testing.T) {
	f := newFixture(t, nil)
	const n = 50
	handles := make([]uint64, n)
	for i := range handles {
		handles[i] = f.put(fmt.Sprint(i), "0123456789")
	}
	expect(t, "flush", callFlush(f.producer, 10_000), statusOK)
	s, status := callStats(f.producer)
	expect(t, "stats", status, statusOK)
	if s.RecordsPut != n || s.RecordsSucceeded != n || s.RecordsFailed != 0 || s.Requests < 1 ||
		s.KinesisRecordsSent < 1 || s.OutstandingRecords != 0 || s.OutstandingBytes != 0 || s.RequestsThrottled != 0 {
		t.Fatalf("stats %+v", s)
	}
	// A throttled entry counts its request as throttled; the record is retried.
	f.srv.InjectFault("PutRecords", kinesistest.Fault{RecordFailures: []kinesistest.RecordFailure{{Index: 0}}})
	throttled := f.put("throttled", "0123456789")
	expect(t, "flush", callFlush(f.producer, 10_000), statusOK)
	if s, _ = callStats(f.producer); s.RequestsThrottled != 1 || s.RecordsSucceeded != n+1 || s.RecordsRetried != 1 {
		t.Fatalf("after a throttled entry: stats %+v", s)
	}
	callOutcomeFree(throttled)
	for _, h := range handles {
		callOutcomeFree(h)
	}
	f.close(5_000, statusOK)
}

func TestCompletions(t *testing.T) {
	f := newFixture(t, nil)
	_, status := callNextCompletions(f.producer, 8, 0)
	expect(t, "next_completions(nothing registered)", status, statusTimeout)

	var want []uint64
	for i := range 40 {
		o := f.put(fmt.Sprint(i), "x")
		queued, status := callOutcomeNotify(o, uint64(1000+i))
		expect(t, "notify", status, statusOK)
		if queued { // else already done (a fast endpoint): the caller acts at once
			want = append(want, uint64(1000+i))
		}
		callOutcomeFree(o) // freeing the handle does not stop the delivery
	}
	var got []uint64
	for len(got) < len(want) {
		tokens, status := callNextCompletions(f.producer, 7, 5_000)
		expect(t, "next_completions", status, statusOK)
		if len(tokens) == 0 || len(tokens) > 7 {
			t.Fatalf("%d tokens", len(tokens))
		}
		got = append(got, tokens...)
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("tokens %v, want %v", got, want)
	}

	// A done outcome is not queued.
	o := f.put("k", "x")
	expect(t, "wait", callOutcomeWait(o, 10_000), statusOK)
	if queued, status := callOutcomeNotify(o, 1); status != statusOK || queued {
		t.Fatalf("notify on a done outcome = %v, %d", queued, status)
	}
	callOutcomeFree(o)
	_, status = callNextCompletions(f.producer, 8, 20)
	expect(t, "next_completions(all collected)", status, statusTimeout)
	f.close(5_000, statusOK)
	// Closed, everything collected: it says so once, then forgets the handle.
	_, status = callNextCompletions(f.producer, 8, 0)
	expect(t, "next_completions after close", status, statusClosed)
	_, status = callNextCompletions(f.producer, 8, 0)
	expect(t, "next_completions after drained", status, statusInvalidHandle)
}

func TestCompletionsOutliveClose(t *testing.T) {
	f := newFixture(t, map[string]any{"record_max_buffered_time_ms": 60_000})
	a, b := f.put("a", "x"), f.put("b", "y")
	for token, o := range map[uint64]uint64{1: a, 2: b} {
		if queued, status := callOutcomeNotify(o, token); status != statusOK || !queued {
			t.Fatalf("notify = %v, %d", queued, status)
		}
	}
	cancelled, _ := callOutcomeCancel(a) // cancelling completes too
	if !cancelled {
		t.Fatal("cancel failed")
	}
	tokens, status := callNextCompletions(f.producer, 8, 5_000)
	expect(t, "next_completions(cancelled)", status, statusOK)
	if !slices.Equal(tokens, []uint64{1}) {
		t.Fatalf("tokens %v, want [1]", tokens)
	}
	// Waiting in another thread: close wakes it with b's token.
	got := make(chan []uint64)
	go func() {
		tokens, _ := callNextCompletions(f.producer, 8, -1)
		got <- tokens
	}()
	f.closeNow()
	if tokens := <-got; !slices.Equal(tokens, []uint64{2}) {
		t.Fatalf("tokens %v, want [2]", tokens)
	}
	if p, _ := callHandleCounts(); p != 1 {
		t.Fatalf("producers %d: the queue should still count until it is drained", p)
	}
	_, status = callNextCompletions(f.producer, 8, 1_000)
	expect(t, "next_completions(drained)", status, statusClosed)
	_, status = callNextCompletions(f.producer, 8, 0)
	expect(t, "next_completions(gone)", status, statusInvalidHandle)
	callOutcomeFree(a)
	callOutcomeFree(b)
}

func TestFreeDropsUncollectedCompletions(t *testing.T) {
	f := newFixture(t, map[string]any{"record_max_buffered_time_ms": 60_000})
	o := f.put("a", "x")
	if queued, _ := callOutcomeNotify(o, 9); !queued {
		t.Fatal("not queued")
	}
	f.closeNow()
	expect(t, "free", callProducerFree(f.producer), statusOK)
	_, status := callNextCompletions(f.producer, 8, 0)
	expect(t, "next_completions after free", status, statusInvalidHandle)
	callOutcomeFree(o)
}

func TestConcurrentPutsWaitsAndFrees(t *testing.T) {
	f := newFixture(t, nil)
	var wg sync.WaitGroup
	errs := make(chan string, 16)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				o, status, msg := callPut(f.producer, stream, abiRecord{PartitionKey: fmt.Sprintf("%d-%d", g, i), Data: []byte("x")}, -1)
				if status != statusOK {
					errs <- msg
					return
				}
				if i%2 == 0 {
					callOutcomeNotify(o, uint64(i))
				}
				if callOutcomeWait(o, 10_000) != statusOK {
					errs <- "wait timed out"
				}
				if r, status := callOutcomeResult(o, 256); status != statusOK || !r.Success {
					errs <- fmt.Sprintf("result %+v %d", r, status)
				}
				callOutcomeFree(o)
				callOutcomeFree(o)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	f.close(5_000, statusOK)
	for {
		_, status := callNextCompletions(f.producer, 64, 1_000)
		if status != statusOK {
			expect(t, "next_completions(end)", status, statusClosed)
			break
		}
	}
}

func TestPanicsBecomeInternalErrors(t *testing.T) {
	status, msg := callPanicking()
	if status != statusInternal || !strings.Contains(msg, "internal error: boom") || !strings.Contains(msg, "goroutine") {
		t.Fatalf("status %d, message %q", status, msg)
	}
}

func TestFlushBeginCoversOnlyRecordsPutBeforeIt(t *testing.T) {
	f := newFixture(t, map[string]any{"record_max_buffered_time_ms": 3_600_000})
	// A first flush waits for the shard map, so that the records below are
	// not held together in the waiting room, which a flush empties whole.
	warmup, status, _ := callPut(f.producer, stream, abiRecord{PartitionKey: "w", Data: []byte("w")}, -1)
	expect(t, "put", status, statusOK)
	warmupFlush, status := callFlushBegin(f.producer)
	expect(t, "flush begin", status, statusOK)
	expect(t, "flush wait", callFlushWait(f.producer, warmupFlush, 10_000), statusOK)
	callOutcomeFree(warmup)
	first, status, _ := callPut(f.producer, stream, abiRecord{PartitionKey: "a", Data: []byte("a")}, -1)
	expect(t, "put", status, statusOK)
	flush, status := callFlushBegin(f.producer)
	expect(t, "flush begin", status, statusOK)
	// A record put after the flush began is not waited for: with an hour of
	// buffering it stays buffered, and should the flush push the stages
	// again while its own record is in flight, which sends the later one
	// too, that one's request hangs; yet the flush completes.
	f.srv.SetFaultFunc(func(r *kinesistest.Request) *kinesistest.Fault {
		if len(r.Records) > 0 && r.Records[0].PartitionKey == "b" {
			return &kinesistest.Fault{Delay: time.Hour}
		}
		return nil
	})
	later, status, _ := callPut(f.producer, stream, abiRecord{PartitionKey: "b", Data: []byte("b")}, -1)
	expect(t, "put", status, statusOK)
	expect(t, "flush wait", callFlushWait(f.producer, flush, 10_000), statusOK)
	expect(t, "first done", callOutcomeWait(first, 0), statusOK)
	expect(t, "later still open", callOutcomeWait(later, 0), statusTimeout)
	expect(t, "wait again, forgotten", callFlushWait(f.producer, flush, 0), statusOK)
	expect(t, "unknown flush id", callFlushWait(f.producer, flush+100, 0), statusInvalidArgument)
	expect(t, "flush id 0", callFlushWait(f.producer, 0, 0), statusInvalidArgument)
	if _, status := callFlushBegin(0); status != statusInvalidHandle {
		t.Fatalf("begin on handle 0: %d", status)
	}
	callOutcomeFree(first)
	callOutcomeFree(later)
	f.closeNow()
}
