package core

import (
	"runtime"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// limiterSink records what a limiter hands on.
type limiterSink struct {
	mu      sync.Mutex
	emitted []*kinesisRecord
	expired []*kinesisRecord
}

func (s *limiterSink) emit(k *kinesisRecord) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.emitted = append(s.emitted, k)
}

func (s *limiterSink) expire(k *kinesisRecord) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expired = append(s.expired, k)
}

func (s *limiterSink) emittedCount() int {
	n, _ := s.counts()
	return n
}

func (s *limiterSink) counts() (emitted, expired int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.emitted), len(s.expired)
}

// newTestLimiter returns a limiter with the default rates (1000 records/s,
// 1 MiB/s) unless adjust changes them, buckets of one second's worth (so
// that the numbers below read as rates), and a sink for its output.
func newTestLimiter(adjust func(*Config)) (*limiter, *limiterSink) {
	cfg := DefaultConfig()
	if adjust != nil {
		adjust(&cfg)
	}
	sink := &limiterSink{}
	return newLimiterWithBurst(&cfg, time.Second, sink.emit, sink.expire), sink
}

func TestLimiterDefaultBurstIsHalfASecond(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := DefaultConfig()
		sink := &limiterSink{}
		l := newLimiter(&cfg, sink.emit, sink.expire)
		for range 600 {
			l.put(testRecord(10), 0)
		}
		if n, _ := sink.counts(); n != 500 {
			t.Fatalf("admitted %d at once, want half a second of 1000/s", n)
		}
		l.close(func(*kinesisRecord) {})
	})
}

// testRecord is a Kinesis record costing size bytes (partition key "p"),
// due in a second and expiring in a minute.
func testRecord(size int) *kinesisRecord {
	now := time.Now()
	return &kinesisRecord{
		partitionKey: "p",
		data:         make([]byte, size-1),
		deadline:     now.Add(time.Second),
		expiration:   now.Add(time.Minute),
	}
}

// tick lets virtual time pass and the limiter's timer run.
func tick(d time.Duration) {
	time.Sleep(d)
	synctest.Wait()
}

func TestLimiterAdmitsBurstThenThrottles(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, sink := newTestLimiter(nil)
		for range 1100 {
			l.put(testRecord(10), 0)
		}
		if n, _ := sink.counts(); n != 1000 {
			t.Fatalf("admitted %d at once, want the burst of 1000", n)
		}
		tick(25 * time.Millisecond)
		if n, _ := sink.counts(); n != 1025 {
			t.Fatalf("admitted %d after one 25 ms drain at 1000/s, want 1025", n)
		}
		tick(75 * time.Millisecond)
		if n, _ := sink.counts(); n != 1100 {
			t.Fatalf("admitted %d after 100 ms, want 1100", n)
		}
		l.close(func(*kinesisRecord) {})
	})
}

func TestLimiterRefillsAtTheConfiguredRates(t *testing.T) {
	for _, tc := range []struct {
		name   string
		adjust func(*Config)
		size   int
		burst  int
		per    time.Duration // refill time of one record
	}{
		{"records", func(c *Config) { c.RateLimitRecordsPerSecPerShard = 100 }, 10, 100, 10 * time.Millisecond},
		{"bytes", func(c *Config) { c.RateLimitBytesPerSecPerShard = 10 << 20 }, 1 << 20, 10, 100 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				l, sink := newTestLimiter(tc.adjust)
				for range tc.burst + 20 {
					l.put(testRecord(tc.size), 3)
				}
				if n, _ := sink.counts(); n != tc.burst {
					t.Fatalf("burst admitted %d, want %d (one second of the rate)", n, tc.burst)
				}
				tick(10 * tc.per)
				if n, _ := sink.counts(); n != tc.burst+10 {
					t.Fatalf("admitted %d after %v, want %d", n, 10*tc.per, tc.burst+10)
				}
				tick(10 * tc.per)
				if n, _ := sink.counts(); n != tc.burst+20 {
					t.Fatalf("admitted %d after %v, want %d", n, 20*tc.per, tc.burst+20)
				}
				l.close(func(*kinesisRecord) {})
			})
		})
	}
}

