package core

// Internal counterparts of the edge-case tests in edgecases_test.go, for the
// cases that live inside one stage: the shard map's lookup, paging, backoff
// and invalidation rules, the retrier's hash-range decisions, the token
// bucket and limiter expiry. Timers run on virtual time (testing/synctest).

import (
	"context"
	"fmt"
	"math/big"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// ecShardList splits the hash-key space evenly into n shards numbered from
// first.
func ecShardList(n, first int) []types.Shard {
	space := new(big.Int).Lsh(big.NewInt(1), 128)
	var shards []types.Shard
	for i := range n {
		start := new(big.Int).Div(new(big.Int).Mul(space, big.NewInt(int64(i))), big.NewInt(int64(n)))
		end := new(big.Int).Div(new(big.Int).Mul(space, big.NewInt(int64(i+1))), big.NewInt(int64(n)))
		end.Sub(end, big.NewInt(1))
		shards = append(shards, types.Shard{
			ShardId:      aws.String(fmt.Sprintf("shardId-%012d", first+i)),
			HashKeyRange: &types.HashKeyRange{StartingHashKey: aws.String(start.String()), EndingHashKey: aws.String(end.String())},
		})
	}
	return shards
}

// ecStartMap starts the map of stream "s" over c. Every test must call the
// returned stop before it ends; stop waits for the map's goroutine.
func ecStartMap(c *fakeShards, pageSize int32) (*shardMap, func()) {
	m := newShardMap(c, streamID{key: "s", name: "s"}, nil)
	if pageSize > 0 {
		m.pageSize = pageSize
	}
	ctx, cancel := context.WithCancel(context.Background())
	m.start(ctx)
	return m, func() {
		cancel()
		<-m.stopped()
	}
}

func ecMustKey(t *testing.T, s string) HashKey {
	t.Helper()
	h, err := ParseHashKey(s)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func ecPlusOne(h HashKey) HashKey {
	if h.Lo == ^uint64(0) {
		return HashKey{Hi: h.Hi + 1}
	}
	return HashKey{Hi: h.Hi, Lo: h.Lo + 1}
}

func TestEdgeCase02ShardLookupBoundaryInTheMap(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		shards := ecShardList(3, 0)
		c := &fakeShards{shards: shards}
		m, stop := ecStartMap(c, 0)
		defer stop()
		<-m.ready()
		for i, s := range shards {
			start, end := ecMustKey(t, *s.HashKeyRange.StartingHashKey), ecMustKey(t, *s.HashKeyRange.EndingHashKey)
			for _, h := range []HashKey{start, end} {
				if id, n, ok := m.lookup(h); !ok || id != *s.ShardId || n != int64(i) {
					t.Errorf("lookup(%s) = %s, %d, %v; want %s: a shard holds its starting and ending hash keys", h, id, n, ok, *s.ShardId)
				}
			}
			if i+1 < len(shards) {
				next := *shards[i+1].ShardId
				if id, _, ok := m.lookup(ecPlusOne(end)); !ok || id != next {
					t.Errorf("lookup(ending hash key of %s + 1) = %s, %v; want %s", *s.ShardId, id, ok, next)
				}
			}
		}
		maxKey := HashKey{Hi: ^uint64(0), Lo: ^uint64(0)}
		if id, _, ok := m.lookup(maxKey); !ok || id != *shards[2].ShardId {
			t.Errorf("lookup(2^128-1) = %s, %v", id, ok)
		}
	})
}

