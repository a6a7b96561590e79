package core

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// Shard map timing and paging.
const (
	// After a failed listing the next try waits shardMapMinBackoff, growing
	// by shardMapBackoffGrowth per failure up to shardMapMaxBackoff, each
	// wait jittered into its upper half; a successful listing resets it.
	shardMapMinBackoff    = time.Second
	shardMapMaxBackoff    = 30 * time.Second
	shardMapBackoffGrowth = 1.5

	// closedShardRetention is how long hashRange still answers for a shard
	// after a refresh found it closed, for records that were sent to it
	// before the split or merge.
	closedShardRetention = 60 * time.Second

	// listShardsTimeout bounds one ListShards call.
	listShardsTimeout = 30 * time.Second

	// listShardsPageSize is ListShards' MaxResults, the service's maximum.
	listShardsPageSize = 1000
)

type shardMapState int

const (
	shardMapInvalid  shardMapState = iota // no listing yet, or the last one failed
	shardMapUpdating                      // a listing is running
	shardMapReady                         // the last listing succeeded
)

// shardMap tracks one stream's open shards and their hash-key ranges, so
// that records can be grouped and rate-limited by the shard they will land
// in.
//
// It lists the shards once at start and again only when invalidated, never
// on a schedule. Unlike the KPL, it keeps answering from the previous map
// while a refresh runs and after a refresh fails: the previous map is right
// for every shard that did not change, and the new one replaces it in one
// step. A failed listing is retried after a jittered backoff
// (1 s × 1.5 per failure, at most 30 s) until one succeeds.
//
// lookup and hashRange are lock-free and safe for concurrent use, as are all
// other methods. The background goroutine ends when start's context does.
type shardMap struct {
	client   Client
	stream   streamID
	log      *slog.Logger
	pageSize int32

	table   atomic.Pointer[shardTable] // nil until the first listing succeeds
	loaded  chan struct{}              // closed when table is first set
	refused chan struct{}              // a token each time a listing before the first fails for a setup problem
	kick    chan struct{}              // asks the goroutine to refresh
	done    chan struct{}              // closed when the goroutine returns

	mu        sync.Mutex
	state     shardMapState
	updatedAt time.Time // when the listing behind table started
}

// shardTable is one listing of a stream. It is never modified once
// published.
type shardTable struct {
	open   []shardEntry          // open shards by ending hash key
	ranges map[string]shardRange // open and recently closed shards by id
}

// shardEntry is one open shard in lookup order.
type shardEntry struct {
	start, end HashKey
	id         string
	shard      int64
}

// shardRange is a shard's hash-key range, with when a refresh found it
// closed (zero while it is open).
type shardRange struct {
	start, end HashKey
	closedAt   time.Time
}

// newShardMap returns the map of stream's shards, listed through client once
// start is called. A nil log discards.
func newShardMap(client Client, stream streamID, log *slog.Logger) *shardMap {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &shardMap{
		client:   client,
		stream:   stream,
		log:      log,
		pageSize: listShardsPageSize,
		loaded:   make(chan struct{}),
		refused:  make(chan struct{}, 1),
		kick:     make(chan struct{}, 1),
		done:     make(chan struct{}),
	}
}

// start lists the shards in the background, and again on each accepted
// invalidate, until ctx ends. Call it once.
func (m *shardMap) start(ctx context.Context) {
	m.mu.Lock()
	m.state = shardMapUpdating
	m.mu.Unlock()
	go m.run(ctx)
}

// ready is closed once the first listing has succeeded.
func (m *shardMap) ready() <-chan struct{} { return m.loaded }

// hasMap reports whether a listing has succeeded: the map is in, though
// ready's waiters may not have run yet.
func (m *shardMap) hasMap() bool { return m.table.Load() != nil }

// loadingFirst reports whether the first listing is under way: none has
// succeeded yet, and none failed since the current try began.
func (m *shardMap) loadingFirst() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.table.Load() == nil && m.state == shardMapUpdating
}

// setupRefused gives a token each time a listing fails, before the first
// succeeded, for a setup problem (no credentials, say) that fails records
// too: what waits for the map need not wait longer.
func (m *shardMap) setupRefused() <-chan struct{} { return m.refused }

// stopped is closed once the background goroutine has returned.
func (m *shardMap) stopped() <-chan struct{} { return m.done }

