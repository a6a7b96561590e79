package core

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// aggSink records what an aggregator emits.
type aggSink struct {
	mu      sync.Mutex
	records []*kinesisRecord
	reasons []flushReason
}

func (s *aggSink) emit(k *kinesisRecord, reason flushReason) {
	k.encode() // as the sender will, so that tests can read the data
	s.mu.Lock()
	defer s.mu.Unlock()
	s.records = append(s.records, k)
	s.reasons = append(s.reasons, reason)
}

func (s *aggSink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.records)
}

// buffered is the number of user records a's shards hold.
func (a *aggregator) buffered() int {
	n := 0
	a.shards.Range(func(_, v any) bool {
		s := v.(*shardReducer)
		s.mu.Lock()
		n += len(s.buf.(*shardAggregation).agg.records)
		s.mu.Unlock()
		return true
	})
	return n
}

func newTestAggregator(maxCount, maxSize int64) (*aggregator, *aggSink) {
	cfg := DefaultConfig()
	cfg.AggregationMaxCount = maxCount
	cfg.AggregationMaxSize = maxSize
	sink := &aggSink{}
	return newAggregator(&cfg, 0, sink.emit), sink
}

// pendingRecord is a user record due in an hour.
func pendingRecord(t testing.TB, partitionKey string, data []byte) *userRecord {
	u := aggRecord(t, partitionKey, "", data)
	u.deadline = instantOf(time.Now().Add(time.Hour))
	u.expiration = u.deadline.add(time.Hour)
	return u
}

func TestAggregatorCountLimitFlushesAtEquality(t *testing.T) {
	a, out := newTestAggregator(3, 1<<20)
	for i := range 3 {
		a.put(pendingRecord(t, fmt.Sprint(i), []byte("x")), 7)
	}
	if out.count() != 1 || len(out.records[0].records) != 3 || out.reasons[0] != flushCount {
		t.Fatalf("emitted %d, reasons %v", out.count(), out.reasons)
	}
	if out.records[0].partitionKey != "a" || !IsAggregated(out.records[0].data) {
		t.Fatalf("not aggregated: %+v", out.records[0])
	}
	a.close()
}

func TestAggregatorKeepsOneBufferPerShard(t *testing.T) {
	a, out := newTestAggregator(2, 1<<20)
	a.put(pendingRecord(t, "a1", nil), 1)
	a.put(pendingRecord(t, "b1", nil), 2)
	if out.count() != 0 {
		t.Fatal("records of different shards were counted together")
	}
	a.put(pendingRecord(t, "b2", nil), 2)
	if out.count() != 1 || keysOf(out.records[0]) != "[b1 b2]" {
		t.Fatalf("emitted %d: %v", out.count(), out.records)
	}
	a.flush()
	if out.count() != 2 || keysOf(out.records[1]) != "[a1]" || out.reasons[1] != flushManual {
		t.Fatalf("emitted %d, reasons %v", out.count(), out.reasons)
	}
	a.close()
}

// checkSizeLimit checks the i-th Kinesis record the sink got against the
// size limit, exactly: within it (the service counts the partition key too,
// so the limit does), and, when it left for its size, too full for the next
// record, tags and all.
func checkSizeLimit(t *testing.T, out *aggSink, i int, maxSize int64) {
	t.Helper()
	k := out.records[i]
	if k.wireSize() > maxSize {
		t.Fatalf("Kinesis record %d is %d bytes with its partition key", i, k.wireSize())
	}
	if i+1 < len(out.records) && out.reasons[i] == flushSize {
		next := append(append([]*userRecord(nil), k.records...), out.records[i+1].records[0])
		if n := newKinesisRecord(next).wireSize(); n <= maxSize {
			t.Fatalf("Kinesis record %d left at %d bytes, but the next record fitted (%d)", i, k.wireSize(), n)
		}
	}
}

func TestAggregatorSizeLimitIsExactAndNeverExceeded(t *testing.T) {
	const maxSize = 1000
	a, out := newTestAggregator(1<<40, maxSize)
	rng := rand.New(rand.NewPCG(5, 6))
	var in []*userRecord
	for i := range 2000 {
		u := pendingRecord(t, fmt.Sprintf("k%d", rng.IntN(40)), make([]byte, rng.IntN(120)))
		if i%3 == 0 {
			u.explicitHash = true
			u.hash, _ = ParseHashKey(fmt.Sprint(rng.IntN(30)))
		}
		in = append(in, u)
		a.put(u, 0)
	}
	a.flush()
	var got []*userRecord
	for i, k := range out.records {
		checkSizeLimit(t, out, i, maxSize)
		got = append(got, k.records...)
	}
	if len(got) != len(in) {
		t.Fatalf("%d records out of %d", len(got), len(in))
	}
	for i := range in {
		if got[i] != in[i] {
			t.Fatalf("record %d out of order", i)
		}
	}
}