func TestEdgeCase08ShardMapServedWhileRefreshing(t *testing.T) {
	// The KPL clears its map when a refresh starts and sends every record
	// unaggregated until the refresh ends, and again after a failed one.
	// gokpl keeps answering from the previous map while a refresh runs and
	// after it fails (right for every shard that did not change), and
	// replaces it in one step.
	synctest.Test(t, func(t *testing.T) {
		initial := ecShardList(2, 0)
		c := &fakeShards{shards: initial}
		m, stop := ecStartMap(c, 0)
		defer stop()
		<-m.ready()
		low := HashKey{Lo: 1}
		if id, _, ok := m.lookup(low); !ok || id != "shardId-000000000000" {
			t.Fatalf("lookup = %s, %v", id, ok)
		}

		// Shard 0 closes and shard 2 takes its range; the refresh hangs,
		// then fails.
		c.set([]types.Shard{ecShardList(2, 2)[0], initial[1]})
		release := c.holdCalls()
		time.Sleep(time.Millisecond)
		m.invalidate(time.Now(), "shardId-000000000000")
		synctest.Wait()
		if id, _, ok := m.lookup(low); !ok || id != "shardId-000000000000" {
			t.Errorf("while refreshing, lookup = %s, %v; want the previous map's answer", id, ok)
		}
		c.failNext(1)
		release()
		synctest.Wait()
		if id, _, ok := m.lookup(low); !ok || id != "shardId-000000000000" {
			t.Errorf("after a failed refresh, lookup = %s, %v; want the previous map's answer", id, ok)
		}

		// The retry after the backoff succeeds: the new map replaces the old.
		time.Sleep(shardMapMinBackoff)
		synctest.Wait()
		if id, _, ok := m.lookup(low); !ok || id != "shardId-000000000002" {
			t.Errorf("after the refresh, lookup = %s, %v; want shardId-000000000002", id, ok)
		}
	})
}

func TestEdgeCase09ListShardsPagesAndBacksOff(t *testing.T) {
	t.Run("pages", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			c := &fakeShards{shards: ecShardList(5, 0)}
			m, stop := ecStartMap(c, 2)
			defer stop()
			<-m.ready()
			calls := c.callLog()
			if len(calls) != 3 {
				t.Fatalf("%d calls for 5 shards in pages of 2, want 3", len(calls))
			}
			first := calls[0].in
			if aws.ToString(first.StreamName) != "s" || first.ShardFilter == nil || first.ShardFilter.Type != types.ShardFilterTypeAtLatest || aws.ToInt32(first.MaxResults) != 2 || first.NextToken != nil {
				t.Errorf("first call = %+v; want the stream name, the AT_LATEST filter and no token", first)
			}
			for i, call := range calls[1:] {
				if call.in.NextToken == nil || call.in.StreamName != nil || call.in.ShardFilter != nil {
					t.Errorf("call %d = %+v; want a NextToken without StreamName or ShardFilter, which the service refuses together", i+2, call.in)
				}
			}
			for i := range 5 {
				id := fmt.Sprintf("shardId-%012d", i)
				if _, _, ok := m.hashRange(id); !ok {
					t.Errorf("%s from page %d is missing", id, i/2+1)
				}
			}
		})
	})

	t.Run("backoff", func(t *testing.T) {
		// The KPL waits 1 s after a failed listing, then 1.5 times longer
		// each time up to 30 s, and starts again from 1 s after a success.
		// gokpl does the same with jitter: each wait falls in the upper
		// half of the KPL's, so that many producers do not list in step.
		synctest.Test(t, func(t *testing.T) {
			c := &fakeShards{shards: ecShardList(2, 0)}
			c.failNext(12)
			m, stop := ecStartMap(c, 0)
			defer stop()
			<-m.ready()
			calls := c.callLog()
			if len(calls) != 13 {
				t.Fatalf("%d calls, want 12 failures and a success", len(calls))
			}
			want := time.Second
			for i := 1; i < len(calls); i++ {
				gap := calls[i].at.Sub(calls[i-1].at)
				if gap < want/2 || gap > want {
					t.Errorf("wait %d = %v, want within [%v, %v]", i, gap, want/2, want)
				}
				want = min(time.Duration(float64(want)*1.5), 30*time.Second)
			}

			// After the success, a refresh that fails twice starts from 1 s.
			time.Sleep(time.Minute)
			c.failNext(2)
			m.invalidate(time.Now(), "")
			time.Sleep(time.Minute)
			synctest.Wait()
			calls = c.callLog()[13:]
			if len(calls) != 3 {
				t.Fatalf("%d calls for the refresh, want 3", len(calls))
			}
			for i, want := range []time.Duration{time.Second, 1500 * time.Millisecond} {
				if gap := calls[i+1].at.Sub(calls[i].at); gap < want/2 || gap > want {
					t.Errorf("after a success, wait %d = %v, want within [%v, %v]", i+1, gap, want/2, want)
				}
			}
		})
	})
}

