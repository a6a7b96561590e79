package core

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/gokpl/gokpl/core/kinesistest"
)

// fakeShards is a Client whose ListShards pages through a settable list of
// open shards, fails the next calls on request, and can hold calls until
// released. It records every call.
type fakeShards struct {
	mu     sync.Mutex
	shards []types.Shard
	fails  int           // fail this many next calls
	hold   chan struct{} // when set, calls wait for it to close
	calls  []listCall
}

type listCall struct {
	at time.Time
	in *kinesis.ListShardsInput
}

func (f *fakeShards) PutRecords(context.Context, *kinesis.PutRecordsInput, ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error) {
	return nil, errors.New("fakeShards: no PutRecords")
}

func (f *fakeShards) ListShards(ctx context.Context, in *kinesis.ListShardsInput, _ ...func(*kinesis.Options)) (*kinesis.ListShardsOutput, error) {
	f.mu.Lock()
	f.calls = append(f.calls, listCall{at: time.Now(), in: in})
	hold := f.hold
	f.mu.Unlock()
	if hold != nil {
		select {
		case <-hold:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fails > 0 {
		f.fails--
		return nil, errors.New("LimitExceededException: Rate exceeded for stream s")
	}
	from, _ := strconv.Atoi(aws.ToString(in.NextToken))
	to := min(from+int(aws.ToInt32(in.MaxResults)), len(f.shards))
	out := &kinesis.ListShardsOutput{Shards: f.shards[from:to]}
	if to < len(f.shards) {
		out.NextToken = aws.String(strconv.Itoa(to))
	}
	return out, nil
}

func (f *fakeShards) set(shards []types.Shard) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.shards = shards
}

func (f *fakeShards) failNext(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fails = n
}

func (f *fakeShards) holdCalls() (release func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hold = make(chan struct{})
	hold := f.hold
	return func() {
		f.mu.Lock()
		f.hold = nil
		f.mu.Unlock()
		close(hold)
	}
}

func (f *fakeShards) callLog() []listCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

func (f *fakeShards) callTimes() []time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	var at []time.Time
	for _, c := range f.calls {
		at = append(at, c.at)
	}
	return at
}

// evenShards splits the hash-key space evenly into n shards numbered from
// first.
func evenShards(n, first int) []types.Shard {
	space := new(big.Int).Lsh(big.NewInt(1), 128)
	var shards []types.Shard
	for i := range n {
		start := new(big.Int).Div(new(big.Int).Mul(space, big.NewInt(int64(i))), big.NewInt(int64(n)))
		end := new(big.Int).Div(new(big.Int).Mul(space, big.NewInt(int64(i+1))), big.NewInt(int64(n)))
		shards = append(shards, shard(first+i, start.String(), end.Sub(end, big.NewInt(1)).String()))
	}
	return shards
}

func shard(number int, start, end string) types.Shard {
	return types.Shard{
		ShardId:      aws.String(fmt.Sprintf("shardId-%012d", number)),
		HashKeyRange: &types.HashKeyRange{StartingHashKey: aws.String(start), EndingHashKey: aws.String(end)},
	}
}

// startShardMap starts a map of stream "s" over f; it stops when the
// returned cancel is called, which every test must do before it ends.
func startShardMap(f *fakeShards, log *slog.Logger) (*shardMap, context.CancelFunc) {
	m := newShardMap(f, streamID{key: "s", name: "s"}, log)
	ctx, cancel := context.WithCancel(context.Background())
	m.start(ctx)
	return m, cancel
}

func mustLookup(t *testing.T, m *shardMap, h HashKey, wantID string) {
	t.Helper()
	id, n, ok := m.lookup(h)
	if !ok || id != wantID || n != shardNumber(wantID) {
		t.Errorf("lookup(%s) = %q, %d, %v; want %q", h, id, n, ok, wantID)
	}
}

var maxKey = HashKey{Hi: ^uint64(0), Lo: ^uint64(0)}

