package core_test

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/gokpl/gokpl/core"
	"github.com/gokpl/gokpl/core/kinesistest"
)

// The no-loss test: tens of thousands of records through an endpoint that
// fails at random in every way the fake can (whole requests, single
// entries, lost responses, resets, latency, wrong response sizes) while
// shards split and merge. Every record must resolve; every success must be
// in the store, de-aggregated, exactly where its result says and in a
// shard whose range holds its hash (what a de-aggregating consumer needs);
// every failure must say why; and a record may be stored more than once
// only where the endpoint stored a request and lost its answer, or the
// record landed in the wrong shard and was sent again.
//
// The fault sequence comes from a seed, printed by the test; set
// GOKPL_NOLOSS_SEED to replay it (the interleaving of goroutines still
// varies from run to run).

const (
	noLossRecords    = 30_000
	noLossPutters    = 6
	noLossKeysPerRun = 400
)

var noLossStreams = []string{"alpha", "beta"} // 4 shards each

// noLossRecord is one record the test put, and what it expects of it.
type noLossRecord struct {
	id      int
	stream  string
	pk, ehk string
	hash    core.HashKey
	outcome *core.Outcome
}

// noLossChaos decides the fault for each request from a seeded random
// source, and remembers which records were in requests the endpoint stored
// although the producer never heard so.
type noLossChaos struct {
	mu       sync.Mutex
	rng      *rand.Rand
	kinds    map[string]int
	unheard  map[int]int // record id → times stored in a request whose answer was lost or wrong
	requests int
}

func (c *noLossChaos) decide(req *kinesistest.Request) *kinesistest.Fault {
	c.mu.Lock()
	defer c.mu.Unlock()
	if req.Operation == "ListShards" {
		if c.rng.Float64() < 0.05 {
			c.kinds["ListShards 500"]++
			f := kinesistest.ErrorFault(500, "InternalFailure", "")
			return &f
		}
		return nil
	}
	if req.Operation != "PutRecords" {
		return nil
	}
	c.requests++
	var f kinesistest.Fault
	kind := ""
	switch x := c.rng.Float64(); {
	case x < 0.03:
		kind, f = "500", kinesistest.ErrorFault(500, "InternalFailure", "")
	case x < 0.06:
		kind, f = "503", kinesistest.ErrorFault(503, "", "")
	case x < 0.09:
		kind, f = "throttled request", kinesistest.ErrorFault(400, kinesistest.ErrorTypeProvisionedThroughputExceeded, "")
	case x < 0.10:
		kind, f = "stream updating", kinesistest.ErrorFault(400, kinesistest.ErrorTypeResourceInUse, "")
	case x < 0.18:
		kind = "entry failures"
		for i := range req.Records {
			if c.rng.Float64() < 0.3 {
				code := []string{kinesistest.ErrorTypeProvisionedThroughputExceeded, kinesistest.ErrorTypeInternalFailure}[c.rng.IntN(2)]
				f.RecordFailures = append(f.RecordFailures, kinesistest.RecordFailure{Index: i, ErrorCode: code})
			}
		}
	case x < 0.23:
		kind, f = "latency", kinesistest.Fault{Delay: time.Duration(1+c.rng.IntN(30)) * time.Millisecond}
	case x < 0.24:
		kind, f = "reset", kinesistest.Fault{ResetConnection: true}
	case x < 0.25:
		kind, f = "stored, reset", kinesistest.Fault{Applied: true, ResetConnection: true}
	case x < 0.26:
		kind, f = "stored, 500", kinesistest.Fault{Applied: true, StatusCode: 500}
	case x < 0.265:
		kind, f = "count mismatch", kinesistest.Fault{ResponseRecordsDelta: []int{-1, 1}[c.rng.IntN(2)]}
	default:
		return nil
	}
	c.kinds[kind]++
	if f.Applied || f.ResponseRecordsDelta != 0 {
		for _, e := range req.Records {
			records, err := core.Deaggregate(e.PartitionKey, e.ExplicitHashKey, e.Data)
			if err != nil {
				panic(fmt.Sprintf("a request entry does not de-aggregate: %v", err))
			}
			for _, r := range records {
				c.unheard[noLossID(r.Data)]++
			}
		}
	}
	return &f
}

// noLossPayload is the record's data: its id, then filler of a random length.
func noLossPayload(id int, rng *rand.Rand) []byte {
	b := fmt.Appendf(nil, "r%07d|", id)
	return append(b, strings.Repeat("·", rng.IntN(100))...)
}

func noLossID(data []byte) int {
	if len(data) < 9 || data[0] != 'r' || data[8] != '|' {
		return -1
	}
	id, err := strconv.Atoi(string(data[1:8]))
	if err != nil {
		return -1
	}
	return id
}

