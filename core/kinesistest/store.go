package kinesistest

import (
	"sort"
	"time"
)

// storedRecord is one accepted record as a shard keeps it. Records are never
// changed once appended, so readers may use them after releasing the lock
// that guarded the append.
type storedRecord struct {
	counter         uint64
	sequenceNumber  string
	partitionKey    string
	explicitHashKey string
	data            []byte
	arrival         time.Time
}

// size is what the record counts against shard and response limits: its
// data and partition key.
func (r *storedRecord) size() int {
	return len(r.data) + len(r.partitionKey)
}

// recordLog is the append-only list of records a shard accepted, in
// sequence number order. With discard set it keeps only counts. The owning
// stream's mutex guards it.
type recordLog struct {
	discard bool
	records []storedRecord
	count   int64
	bytes   int64
}

func (l *recordLog) append(r storedRecord) {
	l.count++
	l.bytes += int64(len(r.data))
	if !l.discard {
		l.records = append(l.records, r)
	}
}

// len returns the number of records that can be read back.
func (l *recordLog) len() int {
	return len(l.records)
}

// firstAtOrAfter returns the index of the first record whose counter is at
// least counter.
func (l *recordLog) firstAtOrAfter(counter uint64) int {
	return sort.Search(len(l.records), func(i int) bool {
		return l.records[i].counter >= counter
	})
}

// firstArrivedAtOrAfter returns the index of the first record that arrived
// at or after t.
func (l *recordLog) firstArrivedAtOrAfter(t time.Time) int {
	return sort.Search(len(l.records), func(i int) bool {
		return !l.records[i].arrival.Before(t)
	})
}

// batch returns the records from index from, at most limit of them and,
// past the first, no more than maxBytes in total. The result shares the
// log's backing array; its elements are never written again.
func (l *recordLog) batch(from, limit, maxBytes int) []storedRecord {
	if from >= len(l.records) {
		return nil
	}
	end := from
	total := 0
	for end < len(l.records) && end-from < limit {
		total += l.records[end].size()
		if end > from && total > maxBytes {
			break
		}
		end++
	}
	return l.records[from:end:end]
}