func TestShardMapLooksUpByEndingHashKey(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeShards{shards: evenShards(4, 0)}
		m := newShardMap(f, streamID{key: "s", name: "s"}, nil)
		if _, _, ok := m.lookup(HashKey{}); ok {
			t.Fatal("lookup answered before start")
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		m.start(ctx)
		<-m.ready()

		end0 := HashKey{Hi: 1<<62 - 1, Lo: ^uint64(0)}
		mustLookup(t, m, HashKey{}, "shardId-000000000000")
		mustLookup(t, m, end0, "shardId-000000000000")
		mustLookup(t, m, HashKey{Hi: 1 << 62}, "shardId-000000000001")
		mustLookup(t, m, HashKey{Hi: 3 << 62}, "shardId-000000000003")
		mustLookup(t, m, maxKey, "shardId-000000000003")
		if _, n, _ := m.lookup(HashKey{Hi: 1 << 63}); n != 2 {
			t.Errorf("shard number = %d, want 2", n)
		}
		if start, end, ok := m.hashRange("shardId-000000000000"); !ok || start != (HashKey{}) || end != end0 {
			t.Errorf("hashRange(shard 0) = %s, %s, %v", start, end, ok)
		}
	})
}

func TestShardMapFindsNoShardForUncoveredHash(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeShards{shards: []types.Shard{shard(7, "10", "20"), shard(9, "30", "40")}}
		m, cancel := startShardMap(f, nil)
		defer cancel()
		<-m.ready()
		for _, h := range []uint64{0, 9, 21, 29, 41} {
			if id, _, ok := m.lookup(HashKey{Lo: h}); ok {
				t.Errorf("lookup(%d) = %s, want none", h, id)
			}
		}
		mustLookup(t, m, HashKey{Lo: 10}, "shardId-000000000007")
		mustLookup(t, m, HashKey{Lo: 40}, "shardId-000000000009")
	})
}

func TestShardMapListsLatestShardsInPages(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeShards{shards: evenShards(5, 0)}
		m := newShardMap(f, streamID{key: "s", name: "s"}, nil)
		if m.pageSize != 1000 {
			t.Fatalf("page size = %d, want the service's maximum of 1000", m.pageSize)
		}
		m.pageSize = 2
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		m.start(ctx)
		<-m.ready()
		if len(f.calls) != 3 {
			t.Fatalf("%d ListShards calls for 5 shards in pages of 2, want 3", len(f.calls))
		}
		first := f.calls[0].in
		if aws.ToString(first.StreamName) != "s" || first.ShardFilter == nil || first.ShardFilter.Type != types.ShardFilterTypeAtLatest ||
			aws.ToInt32(first.MaxResults) != 2 || first.NextToken != nil {
			t.Errorf("first call = %+v", first)
		}
		for _, c := range f.calls[1:] {
			if c.in.StreamName != nil || c.in.ShardFilter != nil || c.in.NextToken == nil || aws.ToInt32(c.in.MaxResults) != 2 {
				t.Errorf("next page call = %+v; want only NextToken and MaxResults", c.in)
			}
		}
		mustLookup(t, m, maxKey, "shardId-000000000004")
	})
}