func noLossSeed(t *testing.T) uint64 {
	if s := os.Getenv("GOKPL_NOLOSS_SEED"); s != "" {
		seed, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("GOKPL_NOLOSS_SEED=%q: %v", s, err)
		}
		return seed
	}
	return uint64(time.Now().UnixNano())
}

func TestNoLossUnderFaultsAndResharding(t *testing.T) {
	seed := noLossSeed(t)
	t.Logf("seed %d", seed)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("replay with GOKPL_NOLOSS_SEED=%d go test -race -run NoLoss ./core/", seed)
		}
	})
	leaks := goleak.IgnoreCurrent()
	start := time.Now()

	shards := map[string]int{}
	for _, s := range noLossStreams {
		shards[s] = 4
	}
	srv := kinesistest.NewServer(kinesistest.Options{Streams: shards})
	chaos := &noLossChaos{rng: rand.New(rand.NewPCG(seed, 1)), kinds: map[string]int{}, unheard: map[int]int{}}
	srv.SetFaultFunc(chaos.decide)

	cfg := core.DefaultConfig()
	cfg.Region = "us-east-1"
	cfg.EndpointURL = srv.URL
	cfg.RecordMaxBufferedTime = 20 * time.Millisecond
	cfg.RecordTTL = 20 * time.Second
	// Small Kinesis records and requests: many requests, so many faults.
	cfg.AggregationMaxSize = 4096
	cfg.CollectionMaxCount = 25
	cfg.RequestTimeout = 3 * time.Second
	p, err := core.New(context.Background(), cfg, core.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}

	// Put from several goroutines, splitting a shard of alpha after a third
	// of the records and merging two shards of beta after two thirds.
	records := make([]*noLossRecord, noLossRecords)
	var next atomic.Int64
	var reshardErr error
	var wg sync.WaitGroup
	for g := range noLossPutters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(g+2)))
			for {
				id := int(next.Add(1) - 1)
				if id >= noLossRecords {
					return
				}
				switch id {
				case noLossRecords / 3:
					if err := srv.SplitShard("alpha", "shardId-000000000000", ""); err != nil {
						reshardErr = err
					}
				case 2 * noLossRecords / 3:
					if err := srv.MergeShards("beta", "shardId-000000000001", "shardId-000000000002"); err != nil {
						reshardErr = err
					}
				}
				r := &noLossRecord{id: id, stream: noLossStreams[rng.IntN(len(noLossStreams))]}
				r.pk = fmt.Sprintf("key-%d", rng.IntN(noLossKeysPerRun))
				if rng.IntN(10) == 0 {
					r.ehk = core.HashKey{Hi: rng.Uint64(), Lo: rng.Uint64()}.String()
				}
				o, err := p.Put(context.Background(), core.Record{Stream: r.stream, PartitionKey: r.pk, ExplicitHashKey: r.ehk, Data: noLossPayload(id, rng)})
				if err != nil {
					t.Errorf("put %d: %v", id, err)
					return
				}
				r.outcome = o
				if r.ehk != "" {
					r.hash, _ = core.ParseHashKey(r.ehk)
				} else {
					r.hash = core.PartitionKeyHash(r.pk)
				}
				records[id] = r
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		closeProducer(t, p)
		srv.Close()
		return
	}
	if reshardErr != nil {
		t.Errorf("resharding: %v", reshardErr)
	}
	putDone := time.Since(start)

	// Every outcome resolves within the bound.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := p.Flush(ctx); err != nil {
		pending := 0
		for _, r := range records {
			if !r.outcome.IsDone() {
				pending++
			}
		}
		t.Errorf("flush: %v; %d of %d records unresolved after %v", err, pending, noLossRecords, time.Since(start))
	}
	flushDone := time.Since(start)
	srv.SetFaultFunc(nil)
	stats := p.Stats()
	closeProducer(t, p)

	// Read back the store: every user record with where it is.
	type location struct{ shard, seq string }
	storedAt := make(map[int][]location, noLossRecords)
	ranges := map[string]map[string][2]core.HashKey{}
	for _, stream := range noLossStreams {
		ranges[stream] = map[string][2]core.HashKey{}
		for _, s := range srv.Shards(stream) {
			start, _ := core.ParseHashKey(s.StartingHashKey)
			end, _ := core.ParseHashKey(s.EndingHashKey)
			ranges[stream][s.ShardID] = [2]core.HashKey{start, end}
		}
		for _, k := range srv.Records(stream) {
			users, err := core.Deaggregate(k.PartitionKey, k.ExplicitHashKey, k.Data)
			if err != nil {
				t.Fatalf("stored record in %s/%s does not de-aggregate: %v", stream, k.ShardID, err)
			}
			for _, u := range users {
				id := noLossID(u.Data)
				if id < 0 || id >= noLossRecords || records[id].stream != stream || u.PartitionKey != records[id].pk {
					t.Fatalf("stored record %q (key %q) in %s was never put there", u.Data, u.PartitionKey, stream)
				}
				storedAt[id] = append(storedAt[id], location{k.ShardID, k.SequenceNumber})
			}
		}
	}
	srv.Close()

	var succeeded, failed, duplicates, wrongShardCopies, storedFailures, mostCopies, unheard int
	codes := map[string]int{}
	chaos.mu.Lock()
	defer chaos.mu.Unlock()
	errorsLeft := 20
	report := func(format string, args ...any) {
		if errorsLeft > 0 {
			t.Errorf(format, args...)
		}
		errorsLeft--
	}
	for _, r := range records {
		res, err := r.outcome.Result()
		if err != nil || res == nil {
			report("record %d: unresolved (%v)", r.id, err)
			continue
		}
		if len(res.Attempts()) == 0 {
			report("record %d: resolved without attempts: %+v", r.id, res)
			continue
		}
		at := storedAt[r.id]
		// Copies the producer knows of: the Wrong Shard attempts, each
		// stored where its attempt says.
		known := 0
		for _, a := range res.Attempts() {
			if a.ErrorCode != core.CodeWrongShard {
				continue
			}
			known++
			if !slices.Contains(at, location{a.ShardID, a.SequenceNumber}) {
				report("record %d: Wrong Shard attempt at %s/%s, not in the store (%v)", r.id, a.ShardID, a.SequenceNumber, at)
			}
		}
		wrongShardCopies += known
		if res.Success {
			succeeded++
			known++
			if !slices.Contains(at, location{res.ShardID, res.SequenceNumber}) {
				report("record %d: success at %s/%s, stored at %v", r.id, res.ShardID, res.SequenceNumber, at)
			}
			rg, ok := ranges[r.stream][res.ShardID]
			if !ok || r.hash.Less(rg[0]) || rg[1].Less(r.hash) {
				report("record %d: success in %s, whose range does not hold its hash %s", r.id, res.ShardID, r.hash)
			}
		} else {
			failed++
			codes[res.ErrorCode()]++
			if res.ErrorCode() == "" || res.ErrorMessage() == "" {
				report("record %d: failure without a cause: %+v", r.id, res.Attempts())
			}
			switch res.ErrorCode() {
			case core.CodeRecordCountMismatch, core.CodeExpired:
			default:
				report("record %d: failed with %s, which retrying should have overcome: %+v", r.id, res.ErrorCode(), res.Attempts())
			}
			if len(at) > 0 {
				storedFailures++
			}
		}
		extra := len(at) - known
		if extra < 0 {
			report("record %d: %d copies stored, fewer than the %d its attempts account for", r.id, len(at), known)
		}
		if extra > chaos.unheard[r.id] {
			report("record %d: %d unexplained copies (%v); it was in %d requests stored without an answer", r.id, extra, at, chaos.unheard[r.id])
		}
		duplicates += max(len(at)-1, 0)
		mostCopies = max(mostCopies, len(at))
		unheard += chaos.unheard[r.id]
	}
	if errorsLeft < 0 {
		t.Errorf("... and %d more", -errorsLeft)
	}

	if stats.RecordsPut != noLossRecords || stats.RecordsSucceeded+stats.RecordsFailed != noLossRecords || stats.OutstandingRecords != 0 {
		t.Errorf("stats: %+v", stats)
	}
	if chaos.requests < 20 || len(chaos.kinds) < 5 {
		t.Errorf("only %d requests and %d kinds of fault: the test exercised little", chaos.requests, len(chaos.kinds))
	}
	t.Logf("%d records: %d succeeded, %d failed %v (%d of them stored anyway)", noLossRecords, succeeded, failed, codes, storedFailures)
	t.Logf("%d duplicate copies: %d from Wrong Shard attempts, the rest within the %d records in requests stored without an answer; at most %d copies of one record",
		duplicates, wrongShardCopies, unheard, mostCopies)
	t.Logf("%d PutRecords requests, faults %v; %d ListShards calls", chaos.requests, chaos.kinds, srv.Requests("ListShards"))
	t.Logf("stats %+v", stats)
	t.Logf("puts done after %v, all resolved after %v, total %v", putDone.Round(time.Millisecond), flushDone.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	goleak.VerifyNone(t, leaks)
}