func TestAggregatorSizeLimitFlushesAtEquality(t *testing.T) {
	first := pendingRecord(t, "k", make([]byte, 10))
	second := pendingRecord(t, "k", make([]byte, 10))
	exact := newKinesisRecord([]*userRecord{first, second}).wireSize() // data and partition key "a"
	a, out := newTestAggregator(100, exact)
	a.put(first, 0)
	a.put(second, 0)
	if out.count() != 1 || len(out.records[0].records) != 2 || out.reasons[0] != flushSize {
		t.Fatalf("emitted %d, reasons %v", out.count(), out.reasons)
	}
	if out.records[0].wireSize() != exact {
		t.Fatalf("%d bytes, want %d", out.records[0].wireSize(), exact)
	}
}

func TestAggregatorOversizeRecordGoesAloneRaw(t *testing.T) {
	a, out := newTestAggregator(100, 100)
	small := pendingRecord(t, "small", []byte("s"))
	big := pendingRecord(t, "big", bytes.Repeat([]byte("b"), 500))
	a.put(small, 0)
	a.put(big, 0)
	if out.count() != 2 {
		t.Fatalf("emitted %d", out.count())
	}
	for i, u := range []*userRecord{small, big} {
		k := out.records[i]
		if len(k.records) != 1 || k.records[0] != u || k.partitionKey != u.PartitionKey || !bytes.Equal(k.data, u.Data) || out.reasons[i] != flushSize {
			t.Fatalf("Kinesis record %d = %+v (%v)", i, k, out.reasons[i])
		}
	}
	// Too big to share with anything, though smaller than the limit raw:
	// it leaves at once rather than wait.
	alone := pendingRecord(t, "alone", make([]byte, 100-aggregatedOverhead-5))
	a.put(alone, 0)
	if out.count() != 3 || out.records[2].records[0] != alone || out.reasons[2] != flushSize {
		t.Fatalf("emitted %d, reasons %v", out.count(), out.reasons)
	}
	a.close()
}

func TestAggregatorHoldKeepsRecordsDueAtOnceTogether(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, out := newTestAggregator(100, 1<<20)
		due := func(key string) *userRecord {
			u := aggRecord(t, key, "", []byte("x"))
			u.deadline = instantOf(time.Now()) // due already, as retried records often are
			return u
		}
		a.hold(func() {
			for i := range 5 {
				a.put(due(fmt.Sprint(i)), 3)
				synctest.Wait() // the deadline timer gets every chance to fire
			}
			if out.count() != 0 {
				t.Fatalf("a timer emitted %d records during the hold", out.count())
			}
		})
		if out.count() != 1 || keysOf(out.records[0]) != "[0 1 2 3 4]" || out.reasons[0] != flushDeadline {
			t.Fatalf("emitted %v, reasons %v; want the five together when the hold ends", out.records, out.reasons)
		}
		// Without a hold, the same records leave as the timer finds them.
		a.put(due("a"), 3)
		synctest.Wait()
		a.put(due("b"), 3)
		synctest.Wait()
		if out.count() != 3 {
			t.Fatalf("emitted %d Kinesis records in all, want 3", out.count())
		}
		a.close()
	})
}

func TestAggregatorFlushesAtTheEarliestDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, out := newTestAggregator(100, 1<<20)
		now := time.Now()
		late := aggRecord(t, "late", "", nil)
		late.deadline = instantOf(now.Add(50 * time.Millisecond))
		early := aggRecord(t, "early", "", nil)
		early.deadline = instantOf(now.Add(10 * time.Millisecond))
		a.put(late, 3)
		a.put(early, 3)
		time.Sleep(9 * time.Millisecond)
		synctest.Wait()
		if out.count() != 0 {
			t.Fatal("flushed before the earliest deadline")
		}
		time.Sleep(2 * time.Millisecond)
		synctest.Wait()
		if out.count() != 1 || keysOf(out.records[0]) != "[late early]" || out.reasons[0] != flushDeadline {
			t.Fatalf("emitted %v, reasons %v", out.records, out.reasons)
		}
		if !out.records[0].deadline.Equal(early.deadline.time()) {
			t.Fatalf("deadline %v, want the earliest", out.records[0].deadline)
		}
		// A record alone at its deadline goes raw.
		alone := aggRecord(t, "alone", "", []byte("x"))
		alone.deadline = instantOf(time.Now().Add(time.Millisecond))
		a.put(alone, 3)
		time.Sleep(time.Millisecond)
		synctest.Wait()
		if out.count() != 2 || out.records[1].partitionKey != "alone" || out.reasons[1] != flushDeadline {
			t.Fatalf("emitted %v, reasons %v", out.records, out.reasons)
		}
		a.close()
	})
}