func TestEdgeCase10InvalidateRules(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		initial := ecShardList(2, 0)
		c := &fakeShards{shards: initial}
		release := c.holdCalls()
		m, stop := ecStartMap(c, 0)
		defer stop()
		calls := func() int { synctest.Wait(); return len(c.callLog()) }

		// Before the first map: ignored (the first listing is running).
		synctest.Wait()
		m.invalidate(time.Now().Add(time.Second), "")
		listed := time.Now()
		release()
		<-m.ready()
		if n := calls(); n != 1 {
			t.Fatalf("%d calls, want 1: an invalidation before the first map is ignored", n)
		}

		// From a request that started before the current map's listing: ignored.
		time.Sleep(time.Second)
		m.invalidate(listed, "shardId-000000000000")
		m.invalidate(listed.Add(-time.Second), "")
		if n := calls(); n != 1 {
			t.Errorf("%d calls, want 1: the map is newer than the request", n)
		}

		// For a shard the map does not know: ignored.
		m.invalidate(time.Now(), "shardId-000000000099")
		if n := calls(); n != 1 {
			t.Errorf("%d calls, want 1: the predicted shard is not in the map", n)
		}

		// For an open shard: accepted. Shard 0 has closed meanwhile, and
		// shard 2 took its range.
		c.set([]types.Shard{ecShardList(2, 2)[0], initial[1]})
		m.invalidate(time.Now(), "shardId-000000000000")
		if n := calls(); n != 2 {
			t.Fatalf("%d calls, want 2: the predicted shard is open", n)
		}

		// For a shard the last listing found closed: ignored.
		time.Sleep(time.Second)
		m.invalidate(time.Now(), "shardId-000000000000")
		if n := calls(); n != 2 {
			t.Errorf("%d calls, want 2: the predicted shard is already known closed", n)
		}

		// While a refresh runs, further invalidations are ignored: one
		// refresh serves them all.
		release = c.holdCalls()
		m.invalidate(time.Now(), "shardId-000000000001")
		synctest.Wait()
		for _, predicted := range []string{"shardId-000000000001", "shardId-000000000002", ""} {
			m.invalidate(time.Now(), predicted)
		}
		release()
		if n := calls(); n != 3 {
			t.Errorf("%d calls, want 3: invalidations during a refresh are folded into it", n)
		}
	})
}

// ecOracle is a shardOracle with fixed ranges that counts invalidations.
type ecOracle struct {
	mu          sync.Mutex
	ranges      map[string][2]HashKey
	invalidated []string
}

func (o *ecOracle) hashRange(id string) (start, end HashKey, ok bool) {
	r, ok := o.ranges[id]
	return r[0], r[1], ok
}

func (o *ecOracle) invalidate(_ time.Time, predicted string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.invalidated = append(o.invalidated, predicted)
}

// ecRetrierSink collects what a retrier finishes and sends again.
type ecRetrierSink struct {
	mu        sync.Mutex
	finished  map[*userRecord]RecordResult
	sentAgain []*userRecord
}

func newECRetrier(adjust func(*Config)) (*retrier, *ecRetrierSink) {
	cfg := DefaultConfig()
	if adjust != nil {
		adjust(&cfg)
	}
	sink := &ecRetrierSink{finished: map[*userRecord]RecordResult{}}
	return newRetrier(&cfg, sink), sink
}

func (s *ecRetrierSink) fail(u *userRecord, last ...Attempt) {
	for _, a := range last {
		u.addAttempt(a)
	}
	s.finish(u, historyResult(u.attempts()))
}

func (s *ecRetrierSink) finish(u *userRecord, r RecordResult) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.finished[u]; dup {
		panic("a record finished twice")
	}
	s.finished[u] = r
}

func (s *ecRetrierSink) finishDelivered(records []*userRecord, start, end time.Time, shardID, sequenceNumber string) {
	for _, u := range records {
		s.finish(u, deliveredResult(u.attempts(), start, end, shardID, sequenceNumber))
	}
}

func (s *ecRetrierSink) again(records []*userRecord) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sentAgain = append(s.sentAgain, records...)
}

// ecUserRecord is a user record with the given hash, predicted for shard
// number predicted, due in a second and expiring after ttl.
func ecUserRecord(name string, hash HashKey, predicted int64, ttl time.Duration) *userRecord {
	now := time.Now()
	u := &userRecord{
		PartitionKey: name,
		Data:         []byte(name),
		explicitHash: true,
		hash:         hash,
		arrival:      instantOf(now),
		deadline:     instantOf(now.Add(time.Second)),
		expiration:   instantOf(now.Add(ttl)),
		predicted:    &shardEntry{id: fmt.Sprintf("shardId-%012d", predicted), shard: predicted},
		outcome:      &Outcome{},
	}
	return u
}

