//go:build gokpl_abitest

package main

import (
	"strings"
	"testing"
)

// Every export checks its arguments before it changes anything: a call
// rejected for a malformed argument leaves no record put, no handle made and
// no state behind.

// assertNothingPut checks that the fixture's producer holds no record and
// that no outcome handle is live.
func (f *fixture) assertNothingPut(what string) {
	f.t.Helper()
	if n, status := callOutstanding(f.producer); status != statusOK || n != 0 {
		f.t.Errorf("%s: outstanding = %d (status %d), want 0", what, n, status)
	}
	if stats, _ := callStats(f.producer); stats.RecordsPut != 0 {
		f.t.Errorf("%s: records put = %d, want 0", what, stats.RecordsPut)
	}
	if _, outcomes := callHandleCounts(); outcomes != 0 {
		f.t.Errorf("%s: %d outcome handles live, want 0", what, outcomes)
	}
}

func TestPutRejectsANullPointerWithALengthAndPutsNothing(t *testing.T) {
	f := newFixture(t, nil)
	for which, name := range map[abiNull]string{nullStream: "stream", nullKey: "partition_key", nullHash: "explicit_hash_key", nullData: "data"} {
		o, status, msg := callPutWithNull(f.producer, stream, which)
		if status != statusInvalidArgument || o != 0 || !strings.Contains(msg, name+" is NULL") {
			t.Errorf("put with NULL %s = %d (%q), outcome %#x", name, status, msg, o)
		}
		if which != nullHash {
			o, status = callPutQuickWithNull(f.producer, stream, which)
			if status != statusInvalidArgument || o != 0 {
				t.Errorf("put_quick with NULL %s = %d, outcome %#x", name, status, o)
			}
		}
		f.assertNothingPut("NULL " + name)
	}
	f.close(5_000, statusOK)
}

func TestALengthPastMemoryIsAnInvalidArgumentAndPutsNothing(t *testing.T) {
	f := newFixture(t, nil)
	for which, name := range map[abiNull]string{nullStream: "stream", nullKey: "partition_key", nullHash: "explicit_hash_key", nullData: "data"} {
		status, msg, quick := callPutWithHugeLength(f.producer, stream, which)
		if status != statusInvalidArgument || !strings.Contains(msg, name+"'s length is larger than memory can hold") {
			t.Errorf("put with a huge %s length = %d (%q)", name, status, msg)
		}
		if quick != -int64(statusInvalidArgument) {
			t.Errorf("put_quick with a huge %s length = %d, want -%d", name, quick, statusInvalidArgument)
		}
		f.assertNothingPut("huge " + name + " length")
	}
	f.close(5_000, statusOK)
}

// A batch that fails before putting anything, whatever the check that
// failed, leaves outs all 0: the caller may have reused the array, and a
// stale handle there would be freed or kept as its own.
func TestABatchThatPutsNothingLeavesNoStaleHandleInOuts(t *testing.T) {
	f := newFixture(t, nil)
	for i, outs := range callBatchesOverStaleOuts(f.producer, f.producer+1, stream) {
		if outs[0] != 0 || outs[1] != 0 {
			t.Errorf("call %d: outs = %#x after a failed batch, want all 0", i, outs)
		}
	}
	f.assertNothingPut("batches over stale outs")
	f.close(5_000, statusOK)
}

func TestBatchChecksEveryRecordsPointersBeforePuttingAny(t *testing.T) {
	f := newFixture(t, nil)
	for which, name := range map[abiNull]string{nullKey: "partition_key", nullHash: "explicit_hash_key", nullData: "data"} {
		accepted, status, msg := callPutBatchWithNull(f.producer, stream, 5, 3, which)
		if status != statusInvalidArgument || accepted != 0 || !strings.Contains(msg, "records[3]: "+name+" is NULL") {
			t.Errorf("batch with NULL %s at 3 = %d (%q), accepted %d", name, status, msg, accepted)
		}
		f.assertNothingPut("batch with NULL " + name)
	}
	batch, packed, accepted := callBatchWithNullStream(f.producer)
	expect(t, "put_batch with a NULL stream", batch, statusInvalidArgument)
	expect(t, "put_packed with a NULL stream", packed, statusInvalidArgument)
	if accepted != 0 {
		t.Errorf("%d records accepted with a NULL stream", accepted)
	}
	batch, packed = callBatchesWithHugeCounts(f.producer, stream)
	expect(t, "put_batch with a huge count", batch, statusInvalidArgument)
	expect(t, "put_packed with a huge count", packed, statusInvalidArgument)
	f.assertNothingPut("batches with huge counts")
	f.close(5_000, statusOK)
}

