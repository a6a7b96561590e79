package kinesistest

import (
	"slices"
	"time"
)

// Direct access to the server's streams for tests: setting streams up and
// reshaping them without going through the API, and reading back what was
// stored.

// StoredRecord is a record the server accepted.
type StoredRecord struct {
	ShardID        string
	SequenceNumber string
	PartitionKey   string
	// ExplicitHashKey is empty when the client sent none.
	ExplicitHashKey string
	// Data shares memory with the server's copy; do not modify it.
	Data        []byte
	ArrivalTime time.Time
}

// ShardInfo describes one shard of a stream.
type ShardInfo struct {
	ShardID               string
	ParentShardID         string
	AdjacentParentShardID string
	StartingHashKey       string
	EndingHashKey         string
	// EndingSequenceNumber is empty while the shard is open.
	StartingSequenceNumber string
	EndingSequenceNumber   string
	Open                   bool
	// Records counts the records the shard accepted.
	Records int64
}

// StreamStats counts what a stream accepted. It is kept with Discard too.
type StreamStats struct {
	Records int64
	// Bytes counts record data, not partition keys.
	Bytes        int64
	ShardRecords map[string]int64
}

// StreamOption configures a stream made by CreateStream.
type StreamOption func(*streamSpec)

// WithMaxRecordSizeKiB sets the stream's maximum record size, data plus
// partition key, in KiB: from DefaultMaxRecordSizeKiB (1024) to
// LargestMaxRecordSizeKiB (10240), as CreateStream's MaxRecordSizeInKiB
// does; 0 leaves the default.
func WithMaxRecordSizeKiB(kib int) StreamOption {
	return func(spec *streamSpec) { spec.maxRecordSizeKiB = kib }
}

// CreateStream creates an ACTIVE stream with shards shards splitting the
// hash key space evenly.
func (s *Server) CreateStream(name string, shards int, opts ...StreamOption) error {
	spec := streamSpec{shards: shards, mode: modeProvisioned}
	for _, opt := range opts {
		opt(&spec)
	}
	if err := s.addStream(name, spec); err != nil {
		return err
	}
	return nil
}

// UpdateMaxRecordSize changes a stream's maximum record size, in KiB, as
// the UpdateMaxRecordSize operation does; writes after it returns are
// checked against the new size.
func (s *Server) UpdateMaxRecordSize(stream string, kib int) error {
	st, err := s.streamNamed(stream)
	if err != nil {
		return err
	}
	if err := validateMaxRecordSizeKiB(kib); err != nil {
		return err
	}
	st.setMaxRecordSizeKiB(kib)
	return nil
}

// DeleteStream deletes a stream and everything it stored.
func (s *Server) DeleteStream(name string) error {
	if err := s.removeStream(name); err != nil {
		return err
	}
	return nil
}

// SplitShard splits an open shard in two at newStartingHashKey, a decimal
// hash key, or in the middle of its range if newStartingHashKey is empty.
func (s *Server) SplitShard(stream, shardID, newStartingHashKey string) error {
	st, err := s.streamNamed(stream)
	if err != nil {
		return err
	}
	var newStart *hashKey
	if newStartingHashKey != "" {
		key, ok := parseHashKey(newStartingHashKey)
		if !ok {
			return invalidArgument("NewStartingHashKey %q is not a hash key in [0, 2^128-1].", newStartingHashKey)
		}
		newStart = &key
	}
	if err := st.splitShard(shardID, newStart, s.now(), s.opts.AccountID); err != nil {
		return err
	}
	return nil
}

// MergeShards merges two open shards with adjacent hash key ranges.
func (s *Server) MergeShards(stream, shardID, adjacentShardID string) error {
	st, err := s.streamNamed(stream)
	if err != nil {
		return err
	}
	if err := st.mergeShards(shardID, adjacentShardID, s.now(), s.opts.AccountID); err != nil {
		return err
	}
	return nil
}

// StreamNames returns the names of all streams in order.
func (s *Server) StreamNames() []string {
	var names []string
	for _, st := range s.sortedStreams() {
		names = append(names, st.name)
	}
	return names
}

// Records returns every record the stream stored, in the order they were
// accepted; nil if the stream does not exist or the server discards data.
func (s *Server) Records(stream string) []StoredRecord {
	st, err := s.streamNamed(stream)
	if err != nil {
		return nil
	}
	type numbered struct {
		counter uint64
		record  StoredRecord
	}
	var all []numbered
	st.mu.Lock()
	for _, sh := range st.shards {
		for i := range sh.log.records {
			r := &sh.log.records[i]
			all = append(all, numbered{r.counter, StoredRecord{
				ShardID:         sh.id,
				SequenceNumber:  r.sequenceNumber,
				PartitionKey:    r.partitionKey,
				ExplicitHashKey: r.explicitHashKey,
				Data:            r.data,
				ArrivalTime:     r.arrival,
			}})
		}
	}
	st.mu.Unlock()
	slices.SortFunc(all, func(a, b numbered) int { return compareUint64(a.counter, b.counter) })
	records := make([]StoredRecord, len(all))
	for i := range all {
		records[i] = all[i].record
	}
	return records
}

func compareUint64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Shards describes every shard of the stream in shard id order, closed
// ones included; nil if the stream does not exist.
func (s *Server) Shards(stream string) []ShardInfo {
	st, err := s.streamNamed(stream)
	if err != nil {
		return nil
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	infos := make([]ShardInfo, len(st.shards))
	for i, sh := range st.shards {
		infos[i] = ShardInfo{
			ShardID:                sh.id,
			ParentShardID:          sh.parentID,
			AdjacentParentShardID:  sh.adjacentParentID,
			StartingHashKey:        sh.start.String(),
			EndingHashKey:          sh.end.String(),
			StartingSequenceNumber: sh.startingSequenceNumber,
			EndingSequenceNumber:   sh.endingSequenceNumber,
			Open:                   !sh.closed(),
			Records:                sh.log.count,
		}
	}
	return infos
}

// Stats counts what the stream accepted; zero if it does not exist.
func (s *Server) Stats(stream string) StreamStats {
	stats := StreamStats{ShardRecords: map[string]int64{}}
	st, err := s.streamNamed(stream)
	if err != nil {
		return stats
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	for _, sh := range st.shards {
		stats.Records += sh.log.count
		stats.Bytes += sh.log.bytes
		stats.ShardRecords[sh.id] = sh.log.count
	}
	return stats
}