// ecLanded is a completed request whose entries all landed in shardID.
func ecLanded(oracle shardOracle, shardID string, ks ...*kinesisRecord) *putRequest {
	r := &putRequest{stream: streamID{key: "s", name: "s"}, records: ks, shards: oracle, start: time.Now(), end: time.Now(), output: &kinesis.PutRecordsOutput{}}
	for i := range ks {
		r.output.Records = append(r.output.Records, types.PutRecordsResultEntry{ShardId: aws.String(shardID), SequenceNumber: aws.String(fmt.Sprint(i + 1))})
	}
	return r
}

func TestEdgeCase10InvalidateOncePerKinesisRecord(t *testing.T) {
	// Two aggregated records, each with two records outside the shard they
	// landed in: the retrier asks for a refresh once per Kinesis record, not
	// once per user record (the map then folds the two into one refresh).
	synctest.Test(t, func(t *testing.T) {
		rt, sink := newECRetrier(nil)
		oracle := &ecOracle{ranges: map[string][2]HashKey{"shardId-000000000001": {{}, {Hi: 1 << 62}}}}
		var ks []*kinesisRecord
		for k := range 2 {
			var records []*userRecord
			for i, hi := range []uint64{1, 2, 1 << 63, 1<<63 + 1} {
				records = append(records, ecUserRecord(fmt.Sprint(k, i), HashKey{Hi: hi}, 0, time.Minute))
			}
			ks = append(ks, newKinesisRecord(records))
		}
		rt.handle(ecLanded(oracle, "shardId-000000000001", ks...))
		time.Sleep(time.Minute)
		synctest.Wait()
		if len(oracle.invalidated) != 2 {
			t.Errorf("%d invalidations for 2 Kinesis records, want 2", len(oracle.invalidated))
		}
		if len(sink.finished) != 4 || len(sink.sentAgain) != 4 {
			t.Errorf("%d finished, %d sent again; want 4 and 4", len(sink.finished), len(sink.sentAgain))
		}
		rt.close()
	})
}

func TestEdgeCase11SuccessInsideTheActualShardsRange(t *testing.T) {
	low, high := HashKey{Hi: 1}, HashKey{Hi: 1 << 63}
	lowRange := [2]HashKey{{}, {Hi: 1<<63 - 1, Lo: ^uint64(0)}}
	cases := []struct {
		name       string
		predicted  int64
		known      bool
		wantOK     []bool // per record: low (routed), low, high
		invalidate bool
	}{
		// Predicted 0, landed in child 1 whose range the map knows: records
		// inside it succeed, the others retry as Wrong Shard; predicted <
		// actual also asks for a refresh, as in the KPL.
		{"landed in a known newer shard", 0, true, []bool{true, true, false}, true},
		// The actual shard's range is unknown: only the first record, whose
		// hash routed the aggregate, succeeds (gokpl: it landed exactly
		// where the service routes its hash; the KPL retries it too).
		{"landed in an unknown shard", 0, false, []bool{true, false, false}, true},
		// Predicted newer than actual (a stream re-created with reused
		// ids): records inside the known range succeed, and the map is
		// refreshed because some did not, whatever the ids' order.
		{"landed in a known older shard", 5, true, []bool{true, true, false}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				rt, sink := newECRetrier(nil)
				oracle := &ecOracle{ranges: map[string][2]HashKey{}}
				if tc.known {
					oracle.ranges["shardId-000000000001"] = lowRange
				}
				records := []*userRecord{
					ecUserRecord("a", low, tc.predicted, time.Minute),
					ecUserRecord("b", ecPlusOne(low), tc.predicted, time.Minute),
					ecUserRecord("c", high, tc.predicted, time.Minute),
				}
				rt.handle(ecLanded(oracle, "shardId-000000000001", newKinesisRecord(records)))
				time.Sleep(time.Minute)
				synctest.Wait()
				for i, u := range records {
					r, finished := sink.finished[u]
					switch {
					case tc.wantOK[i] && (!finished || !r.Success || r.ShardID != "shardId-000000000001"):
						t.Errorf("record %d: finished %v, %+v; want success in shardId-000000000001", i, finished, r)
					case !tc.wantOK[i] && (finished || len(u.attempts()) != 1 || u.attempts()[0].ErrorCode != CodeWrongShard || u.attempts()[0].ShardID != "shardId-000000000001"):
						t.Errorf("record %d: finished %v, attempts %+v; want a Wrong Shard attempt and a retry", i, finished, u.attempts())
					}
				}
				if got := len(oracle.invalidated) > 0; got != tc.invalidate {
					t.Errorf("invalidated %v, want %v", oracle.invalidated, tc.invalidate)
				}
				rt.close()
			})
		})
	}

	t.Run("all inside a known shard, predicted newer", func(t *testing.T) {
		// All records inside the actual shard's range: every one succeeds;
		// with the predicted shard newer than the actual one the KPL does
		// not refresh, and neither does gokpl, since nothing was misplaced.
		synctest.Test(t, func(t *testing.T) {
			rt, sink := newECRetrier(nil)
			oracle := &ecOracle{ranges: map[string][2]HashKey{"shardId-000000000001": lowRange}}
			records := []*userRecord{ecUserRecord("a", low, 5, time.Minute), ecUserRecord("b", ecPlusOne(low), 5, time.Minute)}
			rt.handle(ecLanded(oracle, "shardId-000000000001", newKinesisRecord(records)))
			for i, u := range records {
				if r := sink.finished[u]; !r.Success {
					t.Errorf("record %d: %+v", i, r)
				}
			}
			if len(oracle.invalidated) != 0 {
				t.Errorf("invalidated %v", oracle.invalidated)
			}
			rt.close()
		})
	})
}