func TestLimiterByteCapacityFitsTheLargestEntry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, sink := newTestLimiter(func(c *Config) { c.RateLimitBytesPerSecPerShard = 1000 })
		big := &kinesisRecord{partitionKey: string(make([]byte, 4*MaxPartitionKeyChars)), data: make([]byte, MaxRecordSizeLimit)}
		l.put(big, 0)
		if n, _ := sink.counts(); n != 1 {
			t.Fatal("a maximal entry does not pass a full bucket at a low byte rate")
		}
	})
}

// Entries larger than the byte bucket, which holds half a second of the
// rate, still keep to the rate: each leaves the bucket in debt.
func TestLimiterKeepsEntriesLargerThanItsBucketToTheRate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := DefaultConfig()
		cfg.RateLimitBytesPerSecPerShard = 1 << 20
		sink := &limiterSink{}
		l := newLimiter(&cfg, sink.emit, sink.expire)
		for range 30 {
			l.put(testRecord(1<<20), 0)
		}
		tick(10 * time.Second)
		// One at once, then one a second.
		if n, _ := sink.counts(); n != 11 {
			t.Fatalf("admitted %d entries of 1 MiB in 10 s at 1 MiB/s, want 11", n)
		}
		l.close(func(*kinesisRecord) {})
	})
}

func TestLimiterTakesBothStreamsAtomically(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, sink := newTestLimiter(func(c *Config) {
			c.RateLimitRecordsPerSecPerShard = 10
			c.RateLimitBytesPerSecPerShard = 10 << 20
		})
		l.put(testRecord(6<<20), 0)
		l.put(testRecord(6<<20), 0) // lacks bytes, not records
		if n, _ := sink.counts(); n != 1 {
			t.Fatalf("admitted %d, want 1", n)
		}
		s := (*l.shards.Load())[0]
		s.mu.Lock()
		records := s.bucket.records.tokens
		s.mu.Unlock()
		if records != 9 {
			t.Fatalf("record tokens = %v after a take that failed on bytes, want 9", records)
		}
		l.close(func(*kinesisRecord) {})
	})
}

func TestLimiterHoldsBackAShardButNotOthers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, sink := newTestLimiter(func(c *Config) { c.RateLimitBytesPerSecPerShard = 10 << 20 })
		l.put(testRecord(6<<20), 0)
		blocked := testRecord(6 << 20)
		l.put(blocked, 0)
		small := testRecord(10)
		small.deadline = blocked.deadline.Add(time.Millisecond)
		l.put(small, 0)
		other := testRecord(10)
		l.put(other, 1)
		tick(10 * time.Millisecond)
		sink.mu.Lock()
		got := slices.Clone(sink.emitted)
		sink.mu.Unlock()
		if len(got) != 2 || got[1] != other {
			t.Fatalf("emitted %d records; want the first and shard 1's, while shard 0's small record waits behind the blocked one", len(got))
		}
		tick(time.Second) // 6 MiB more at 10 MiB/s
		sink.mu.Lock()
		got = slices.Clone(sink.emitted)
		sink.mu.Unlock()
		if len(got) != 4 || got[2] != blocked || got[3] != small {
			t.Fatalf("after refill emitted %d records, want the blocked one then the small one", len(got))
		}
		l.close(func(*kinesisRecord) {})
	})
}

func TestLimiterAdmitsInDeadlineOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, sink := newTestLimiter(func(c *Config) { c.RateLimitRecordsPerSecPerShard = 1 })
		l.put(testRecord(10), 0) // spends the only token
		now := time.Now()
		var queued []*kinesisRecord
		for i := range 5 {
			k := testRecord(10)
			k.deadline = now.Add(time.Duration(5-i) * time.Second) // latest first
			queued = append(queued, k)
			l.put(k, 0)
		}
		tick(5 * time.Second)
		sink.mu.Lock()
		got := slices.Clone(sink.emitted[1:])
		sink.mu.Unlock()
		slices.Reverse(queued)
		if !slices.Equal(got, queued) {
			t.Fatalf("admitted %d records out of deadline order", len(got))
		}
	})
}