func TestListOpenShards(t *testing.T) {
	const arn = "arn:aws:kinesis:us-east-1:123456789012:stream/orders"
	shards := evenShards(3, 0)
	f := &fakeShards{shards: []types.Shard{shards[2], shards[0], shards[1]}}
	got, err := ListOpenShards(context.Background(), f, arn)
	if err != nil {
		t.Fatal(err)
	}
	first := f.calls[0].in
	if aws.ToString(first.StreamARN) != arn || first.StreamName != nil || aws.ToInt32(first.MaxResults) != 1000 ||
		first.ShardFilter == nil || first.ShardFilter.Type != types.ShardFilterTypeAtLatest {
		t.Errorf("ListShards call = %+v; want the ARN, AT_LATEST and pages of 1000", first)
	}
	var ids []string
	for _, s := range got {
		ids = append(ids, s.ID)
	}
	if want := []string{"shardId-000000000000", "shardId-000000000001", "shardId-000000000002"}; !slices.Equal(ids, want) {
		t.Fatalf("shards %v, want %v (by ending hash key)", ids, want)
	}
	if got[0].StartingHashKey != (HashKey{}) || got[2].EndingHashKey != maxKey || got[1].StartingHashKey.String() != aws.ToString(shards[1].HashKeyRange.StartingHashKey) {
		t.Errorf("hash key ranges %+v do not match the listing", got)
	}

	if _, err := ListOpenShards(context.Background(), &fakeShards{}, "s"); err == nil || !strings.Contains(err.Error(), "no open shards") {
		t.Errorf("empty stream: error %v, want one saying it has no open shards", err)
	}
	var invalid *InvalidRecordError
	if _, err := ListOpenShards(context.Background(), f, "no spaces allowed"); !errors.As(err, &invalid) {
		t.Errorf("invalid stream name: error %v, want an InvalidRecordError", err)
	}
}

func TestShardMapRetriesWithJitteredBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var logs bytes.Buffer
		f := &fakeShards{shards: evenShards(2, 0), fails: 12}
		m, cancel := startShardMap(f, slog.New(slog.NewTextHandler(&logs, nil)))
		defer cancel()
		<-m.ready()
		want := []float64{1, 1.5, 2.25, 3.375, 5.0625, 7.59375, 11.390625, 17.0859375, 25.62890625, 30, 30, 30}
		checkGaps(t, f.callTimes(), want)
		if n := strings.Count(logs.String(), "listing shards failed"); n != 12 {
			t.Errorf("logged %d failures, want 12", n)
		}
		if !strings.Contains(logs.String(), "stream=s") || !strings.Contains(logs.String(), "Rate exceeded") {
			t.Errorf("failure log lacks the stream or the error: %s", logs.String())
		}

		// A success resets the backoff.
		f.failNext(2)
		time.Sleep(time.Millisecond)
		m.invalidate(time.Now(), "")
		synctest.Wait()
		time.Sleep(time.Minute)
		checkGaps(t, f.callTimes()[13:], []float64{1, 1.5})
	})
}

// checkGaps checks that consecutive calls were between half and all of the
// wanted number of seconds apart.
func checkGaps(t *testing.T, at []time.Time, want []float64) {
	t.Helper()
	if len(at) != len(want)+1 {
		t.Fatalf("%d calls, want %d", len(at), len(want)+1)
	}
	for i, w := range want {
		full := time.Duration(w * float64(time.Second))
		if gap := at[i+1].Sub(at[i]); gap < full/2 || gap > full {
			t.Errorf("retry %d came after %v, want within [%v, %v]", i+1, gap, full/2, full)
		}
	}
}

func TestShardMapServesThePreviousMapWhileRefreshing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeShards{shards: evenShards(2, 0)}
		m, cancel := startShardMap(f, nil)
		defer cancel()
		<-m.ready()

		f.set(evenShards(4, 2))
		release := f.holdCalls()
		time.Sleep(time.Millisecond)
		m.invalidate(time.Now(), "")
		synctest.Wait() // the refresh waits in ListShards
		mustLookup(t, m, HashKey{}, "shardId-000000000000")
		release()
		synctest.Wait()
		mustLookup(t, m, HashKey{}, "shardId-000000000002")

		f.set(evenShards(1, 6))
		f.failNext(1)
		time.Sleep(time.Millisecond)
		m.invalidate(time.Now(), "")
		synctest.Wait() // the refresh failed and waits to retry
		mustLookup(t, m, HashKey{}, "shardId-000000000002")
		time.Sleep(time.Second)
		synctest.Wait()
		mustLookup(t, m, HashKey{}, "shardId-000000000006")
	})
}