func TestEdgeCase12TokenBucket(t *testing.T) {
	t.Run("both streams or nothing", func(t *testing.T) {
		now := time.Now()
		b := newTokenBucket(now, 10, 1000, 10, 1000)
		if !b.tryTake(now, 1, 900) {
			t.Fatal("a full bucket refused 1 record and 900 bytes")
		}
		if b.tryTake(now, 1, 200) {
			t.Fatal("took 200 bytes with 100 left")
		}
		// The refused take left the records alone: 9 remain, with 100 bytes.
		if !b.tryTake(now, 9, 100) || b.tryTake(now, 1, 0) {
			t.Fatal("a refused take consumed record tokens")
		}
	})

	// put admits records of size bytes to shard 0 until one is queued, and
	// returns how many passed at once.
	burst := func(l *limiter, sink *limiterSink, size int) int {
		for i := 0; ; i++ {
			l.put(ecKinesisRecord(size), 0)
			if sink.emittedCount() == i {
				return i
			}
		}
	}

	t.Run("capacity", func(t *testing.T) {
		// The KPL's bucket holds 1,000 records and 10 MiB whatever the
		// rate; gokpl's holds limiterBurst's worth of the configured rates
		// (by default the service's 1,000 records and 1 MiB per second per
		// shard), since a larger burst only earns throttling from the shard.
		synctest.Test(t, func(t *testing.T) {
			cfg := DefaultConfig()
			l, sink := newECLimiter(nil)
			if n, want := burst(l, sink, 10), int(cfg.RateLimitRecordsPerSecPerShard*limiterBurst.Seconds()); n != want {
				t.Errorf("%d small records passed at once, want %d", n, want)
			}
			l.close(func(*kinesisRecord) {})
			l, sink = newECLimiter(nil)
			if n, want := burst(l, sink, 100<<10), int(cfg.RateLimitBytesPerSecPerShard*limiterBurst.Seconds())/(100<<10); n != want {
				t.Errorf("%d records of 100 KiB passed at once, want %d", n, want)
			}
			l.close(func(*kinesisRecord) {})
		})
	})

	t.Run("rate", func(t *testing.T) {
		// The KPL scales its refill rates by rate_limit (a percentage of
		// the service limits) and leaves the capacities alone; gokpl takes
		// per-shard rates and scales the capacity with them.
		synctest.Test(t, func(t *testing.T) {
			l, sink := newECLimiter(func(c *Config) { c.RateLimitRecordsPerSecPerShard = 2000 })
			capacity := int(2000 * limiterBurst.Seconds())
			if n := burst(l, sink, 10); n != capacity {
				t.Errorf("%d records passed at once, want %d", n, capacity)
			}
			for range 1000 {
				l.put(ecKinesisRecord(10), 0)
			}
			time.Sleep(100 * time.Millisecond)
			synctest.Wait()
			if n := sink.emittedCount(); n < capacity+190 || n > capacity+210 {
				t.Errorf("%d passed after 100 ms at 2000 records/s, want about %d", n, capacity+200)
			}
			l.close(func(*kinesisRecord) {})
		})
	})

	t.Run("head of line per shard", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			l, sink := newECLimiter(func(c *Config) { c.RateLimitBytesPerSecPerShard = 1000 })
			big, mid, small, other := ecKinesisRecord(900), ecKinesisRecord(500), ecKinesisRecord(50), ecKinesisRecord(500)
			l.put(big, 0)   // passes, 100 bytes left
			l.put(mid, 0)   // waits for 500
			l.put(small, 0) // would fit, but waits behind mid
			l.put(other, 1) // another shard: passes
			if got := sink.order(); !slices.Equal(got, []*kinesisRecord{big, other}) {
				t.Fatalf("passed %d records at once, want big and the other shard's", len(got))
			}
			time.Sleep(time.Second)
			synctest.Wait()
			if got := sink.order(); !slices.Equal(got, []*kinesisRecord{big, other, mid, small}) {
				t.Errorf("after a second, order = %d records, want mid before small", len(got))
			}
			l.close(func(*kinesisRecord) {})
		})
	})
}