func TestAggregatorFlushEmitsEveryShard(t *testing.T) {
	a, out := newTestAggregator(100, 1<<20)
	for shard := range int64(5) {
		a.put(pendingRecord(t, "x", nil), shard)
		a.put(pendingRecord(t, "y", nil), shard)
	}
	if a.buffered() != 10 {
		t.Fatalf("buffered %d", a.buffered())
	}
	a.flush()
	if out.count() != 5 || a.buffered() != 0 {
		t.Fatalf("emitted %d, buffered %d", out.count(), a.buffered())
	}
	for i, r := range out.reasons {
		if r != flushManual || len(out.records[i].records) != 2 {
			t.Fatalf("Kinesis record %d: %v, %d records", i, r, len(out.records[i].records))
		}
	}
	a.flush() // nothing left: emits nothing
	if out.count() != 5 {
		t.Fatalf("empty flush emitted %d", out.count()-5)
	}
}

func TestAggregatorCloseEmitsAndPassesLaterRecordsThrough(t *testing.T) {
	a, out := newTestAggregator(100, 1<<20)
	a.put(pendingRecord(t, "x", nil), 1)
	a.put(pendingRecord(t, "y", nil), 1)
	a.close()
	if out.count() != 1 || out.reasons[0] != flushClose {
		t.Fatalf("emitted %d, reasons %v", out.count(), out.reasons)
	}
	a.put(pendingRecord(t, "known shard", nil), 1)
	a.put(pendingRecord(t, "new shard", nil), 2)
	if out.count() != 3 || out.reasons[1] != flushClose || out.reasons[2] != flushClose {
		t.Fatalf("emitted %d, reasons %v", out.count(), out.reasons)
	}
	if out.records[1].partitionKey != "known shard" || out.records[2].partitionKey != "new shard" {
		t.Fatal("records put after close were not sent alone")
	}
}

func TestAggregatorEmitsEachRecordOnceUnderConcurrency(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, out := newTestAggregator(50, 4096)
		const putters, each = 8, 2000
		rng := rand.New(rand.NewPCG(8, 9))
		in := make([][]*userRecord, putters)
		for p := range in {
			for range each {
				in[p] = append(in[p], aggRecord(t, fmt.Sprint(rng.IntN(100)), "", make([]byte, rng.IntN(200))))
			}
		}
		var wg sync.WaitGroup
		for p := range putters {
			wg.Go(func() {
				for i, u := range in[p] {
					u.deadline = instantOf(time.Now().Add(time.Duration(i%5) * time.Millisecond))
					a.put(u, int64((i+p)%4))
					switch {
					case i%500 == 0:
						a.flush()
					case i%97 == 0:
						time.Sleep(time.Millisecond)
					}
				}
			})
		}
		wg.Wait()
		a.close()
		seen := map[*userRecord]bool{}
		for _, k := range out.records {
			if len(k.records) > 1 && len(k.data) > 4096 {
				t.Fatalf("%d bytes", len(k.data))
			}
			for _, u := range k.records {
				if seen[u] {
					t.Fatal("a record was emitted twice")
				}
				seen[u] = true
			}
		}
		if len(seen) != putters*each {
			t.Fatalf("%d records emitted of %d", len(seen), putters*each)
		}
	})
}

func keysOf(k *kinesisRecord) string {
	var keys []string
	for _, u := range k.records {
		keys = append(keys, u.PartitionKey)
	}
	return fmt.Sprint(keys)
}

// benchRecords makes n user records of 200 bytes with distinct partition
// keys, to be put over and over.
func benchRecords(b *testing.B, n int) []*userRecord {
	records := make([]*userRecord, n)
	for i := range records {
		records[i] = pendingRecord(b, fmt.Sprintf("partition-key-%d", i), bytes.Repeat([]byte{byte(i)}, 200))
	}
	return records
}

// BenchmarkAggregatorPut puts 200-byte records over 4 shards with the
// default limits (51,200 bytes: about 230 records per Kinesis record); the
// cost of encoding each Kinesis record is included.
func BenchmarkAggregatorPut(b *testing.B) {
	records := benchRecords(b, 4096)
	cfg := DefaultConfig()
	a := newAggregator(&cfg, 0, func(*kinesisRecord, flushReason) {})
	b.ReportAllocs()
	b.SetBytes(200)
	i := 0
	for b.Loop() {
		a.put(records[i&4095], int64(i&3))
		i++
	}
	b.StopTimer()
	a.close()
}

func BenchmarkAggregatorPutParallel(b *testing.B) {
	records := benchRecords(b, 4096)
	cfg := DefaultConfig()
	a := newAggregator(&cfg, 0, func(*kinesisRecord, flushReason) {})
	b.ReportAllocs()
	b.SetBytes(200)
	b.RunParallel(func(pb *testing.PB) {
		i := rand.IntN(4096)
		for pb.Next() {
			a.put(records[i&4095], int64(i&3))
			i++
		}
	})
	b.StopTimer()
	a.close()
}