func TestLimiterExpiresQueuedRecords(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, sink := newTestLimiter(func(c *Config) { c.RateLimitRecordsPerSecPerShard = 1 })
		l.put(testRecord(10), 0)
		short := testRecord(10)
		short.expiration = time.Now().Add(50 * time.Millisecond)
		long := testRecord(10)
		long.deadline = short.deadline.Add(time.Millisecond)
		l.put(short, 0)
		l.put(long, 0)
		tick(50 * time.Millisecond)
		if _, n := sink.counts(); n != 0 {
			t.Fatal("expired a record at its expiration, not after it")
		}
		tick(time.Second) // short expires at the next drain; long gets the token at 1 s
		sink.mu.Lock()
		defer sink.mu.Unlock()
		if len(sink.expired) != 1 || sink.expired[0] != short {
			t.Fatalf("expired %d records, want the short-lived one", len(sink.expired))
		}
		if len(sink.emitted) != 2 || sink.emitted[1] != long {
			t.Fatalf("emitted %d records, want the first and the long-lived one", len(sink.emitted))
		}
	})
}

func TestLimiterFlushIsTokenGated(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, sink := newTestLimiter(nil)
		for range 1005 {
			l.put(testRecord(10), 0)
		}
		l.flush()
		if n, _ := sink.counts(); n != 1000 {
			t.Fatalf("flush with no tokens admitted %d, want none beyond the burst", n-1000)
		}
		time.Sleep(3 * time.Millisecond) // less than the drain interval
		l.flush()
		if n, _ := sink.counts(); n != 1003 {
			t.Fatalf("flush after 3 ms at 1000/s admitted %d, want 3", n-1000)
		}
		l.close(func(*kinesisRecord) {})
	})
}

func TestLimiterCloseHandsBackEverything(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, sink := newTestLimiter(func(c *Config) { c.RateLimitRecordsPerSecPerShard = 1 })
		now := time.Now()
		want := map[int64][]*kinesisRecord{}
		for shard := range int64(3) {
			l.put(testRecord(10), shard)
			for i := range 4 {
				k := testRecord(10)
				k.deadline = now.Add(time.Duration(4-i) * time.Second)
				l.put(k, shard)
				want[shard] = append([]*kinesisRecord{k}, want[shard]...)
			}
		}
		var closed []*kinesisRecord
		l.close(func(k *kinesisRecord) { closed = append(closed, k) })
		if len(closed) != 12 {
			t.Fatalf("close handed back %d records, want 12", len(closed))
		}
		for shard, records := range want {
			var got []*kinesisRecord
			for _, k := range closed {
				if slices.Contains(records, k) {
					got = append(got, k)
				}
			}
			if !slices.Equal(got, records) {
				t.Errorf("shard %d: close handed back its records out of deadline order", shard)
			}
		}
		late := testRecord(10)
		l.put(late, 7)
		bypass := testRecord(10)
		l.put(bypass, -1)
		if len(closed) != 14 || closed[12] != late || closed[13] != bypass {
			t.Fatal("records put after close do not go to close's function")
		}
		l.close(func(*kinesisRecord) { t.Error("second close handed a record") })
		tick(time.Hour)
		if n, m := sink.counts(); n != 3 || m != 0 {
			t.Fatalf("after close: %d emitted, %d expired; want only the 3 admitted before", n, m)
		}
	})
}

func TestLimiterBypassesRecordsWithoutShard(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, sink := newTestLimiter(func(c *Config) { c.RateLimitRecordsPerSecPerShard = 1 })
		for range 10 {
			l.put(testRecord(10), -1)
		}
		if n, _ := sink.counts(); n != 10 {
			t.Fatalf("emitted %d of 10 records without a shard", n)
		}
		if len(*l.shards.Load()) != 0 {
			t.Fatal("records without a shard created a bucket")
		}
	})
}

// timerIdle reports whether the limiter's drain timer is not running.
func timerIdle(l *limiter) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return !l.armed && (l.timer == nil || !l.timer.Stop())
}

func TestLimiterArmsNoTimerWhenIdle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, sink := newTestLimiter(nil)
		for range 1000 {
			l.put(testRecord(10), 0)
		}
		if l.timer != nil {
			t.Fatal("admitting at once created a timer")
		}
		for range 50 {
			l.put(testRecord(10), 0)
		}
		if timerIdle(l) {
			t.Fatal("no timer runs while records wait")
		}
		tick(50 * time.Millisecond)
		if n, _ := sink.counts(); n != 1050 {
			t.Fatalf("admitted %d, want 1050", n)
		}
		if !timerIdle(l) {
			t.Fatal("the timer still runs with no records waiting")
		}

		for range 10 {
			l.put(testRecord(10), 0)
		}
		tick(5 * time.Millisecond)
		l.flush() // empties the queue before the timer fires
		if n, _ := sink.counts(); n != 1055 {
			t.Fatalf("admitted %d, want 1055", n)
		}
		tick(10 * time.Millisecond)
		l.flush()
		if !timerIdle(l) {
			t.Fatal("the timer still runs after a flush emptied the queues")
		}
	})
}