func (s *limiterSink) order() []*kinesisRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.emitted)
}

func newECLimiter(adjust func(*Config)) (*limiter, *limiterSink) {
	cfg := DefaultConfig()
	if adjust != nil {
		adjust(&cfg)
	}
	sink := &limiterSink{}
	return newLimiter(&cfg, sink.emit, sink.expire), sink
}

// ecKinesisRecord is a Kinesis record costing size bytes, due in a second
// and expiring in a minute.
func ecKinesisRecord(size int) *kinesisRecord {
	now := time.Now()
	return &kinesisRecord{
		partitionKey: "p",
		data:         make([]byte, size-1),
		deadline:     now.Add(time.Second),
		expiration:   now.Add(time.Minute),
	}
}

func TestEdgeCase13KinesisRecordExpiresAtItsOldestRecord(t *testing.T) {
	// A Kinesis record waiting in the limiter expires at its oldest user
	// record's expiration. That record fails with Expired; a younger one
	// gets the same Expired attempt but goes back for another try, with
	// the retry deadline, as in the KPL.
	synctest.Test(t, func(t *testing.T) {
		rt, sink := newECRetrier(nil)
		cfg := DefaultConfig()
		cfg.RateLimitRecordsPerSecPerShard = 0.001 // one token, refilled after 1000 s
		l := newLimiter(&cfg, func(*kinesisRecord) {}, rt.expiredInLimiter)
		l.put(ecKinesisRecord(10), 0) // takes the token
		old := ecUserRecord("old", HashKey{Lo: 1}, 0, time.Second)
		young := ecUserRecord("young", HashKey{Lo: 2}, 0, 10*time.Second)
		k := newKinesisRecord([]*userRecord{young, old})
		if !k.expiration.Equal(old.expiration.time()) {
			t.Fatalf("the Kinesis record expires at %v, want its oldest record's %v", k.expiration, old.expiration)
		}
		l.put(k, 0)
		time.Sleep(time.Second + 2*cfg.DrainInterval)
		synctest.Wait()
		r, finished := sink.finished[old]
		if !finished || r.Success || r.ErrorCode() != CodeExpired || len(r.Attempts()) != 1 || r.Attempts()[0].StartedAt != r.Attempts()[0].EndedAt {
			t.Errorf("old record: finished %v, %+v; want one synthetic Expired attempt", finished, r)
		}
		if _, done := sink.finished[young]; done || len(sink.sentAgain) != 1 || sink.sentAgain[0] != young {
			t.Fatalf("the young record was not sent again")
		}
		if len(young.attempts()) != 1 || young.attempts()[0].ErrorCode != CodeExpired {
			t.Errorf("young record attempts = %+v, want one Expired attempt", young.attempts())
		}
		if want := time.Now().Add(cfg.RetryDeadline); young.deadline.time().After(want) || young.deadline.time().Before(want.Add(-2*cfg.DrainInterval)) {
			t.Errorf("young record's deadline = %v, want about now + retry_deadline (%v)", young.deadline, want)
		}
		l.close(func(*kinesisRecord) {})
		rt.close()
	})
}