func TestShardMapInvalidateRules(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeShards{shards: evenShards(2, 0)}
		m, cancel := startShardMap(f, nil)
		defer cancel()
		<-m.ready()
		listedAt := time.Now()
		calls := func() int {
			synctest.Wait()
			return len(f.callTimes())
		}

		m.invalidate(listedAt, "")
		m.invalidate(listedAt.Add(-time.Second), "")
		if calls() != 1 {
			t.Fatal("refreshed for a request that started before the map was listed")
		}
		time.Sleep(time.Millisecond)
		m.invalidate(time.Now(), "shardId-000000000099")
		if calls() != 1 {
			t.Fatal("refreshed for a predicted shard the map does not have")
		}

		release := f.holdCalls()
		f.set(evenShards(2, 2))
		m.invalidate(time.Now(), "shardId-000000000000")
		m.invalidate(time.Now(), "shardId-000000000001")
		m.invalidate(time.Now(), "")
		if calls() != 2 {
			t.Fatal("invalidations while a refresh runs were not merged into it")
		}
		release()
		synctest.Wait()

		time.Sleep(time.Millisecond)
		m.invalidate(time.Now(), "shardId-000000000000")
		if calls() != 2 {
			t.Fatal("refreshed for a predicted shard that is closed now")
		}
		m.invalidate(time.Now(), "shardId-000000000003")
		if calls() != 3 {
			t.Fatal("did not refresh for a request that predicted an open shard")
		}
	})
}

func TestShardMapIgnoresInvalidateBeforeTheFirstMap(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeShards{shards: evenShards(2, 0), fails: 1}
		m, cancel := startShardMap(f, nil)
		defer cancel()
		synctest.Wait()
		m.invalidate(time.Now(), "")
		synctest.Wait()
		if n := len(f.callTimes()); n != 1 {
			t.Fatalf("%d calls before the backoff ended, want 1", n)
		}
		<-m.ready()
	})
}

func TestShardMapKeepsClosedShardRangesForAWhile(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeShards{shards: evenShards(2, 0)}
		m, cancel := startShardMap(f, nil)
		defer cancel()
		<-m.ready()
		parent := "shardId-000000000000"
		pStart, pEnd, _ := m.hashRange(parent)

		f.set(append(evenShards(4, 2)[:2], evenShards(2, 0)[1]))
		time.Sleep(time.Millisecond)
		m.invalidate(time.Now(), parent)
		synctest.Wait()
		mustLookup(t, m, HashKey{}, "shardId-000000000002")
		if start, end, ok := m.hashRange(parent); !ok || start != pStart || end != pEnd {
			t.Fatal("the split shard's range was forgotten at once")
		}
		if _, _, ok := m.hashRange("shardId-000000000003"); !ok {
			t.Fatal("no range for a new child shard")
		}

		time.Sleep(closedShardRetention)
		if _, _, ok := m.hashRange(parent); !ok {
			t.Fatal("the split shard's range was forgotten before the retention passed")
		}
		time.Sleep(time.Millisecond)
		if _, _, ok := m.hashRange(parent); ok {
			t.Fatal("the split shard's range is still known after the retention")
		}
		m.invalidate(time.Now(), "")
		synctest.Wait()
		if _, kept := m.table.Load().ranges[parent]; kept {
			t.Fatal("a refresh kept the expired range of a closed shard")
		}
	})
}

func TestShardMapRejectsBadListings(t *testing.T) {
	for name, shards := range map[string][]types.Shard{
		"no shards":     nil,
		"no range":      {{ShardId: aws.String("shardId-000000000000")}},
		"bad key":       {shard(0, "0", "2^128")},
		"reversed keys": {shard(0, "5", "4")},
	} {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var logs bytes.Buffer
				f := &fakeShards{shards: shards}
				m, cancel := startShardMap(f, slog.New(slog.NewTextHandler(&logs, nil)))
				defer cancel()
				synctest.Wait()
				if _, _, ok := m.lookup(HashKey{}); ok || !strings.Contains(logs.String(), "listing shards failed") {
					t.Fatalf("a bad listing was not treated as a failure: %s", logs.String())
				}
				f.set(evenShards(1, 0))
				<-m.ready()
			})
		})
	}
}

func TestShardMapStopsWithItsContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Stopped while waiting to retry, in a call, and while ready; the
		// bubble would report the goroutine if it stayed.
		f := &fakeShards{fails: 1}
		m, cancel := startShardMap(f, nil)
		synctest.Wait()
		cancel()
		<-m.stopped()

		f = &fakeShards{shards: evenShards(1, 0)}
		f.holdCalls()
		m, cancel = startShardMap(f, nil)
		synctest.Wait()
		cancel()
		<-m.stopped()

		f = &fakeShards{shards: evenShards(1, 0)}
		m, cancel = startShardMap(f, nil)
		<-m.ready()
		cancel()
		<-m.stopped()
	})
}

func TestShardNumber(t *testing.T) {
	for id, want := range map[string]int64{
		"shardId-000000000123": 123,
		"shardId-000000000000": 0,
		"shardId-":             -1,
		"shard":                -1,
		"shardId-12x":          -1,
	} {
		if got := shardNumber(id); got != want {
			t.Errorf("shardNumber(%q) = %d, want %d", id, got, want)
		}
	}
}

func TestShardMapAgainstKinesisTest(t *testing.T) {
	srv := kinesistest.NewServer(kinesistest.Options{Streams: map[string]int{"s": 5}})
	defer srv.Close()
	cfg := DefaultConfig()
	cfg.Region = "us-east-1"
	cfg.EndpointURL = srv.URL
	cfg.AWSAccessKeyID = "AKIDSHARDMAPTEST"
	cfg.AWSSecretAccessKey = "secret-that-must-not-be-logged"
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	client, err := NewKinesisClient(ctx, &cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer client.CloseIdleConnections()

	var logs syncBuffer
	m := newShardMap(client, streamID{key: "s", name: "s"}, slog.New(slog.NewTextHandler(&logs, nil)))
	m.pageSize = 2
	m.start(ctx)
	defer func() { cancel(); <-m.stopped() }()
	select {
	case <-m.ready():
	case <-time.After(10 * time.Second):
		t.Fatal("no shard map after 10 s")
	}
	if n := srv.Requests("ListShards"); n != 3 {
		t.Fatalf("%d ListShards requests for 5 shards in pages of 2, want 3", n)
	}
	mustLookup(t, m, HashKey{}, "shardId-000000000000")
	mustLookup(t, m, maxKey, "shardId-000000000004")

	parent := "shardId-000000000000"
	pStart, pEnd, _ := m.hashRange(parent)
	if err := srv.SplitShard("s", parent, ""); err != nil {
		t.Fatal(err)
	}
	srv.InjectFault("ListShards", kinesistest.ErrorFault(400, "LimitExceededException", "Rate exceeded for stream s"))
	m.invalidate(time.Now(), parent)
	waitFor(t, func() bool { id, _, _ := m.lookup(HashKey{}); return id != parent })

	mustLookup(t, m, HashKey{}, "shardId-000000000005")
	mustLookup(t, m, pEnd, "shardId-000000000006")
	if start, end, ok := m.hashRange(parent); !ok || start != pStart || end != pEnd {
		t.Error("the split parent's range is not known after the refresh")
	}
	for _, child := range []string{"shardId-000000000005", "shardId-000000000006"} {
		if _, _, ok := m.hashRange(child); !ok {
			t.Errorf("no range for child %s", child)
		}
	}
	out := logs.String()
	if !strings.Contains(out, "LimitExceededException") {
		t.Errorf("the failed refresh was not logged: %s", out)
	}
	if strings.Contains(out, cfg.AWSSecretAccessKey) || strings.Contains(out, cfg.AWSAccessKeyID) {
		t.Errorf("credentials in the log: %s", out)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met after 10 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// syncBuffer is a bytes.Buffer safe for a logger and a reader at once.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// lookup is find's entry as its id and shard number, ok false where find
// has none.
func (m *shardMap) lookup(h HashKey) (shardID string, shard int64, ok bool) {
	e := m.find(h)
	if e == nil {
		return "", 0, false
	}
	return e.id, e.shard, true
}