func TestLimiterHandsEachRecordOnceUnderConcurrency(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, sink := newTestLimiter(func(c *Config) { c.RateLimitRecordsPerSecPerShard = 200 })
		const goroutines, each = 8, 300
		var wg sync.WaitGroup
		for g := range goroutines {
			wg.Go(func() {
				for i := range each {
					k := testRecord(10)
					k.expiration = time.Now().Add(time.Duration(i%7) * time.Second)
					l.put(k, int64((g+i)%4))
					if i%50 == 0 {
						l.flush()
					}
					time.Sleep(time.Millisecond)
				}
			})
		}
		wg.Wait()
		tick(2 * time.Second)
		var closed []*kinesisRecord
		l.close(func(k *kinesisRecord) { closed = append(closed, k) })
		seen := map[*kinesisRecord]int{}
		for _, k := range slices.Concat(sink.emitted, sink.expired, closed) {
			seen[k]++
		}
		if len(seen) != goroutines*each {
			t.Fatalf("%d distinct records came out, want %d", len(seen), goroutines*each)
		}
		for _, n := range seen {
			if n != 1 {
				t.Fatal("a record came out more than once")
			}
		}
		if len(sink.expired) == 0 || len(closed) == 0 {
			t.Logf("emitted %d, expired %d, closed %d", len(sink.emitted), len(sink.expired), len(closed))
		}
	})
}

func TestLimiterTimerDoesNotPileUpBehindABlockedDrain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := DefaultConfig()
		cfg.RateLimitRecordsPerSecPerShard = 1
		stuck := testRecord(10)
		unblock := make(chan struct{})
		var mu sync.Mutex
		emitted := 0
		l := newLimiter(&cfg, func(k *kinesisRecord) {
			if k == stuck {
				<-unblock // the downstream is full for a while
			}
			mu.Lock()
			emitted++
			mu.Unlock()
		}, func(*kinesisRecord) {})
		l.put(testRecord(10), 0)
		l.put(stuck, 0)
		before := runtime.NumGoroutine()
		tick(time.Second) // the timer's drain admits stuck and blocks
		for range 30 {
			l.put(testRecord(10), 0) // waits, and would re-arm a disarmed timer
			tick(25 * time.Millisecond)
		}
		if n := runtime.NumGoroutine() - before; n > 2 {
			t.Fatalf("%d more goroutines while a drain was blocked", n)
		}
		close(unblock)
		tick(time.Minute)
		mu.Lock()
		defer mu.Unlock()
		if emitted != 32 {
			t.Fatalf("emitted %d records, want 32", emitted)
		}
		if !timerIdle(l) {
			t.Fatal("the timer still runs with no records waiting")
		}
	})
}

func BenchmarkLimiterPut(b *testing.B) {
	l := newAmpleLimiter()
	k := testRecord(100)
	b.ReportAllocs()
	for b.Loop() {
		l.put(k, 1)
	}
}

func BenchmarkLimiterPutParallel(b *testing.B) {
	l := newAmpleLimiter()
	b.ReportAllocs()
	var next int64
	var mu sync.Mutex
	b.RunParallel(func(pb *testing.PB) {
		mu.Lock()
		shard := next % 16
		next++
		mu.Unlock()
		k := testRecord(100)
		for pb.Next() {
			l.put(k, shard)
		}
	})
}

// newAmpleLimiter never runs out of tokens and discards what it admits.
func newAmpleLimiter() *limiter {
	cfg := DefaultConfig()
	cfg.RateLimitRecordsPerSecPerShard = 1e12
	cfg.RateLimitBytesPerSecPerShard = 1e15
	return newLimiter(&cfg, func(*kinesisRecord) {}, func(*kinesisRecord) { panic("expired with ample tokens") })
}
