package kinesistest

import (
	"cmp"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Stream statuses and capacity modes as the API names them.
const (
	statusCreating = "CREATING"
	statusActive   = "ACTIVE"

	modeProvisioned = "PROVISIONED"
	modeOnDemand    = "ON_DEMAND"
)

// maxShardsPerStream bounds CreateStream so that a typo cannot allocate
// millions of shards.
const maxShardsPerStream = 10000

// stream is one Kinesis stream: its shards, their hash key ranges and their
// record logs. The fields above maxRecordSizeKiB are set at creation and
// never change; maxRecordSizeKiB is read and written atomically; mu guards
// the rest, including every field of its shards that can change, so a whole
// PutRecords request is applied under one lock.
type stream struct {
	name      string
	arn       string
	id        uint64
	mode      string
	created   time.Time
	activeAt  time.Time
	discard   bool
	rateLimit ShardRateLimit

	maxRecordSizeKiB atomic.Int32

	mu      sync.Mutex
	shards  []*shard // every shard ever created; shards[i].index == i
	open    []*shard // the open shards sorted by hash key; they cover the key space
	counter uint64   // the last sequence counter issued
}

// shard is one shard of a stream. Its identity, parents and hash key range
// never change; endingSequenceNumber, log and budget are guarded by the
// owning stream's mutex.
type shard struct {
	id               string
	index            int
	parentID         string
	adjacentParentID string
	start, end       hashKey
	created          time.Time

	sequencePrefix         string
	startingSequenceNumber string
	endingSequenceNumber   string    // empty while the shard is open
	closedAt               time.Time // zero while the shard is open

	log    recordLog
	budget writeBudget
}

// streamConfig describes a stream to create.
type streamConfig struct {
	name       string
	arn        string
	id         uint64
	mode       string
	shardCount int
	created    time.Time
	activeAt   time.Time
	discard    bool
	rateLimit  ShardRateLimit
	// maxRecordSizeKiB is the largest record, data plus partition key,
	// the stream accepts; 0 means DefaultMaxRecordSizeKiB.
	maxRecordSizeKiB int
}

// newStream creates a stream whose shards divide the hash key space evenly.
func newStream(cfg streamConfig) *stream {
	st := &stream{
		name:      cfg.name,
		arn:       cfg.arn,
		id:        cfg.id,
		mode:      cfg.mode,
		created:   cfg.created,
		activeAt:  cfg.activeAt,
		discard:   cfg.discard,
		rateLimit: cfg.rateLimit,
	}
	st.setMaxRecordSizeKiB(cmp.Or(cfg.maxRecordSizeKiB, DefaultMaxRecordSizeKiB))
	n := uint64(cfg.shardCount)
	for i := uint64(0); i < n; i++ {
		end := maxHashKey
		if i+1 < n {
			end = evenSplit(i+1, n).sub(1)
		}
		st.addShardLocked("", "", evenSplit(i, n), end, cfg.created)
	}
	st.rebuildOpenLocked()
	return st
}

// setMaxRecordSizeKiB changes the largest record the stream accepts; the
// caller has validated kib.
func (st *stream) setMaxRecordSizeKiB(kib int) {
	st.maxRecordSizeKiB.Store(int32(kib))
}

// maxRecordBytes returns the largest record, data plus partition key, the
// stream accepts.
func (st *stream) maxRecordBytes() int {
	return int(st.maxRecordSizeKiB.Load()) << 10
}

// shardID formats a shard index the way the service names shards.
func shardID(index int) string {
	return fmt.Sprintf("shardId-%012d", index)
}

func (st *stream) status(now time.Time) string {
	if now.Before(st.activeAt) {
		return statusCreating
	}
	return statusActive
}

// addShardLocked creates an open shard. Callers rebuild the open list.
func (st *stream) addShardLocked(parentID, adjacentParentID string, start, end hashKey, now time.Time) *shard {
	index := len(st.shards)
	prefix := sequencePrefix(st.id, index)
	sh := &shard{
		id:                     shardID(index),
		index:                  index,
		parentID:               parentID,
		adjacentParentID:       adjacentParentID,
		start:                  start,
		end:                    end,
		created:                now,
		sequencePrefix:         prefix,
		startingSequenceNumber: formatSequenceNumber(prefix, st.counter),
		log:                    recordLog{discard: st.discard},
		budget:                 newWriteBudget(st.rateLimit, now),
	}
	st.shards = append(st.shards, sh)
	return sh
}

func (st *stream) rebuildOpenLocked() {
	st.open = st.open[:0]
	for _, sh := range st.shards {
		if !sh.closed() {
			st.open = append(st.open, sh)
		}
	}
	sort.Slice(st.open, func(i, j int) bool { return st.open[i].start.cmp(st.open[j].start) < 0 })
}

func (sh *shard) closed() bool {
	return sh.endingSequenceNumber != ""
}

// closeLocked closes the shard to writes; its ending sequence number is at
// least that of every record it holds.
func (st *stream) closeLocked(sh *shard, now time.Time) {
	sh.endingSequenceNumber = formatSequenceNumber(sh.sequencePrefix, st.counter)
	sh.closedAt = now
}

// openAt reports whether the shard accepted writes at t.
func (sh *shard) openAt(t time.Time) bool {
	return !sh.created.After(t) && (!sh.closed() || sh.closedAt.After(t))
}

// shardLocked returns the shard with the given id, or nil.
func (st *stream) shardLocked(id string) *shard {
	digits, ok := strings.CutPrefix(id, "shardId-")
	if !ok {
		return nil
	}
	index, err := strconv.Atoi(digits)
	if err != nil || index < 0 || index >= len(st.shards) || st.shards[index].id != id {
		return nil
	}
	return st.shards[index]
}

// routeLocked returns the open shard whose range contains k.
func (st *stream) routeLocked(k hashKey) *shard {
	i := sort.Search(len(st.open), func(i int) bool { return st.open[i].end.cmp(k) >= 0 })
	return st.open[i]
}

// nextSequenceNumberLocked issues the next sequence number for a record in sh.
func (st *stream) nextSequenceNumberLocked(sh *shard) (uint64, string) {
	st.counter++
	return st.counter, formatSequenceNumber(sh.sequencePrefix, st.counter)
}

// openShardCount returns how many shards accept writes.
func (st *stream) openShardCount() int {
	st.mu.Lock()
	defer st.mu.Unlock()
	return len(st.open)
}

// splitShard closes the shard id and creates two children: one covering
// its range below newStart, one covering newStart to its end. A nil
// newStart splits the range in halves.
func (st *stream) splitShard(id string, at *hashKey, now time.Time, account string) *apiError {
	st.mu.Lock()
	defer st.mu.Unlock()
	parent, err := st.openShardLocked(id, account)
	if err != nil {
		return err
	}
	newStart := parent.start.midpoint(parent.end).add(1)
	if at != nil {
		newStart = *at
	}
	if newStart.cmp(parent.start) <= 0 || newStart.cmp(parent.end) > 0 {
		return invalidArgument("NewStartingHashKey %s used in SplitShard() on shard %s in stream %s under account %s is not both greater than the shard's StartingHashKey %s and at most its EndingHashKey %s.",
			newStart, id, st.name, account, parent.start, parent.end)
	}
	st.closeLocked(parent, now)
	st.addShardLocked(parent.id, "", parent.start, newStart.sub(1), now)
	st.addShardLocked(parent.id, "", newStart, parent.end, now)
	st.rebuildOpenLocked()
	return nil
}

// mergeShards closes two open shards with adjacent ranges and creates one
// child covering both. The child's parent is id and its adjacent parent is
// adjacentID, as in the service.
func (st *stream) mergeShards(id, adjacentID string, now time.Time, account string) *apiError {
	st.mu.Lock()
	defer st.mu.Unlock()
	first, err := st.openShardLocked(id, account)
	if err != nil {
		return err
	}
	second, err := st.openShardLocked(adjacentID, account)
	if err != nil {
		return err
	}
	low, high := first, second
	if low.start.cmp(high.start) > 0 {
		low, high = high, low
	}
	if low == high || low.end.add(1) != high.start {
		return invalidArgument("Shards %s and %s in stream %s under account %s are not an adjacent pair of shards eligible for merging",
			id, adjacentID, st.name, account)
	}
	st.closeLocked(first, now)
	st.closeLocked(second, now)
	st.addShardLocked(first.id, second.id, low.start, high.end, now)
	st.rebuildOpenLocked()
	return nil
}

// openShardLocked returns the open shard id, or the service's error for a
// missing or closed shard.
func (st *stream) openShardLocked(id, account string) (*shard, *apiError) {
	sh := st.shardLocked(id)
	if sh == nil {
		return nil, resourceNotFound("Could not find shard %s in stream %s under account %s.", id, st.name, account)
	}
	if sh.closed() {
		return nil, invalidArgument("Shard %s in stream %s under account %s has already been merged or split, and thus is not eligible for merging or splitting.",
			id, st.name, account)
	}
	return sh, nil
}