func TestCountsAndCapacitiesPastMemoryAreInvalidArguments(t *testing.T) {
	f := newFixture(t, nil)
	expect(t, "outcomes_free with a huge count", callOutcomesFreeHugeCount(), statusInvalidArgument)
	expect(t, "next_completions with a huge capacity", callNextCompletionsHugeCapacity(f.producer), statusInvalidArgument)
	o := f.put("k", "x")
	expect(t, "wait", callOutcomeWait(o, 10_000), statusOK)
	result, attempt := callResultsWithNullStrings(o)
	expect(t, "result with NULL strings and a capacity", result, statusInvalidArgument)
	expect(t, "attempt with NULL strings and a capacity", attempt, statusInvalidArgument)
	callOutcomeFree(o)
	f.close(5_000, statusOK)
}

func TestBuffersAreWrittenOnlyAsFarAsNeeded(t *testing.T) {
	f := newFixture(t, nil)
	put, metrics, logs, message, snapshot := callWithHugeCapacities(f.producer)
	if put != statusInvalidRecord || !strings.HasPrefix(message, "gokpl: invalid record: ") {
		t.Errorf("put = %d (%q), want an invalid record and its message", put, message)
	}
	if metrics != statusOK || !strings.HasPrefix(snapshot, "[") {
		t.Errorf("metrics = %d (%q)", metrics, snapshot)
	}
	if logs != statusOK && logs != statusTimeout {
		t.Errorf("log_next = %d", logs)
	}
	f.close(5_000, statusOK)
}

func TestProducerNewRejectsANullConfigWithALength(t *testing.T) {
	status, msg := callProducerNewNullConfig()
	if status != statusInvalidArgument || !strings.Contains(msg, "config_json is NULL") {
		t.Fatalf("producer_new(NULL, 10) = %d (%q)", status, msg)
	}
	if producers, _ := callHandleCounts(); producers != 0 {
		t.Fatalf("%d producers after a rejected creation", producers)
	}
}

func TestStreamNamesAreKeptOnlyOnceARecordIsAccepted(t *testing.T) {
	f := newFixture(t, nil)
	entry, _ := producers.get(f.producer)
	kept := func(name string) bool { _, ok := entry.streams.Load(name); return ok }
	if _, status := callPutQuick(f.producer, "never-accepted", abiRecord{PartitionKey: ""}); status != statusInvalidRecord {
		t.Fatalf("put_quick with an empty key = %d", status)
	}
	if _, status, _ := callPut(f.producer, "never-accepted-either", abiRecord{PartitionKey: ""}, 0); status != statusInvalidRecord {
		t.Fatalf("put with an empty key = %d", status)
	}
	if _, _, status, _ := callPutBatch(f.producer, "nor-this", []abiRecord{{PartitionKey: ""}}, 0); status != statusInvalidRecord {
		t.Fatalf("put_batch with an empty key = %d", status)
	}
	for _, name := range []string{"never-accepted", "never-accepted-either", "nor-this"} {
		if kept(name) {
			t.Errorf("stream %q kept after its only record was rejected", name)
		}
	}
	o := f.put("k", "x")
	if !kept(stream) {
		t.Errorf("stream %q not kept after a record was accepted", stream)
	}
	expect(t, "wait", callOutcomeWait(o, 10_000), statusOK)
	callOutcomeFree(o)
	f.close(5_000, statusOK)
}