// find returns the open shard whose range holds h, with its id and the
// number in the id ("shardId-000000000123" is 123, -1 if the id has no
// number); nil before the first listing and for a hash in no open shard's
// range. A hash equal to a shard's ending hash key belongs to that shard.
// The entry stays as it is while a record refers to it, whatever refreshes
// come.
func (m *shardMap) find(h HashKey) *shardEntry {
	t := m.table.Load()
	if t == nil {
		return nil
	}
	// The first shard whose ending hash key is at least h.
	lo, hi := 0, len(t.open)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if t.open[mid].end.Less(h) {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	if lo == len(t.open) || h.Less(t.open[lo].start) {
		return nil
	}
	return &t.open[lo]
}

// hashRange returns the hash-key range of an open shard, or of one that a
// refresh found closed less than closedShardRetention ago.
func (m *shardMap) hashRange(shardID string) (start, end HashKey, ok bool) {
	t := m.table.Load()
	if t == nil {
		return HashKey{}, HashKey{}, false
	}
	r, ok := t.ranges[shardID]
	if !ok || (!r.closedAt.IsZero() && time.Since(r.closedAt) > closedShardRetention) {
		return HashKey{}, HashKey{}, false
	}
	return r.start, r.end, true
}

// invalidate asks for a refresh because a request started at seenAt found
// the map wrong, expecting shard predicted ("" for none). As in the KPL it
// is ignored unless the map is ready (so at most one refresh runs or waits
// at a time), the request started after the current map's listing did, and
// the predicted shard is still open in the map: otherwise the map already
// reflects what the request saw.
func (m *shardMap) invalidate(seenAt time.Time, predicted string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.state != shardMapReady || !seenAt.After(m.updatedAt) {
		return
	}
	if predicted != "" {
		if r, ok := m.table.Load().ranges[predicted]; !ok || !r.closedAt.IsZero() {
			return
		}
	}
	m.state = shardMapUpdating
	select {
	case m.kick <- struct{}{}:
	default:
	}
}

func (m *shardMap) run(ctx context.Context) {
	defer close(m.done)
	var backoff lookupBackoff
	for {
		started := time.Now()
		t, err := m.list(ctx)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			delay := backoff.wait()
			m.log.Log(ctx, listingLogLevel(err), "gokpl: listing shards failed", "stream", m.stream.name, "error", err, "retry_in", delay)
			m.setState(shardMapInvalid)
			if m.table.Load() == nil && isSetupProblem(err) {
				select {
				case m.refused <- struct{}{}:
				default:
				}
			}
			if !sleepContext(ctx, delay) {
				return
			}
			m.setState(shardMapUpdating)
			continue
		}
		backoff.reset()
		m.publish(t, started)
		m.log.Debug("gokpl: shard map updated", "stream", m.stream.name, "open_shards", len(t.open))
		select {
		case <-m.kick:
		case <-ctx.Done():
			return
		}
	}
}

func (m *shardMap) setState(s shardMapState) {
	m.mu.Lock()
	m.state = s
	m.mu.Unlock()
}

// publish makes t the map, carrying over the ranges of shards that closed
// since the previous map, and drops those closed for longer than
// closedShardRetention.
func (m *shardMap) publish(t *shardTable, started time.Time) {
	m.mu.Lock()
	now := time.Now()
	old := m.table.Load()
	if old != nil {
		for id, r := range old.ranges {
			if _, open := t.ranges[id]; open {
				continue
			}
			if r.closedAt.IsZero() {
				r.closedAt = now
			}
			if now.Sub(r.closedAt) <= closedShardRetention {
				t.ranges[id] = r
			}
		}
	}
	m.table.Store(t)
	m.state = shardMapReady
	m.updatedAt = started
	m.mu.Unlock()
	if old == nil {
		close(m.loaded)
	}
}

// list reads every page of the stream's open shards.
func (m *shardMap) list(ctx context.Context) (*shardTable, error) {
	open, err := listOpenShards(ctx, m.client, m.stream, m.pageSize)
	if err != nil {
		return nil, err
	}
	t := &shardTable{open: open, ranges: make(map[string]shardRange, len(open))}
	for _, e := range open {
		t.ranges[e.id] = shardRange{start: e.start, end: e.end}
	}
	return t, nil
}

// Shard is one open shard of a stream: its id and the range of hash keys
// whose records it takes.
type Shard struct {
	ID              string
	StartingHashKey HashKey
	EndingHashKey   HashKey
}

// ListOpenShards lists the open shards of stream (a name or an ARN) as a
// producer does: ListShards with the AT_LATEST filter and the service's
// largest page, each page bounded by 30 s, in order of ending hash key.
// It fails when the service does, when a shard's hash key range is
// malformed, or when the stream has no open shard.
func ListOpenShards(ctx context.Context, client Client, stream string) ([]Shard, error) {
	id, err := parseStream(stream)
	if err != nil {
		return nil, err
	}
	open, err := listOpenShards(ctx, client, id, listShardsPageSize)
	if err != nil {
		return nil, err
	}
	shards := make([]Shard, len(open))
	for i, e := range open {
		shards[i] = Shard{ID: e.id, StartingHashKey: e.start, EndingHashKey: e.end}
	}
	return shards, nil
}

// listOpenShards reads every page of stream's open shards, pageSize a page,
// and sorts them by ending hash key.
func listOpenShards(ctx context.Context, client Client, stream streamID, pageSize int32) ([]shardEntry, error) {
	var open []shardEntry
	in := &kinesis.ListShardsInput{
		ShardFilter: &types.ShardFilter{Type: types.ShardFilterTypeAtLatest},
		MaxResults:  aws.Int32(pageSize),
	}
	stream.address(&in.StreamName, &in.StreamARN)
	for {
		out, err := listShardsPage(ctx, client, in)
		if err != nil {
			return nil, err
		}
		for i := range out.Shards {
			e, err := parseShard(&out.Shards[i])
			if err != nil {
				return nil, err
			}
			open = append(open, e)
		}
		if aws.ToString(out.NextToken) == "" {
			break
		}
		// The service refuses StreamName and ShardFilter beside a NextToken.
		in = &kinesis.ListShardsInput{NextToken: out.NextToken, MaxResults: aws.Int32(pageSize)}
	}
	if len(open) == 0 {
		return nil, errors.New("ListShards returned no open shards")
	}
	slices.SortFunc(open, func(a, b shardEntry) int {
		switch {
		case a.end.Less(b.end):
			return -1
		case b.end.Less(a.end):
			return 1
		}
		return 0
	})
	return open, nil
}

// listShardsPage is one ListShards call, bounded by listShardsTimeout.
func listShardsPage(ctx context.Context, client Client, in *kinesis.ListShardsInput) (*kinesis.ListShardsOutput, error) {
	ctx, cancel := context.WithTimeout(ctx, listShardsTimeout)
	defer cancel()
	return client.ListShards(ctx, in)
}

// parseShard reads one shard of a ListShards response.
func parseShard(s *types.Shard) (shardEntry, error) {
	id := aws.ToString(s.ShardId)
	if id == "" || s.HashKeyRange == nil {
		return shardEntry{}, fmt.Errorf("ListShards returned a shard without id or hash key range (%q)", id)
	}
	start, err := ParseHashKey(aws.ToString(s.HashKeyRange.StartingHashKey))
	if err != nil {
		return shardEntry{}, fmt.Errorf("shard %s: bad starting hash key %q", id, aws.ToString(s.HashKeyRange.StartingHashKey))
	}
	end, err := ParseHashKey(aws.ToString(s.HashKeyRange.EndingHashKey))
	if err != nil || end.Less(start) {
		return shardEntry{}, fmt.Errorf("shard %s: bad ending hash key %q", id, aws.ToString(s.HashKeyRange.EndingHashKey))
	}
	return shardEntry{start: start, end: end, id: id, shard: shardNumber(id)}, nil
}

// shardNumber is the number at the end of a shard id, as in
// "shardId-000000000123", or -1 if there is none.
func shardNumber(id string) int64 {
	n, err := strconv.ParseInt(id[strings.LastIndexByte(id, '-')+1:], 10, 64)
	if err != nil || n < 0 {
		return -1
	}
	return n
}

// lookupBackoff paces the tries of a failing call about a stream (the shard
// listing, the maximum record size): shardMapMinBackoff, growing by
// shardMapBackoffGrowth per failure up to shardMapMaxBackoff, each wait
// jittered into its upper half. Not safe for concurrent use.
type lookupBackoff struct{ next time.Duration }

// wait returns the wait before the next try, and lengthens the one after.
func (b *lookupBackoff) wait() time.Duration {
	if b.next == 0 {
		b.next = shardMapMinBackoff
	}
	d := jittered(b.next)
	b.next = min(time.Duration(float64(b.next)*shardMapBackoffGrowth), shardMapMaxBackoff)
	return d
}

// reset starts the waits over after a success.
func (b *lookupBackoff) reset() { b.next = 0 }

// sleepContext waits d or until ctx ends, reporting whether d passed.
func sleepContext(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
