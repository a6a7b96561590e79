package core

import (
	"crypto/md5"
	"math/bits"
	"strconv"

	"google.golang.org/protobuf/encoding/protowire"
)

// aggregatedMagic opens the data of every aggregated Kinesis record.
var aggregatedMagic = [4]byte{0xF3, 0x89, 0x9A, 0xC2}

// aggregatedOverhead is what an aggregated record adds around its protobuf
// bytes: the magic before them and their MD5 after.
const aggregatedOverhead = len(aggregatedMagic) + md5.Size

// aggregatedPartitionKey is the partition key of every aggregated Kinesis
// record; the explicit hash key routes it.
const aggregatedPartitionKey = "a"

// Field tags of internal/aggpb/aggregated.proto, all a single byte on the wire.
const (
	tagPartitionKeyTable    = byte(1<<3 | protowire.BytesType)
	tagExplicitHashKeyTable = byte(2<<3 | protowire.BytesType)
	tagRecords              = byte(3<<3 | protowire.BytesType)
	tagPartitionKeyIndex    = byte(1<<3 | protowire.VarintType)
	tagExplicitHashKeyIndex = byte(2<<3 | protowire.VarintType)
	tagData                 = byte(3<<3 | protowire.BytesType)
)

// aggregation is a set of user records on their way into one aggregated
// Kinesis record. It keeps the de-duplicated key tables and the exact size of
// the encoded protobuf as records come in, so that the aggregator knows
// before adding a record whether the result still fits, and encodes in one
// pass into a buffer of exactly the right size. The encoding is the one
// proto.Marshal gives for the AggregatedRecord of internal/aggpb/aggregated.proto (fields in
// number order, a record's tags after its data), which the tests check byte
// for byte.
//
// An aggregation is not safe for concurrent use; the aggregator guards each
// of its per-shard aggregations with that shard's lock.
type aggregation struct {
	records       []*userRecord
	indexes       []recordIndexes // one per record
	partitionKeys []string        // the partition key table
	hashKeys      []HashKey       // the explicit hash key table, written in decimal
	pbSize        int             // bytes of the protobuf encoding

	// The earliest deadline and expiration among the records, kept as they
	// are added (while each record is at hand) rather than found afterwards.
	deadline, expiration instant

	// Table lookups, present only while records are being added.
	partitionKeyIndex map[string]uint32
	hashKeyIndex      map[HashKey]uint32
}

// recordIndexes are a record's places in the key tables. An aggregated
// record is at most aggregation_max_size (≤ 1 MiB) and every record takes at
// least 6 bytes, so uint32 is plenty.
type recordIndexes struct {
	partitionKey uint32
	hashKey      uint32 // index + 1; 0 when the record had no explicit hash key
}

// addition is what adding a record would do to an aggregation, as measured
// before the record is added.
type addition struct {
	indexes         recordIndexes
	newPartitionKey bool
	newHashKey      bool
	grow            int // bytes the protobuf encoding grows by
}

// measure works out the table indexes the record would get and by how many
// bytes the encoding would grow, without changing the aggregation.
func (g *aggregation) measure(u *userRecord) addition {
	var a addition
	pk, ok := g.partitionKeyIndex[u.PartitionKey]
	if !ok {
		pk = uint32(len(g.partitionKeys))
		a.newPartitionKey = true
		a.grow += 1 + protowire.SizeBytes(len(u.PartitionKey))
	}
	a.indexes.partitionKey = pk
	if u.explicitHash {
		ehk, ok := g.hashKeyIndex[u.hash]
		if !ok {
			ehk = uint32(len(g.hashKeys))
			a.newHashKey = true
			a.grow += 1 + protowire.SizeBytes(hashKeyDecimalLen(u.hash))
		}
		a.indexes.hashKey = ehk + 1
	}
	a.grow += 1 + protowire.SizeBytes(recordBodySize(a.indexes, u))
	return a
}

// add appends the record with the indexes measure gave for it; no other
// record may have been added in between.
func (g *aggregation) add(u *userRecord, a addition) {
	if a.newPartitionKey {
		if g.partitionKeyIndex == nil {
			g.partitionKeyIndex = make(map[string]uint32)
		}
		g.partitionKeyIndex[u.PartitionKey] = a.indexes.partitionKey
		g.partitionKeys = append(g.partitionKeys, u.PartitionKey)
	}
	if a.newHashKey {
		if g.hashKeyIndex == nil {
			g.hashKeyIndex = make(map[HashKey]uint32)
		}
		g.hashKeyIndex[u.hash] = a.indexes.hashKey - 1
		g.hashKeys = append(g.hashKeys, u.hash)
	}
	if len(g.records) == 0 {
		g.deadline, g.expiration = u.deadline, u.expiration
	} else {
		g.deadline, g.expiration = min(g.deadline, u.deadline), min(g.expiration, u.expiration)
	}
	g.records = append(g.records, u)
	g.indexes = append(g.indexes, a.indexes)
	g.pbSize += a.grow
}

// size is the exact length of the aggregated record's data: magic, protobuf
// and MD5. (A single record is sent raw instead, and is then smaller.)
func (g *aggregation) size() int { return aggregatedOverhead + g.pbSize }

// recordBodySize is the length of u's Record message, tags included,
// without its own tag and length prefix.
func recordBodySize(idx recordIndexes, u *userRecord) int {
	n := 1 + protowire.SizeVarint(uint64(idx.partitionKey)) + 1 + protowire.SizeBytes(len(u.Data)) + u.tagsSize()
	if idx.hashKey != 0 {
		n += 1 + protowire.SizeVarint(uint64(idx.hashKey-1))
	}
	return n
}

// appendEncoded appends the aggregated record's data: the magic, the
// protobuf encoding of the tables and records, and the MD5 of that encoding.
func (g *aggregation) appendEncoded(b []byte) []byte {
	b = append(b, aggregatedMagic[:]...)
	start := len(b)
	for _, k := range g.partitionKeys {
		b = append(b, tagPartitionKeyTable)
		b = protowire.AppendString(b, k)
	}
	for _, h := range g.hashKeys {
		// At most 39 digits, so the length is one byte, filled in afterwards.
		b = append(b, tagExplicitHashKeyTable, 0)
		n := len(b)
		b = appendHashKey(b, h)
		b[n-1] = byte(len(b) - n)
	}
	for i, u := range g.records {
		idx := g.indexes[i]
		b = append(b, tagRecords)
		b = protowire.AppendVarint(b, uint64(recordBodySize(idx, u)))
		b = append(b, tagPartitionKeyIndex)
		b = protowire.AppendVarint(b, uint64(idx.partitionKey))
		if idx.hashKey != 0 {
			b = append(b, tagExplicitHashKeyIndex)
			b = protowire.AppendVarint(b, uint64(idx.hashKey-1))
		}
		b = append(b, tagData)
		b = protowire.AppendBytes(b, u.Data)
		if tags := u.tags(); len(tags) > 0 {
			b = appendTags(b, tags)
		}
	}
	sum := md5.Sum(b[start:])
	return append(b, sum[:]...)
}

// kinesisRecord builds the Kinesis record of the aggregation's records and
// hands them over to it: one record goes raw, several go aggregated. The
// aggregation must not be used afterwards but to recycle it.
func (g *aggregation) kinesisRecord() *kinesisRecord {
	k := g.pendingKinesisRecord()
	k.encode()
	return k
}

// pendingKinesisRecord is kinesisRecord with the encoding left for later
// (kinesisRecord.encode): an aggregated record keeps the aggregation, which
// must not be used or recycled meanwhile. One record goes raw at once, and
// its aggregation may be recycled.
func (g *aggregation) pendingKinesisRecord() *kinesisRecord {
	if len(g.records) == 1 {
		return singleKinesisRecord(g.records)
	}
	first := g.records[0]
	predictedShardID, shard := first.prediction()
	return &kinesisRecord{
		records:          g.records,
		partitionKey:     aggregatedPartitionKey,
		explicitHashKey:  hashKeyString(first.hash),
		pending:          g,
		deadline:         g.deadline.time(),
		expiration:       g.expiration.time(),
		predictedShardID: predictedShardID,
		shard:            shard,
	}
}

// recycle empties a taken aggregation, whose records went to a Kinesis
// record, for reuse, keeping the capacity of its tables.
func (g *aggregation) recycle() {
	g.records = nil
	g.indexes = g.indexes[:0]
	clear(g.partitionKeys) // let go of the callers' strings
	g.partitionKeys = g.partitionKeys[:0]
	g.hashKeys = g.hashKeys[:0]
	g.pbSize = 0
	g.deadline, g.expiration = 0, 0
}

// newKinesisRecord packs user records into one Kinesis record, as the KPL
// does. One record is sent raw: its own partition key, its hash key in
// decimal as the explicit hash key, its data as is. Two or more are
// aggregated: partition key "a", the first record's hash key as the explicit
// hash key, and the aggregated data. The deadline and expiration are the
// earliest among the records. The Kinesis record keeps records.
func newKinesisRecord(records []*userRecord) *kinesisRecord {
	if len(records) == 1 {
		return singleKinesisRecord(records)
	}
	var g aggregation
	for _, u := range records {
		g.add(u, g.measure(u))
	}
	g.records = records
	return g.kinesisRecord()
}

// singleKinesisRecord sends records' one user record raw.
func singleKinesisRecord(records []*userRecord) *kinesisRecord {
	u := records[0]
	predictedShardID, shard := u.prediction()
	return &kinesisRecord{
		records:          records,
		partitionKey:     u.PartitionKey,
		explicitHashKey:  hashKeyString(u.hash),
		data:             nonNil(u.Data),
		deadline:         u.deadline.time(),
		expiration:       u.expiration.time(),
		predictedShardID: predictedShardID,
		shard:            shard,
	}
}

// appendHashKey appends h in decimal, as HashKey.String renders it, without
// allocating.
func appendHashKey(b []byte, h HashKey) []byte {
	if h.Hi == 0 {
		return strconv.AppendUint(b, h.Lo, 10)
	}
	// h = q·10^19 + r with r < 10^19; h ≥ 2^64 > 10^19, so q ≥ 1 and r takes
	// exactly 19 digits after q's.
	const e19 = 10_000_000_000_000_000_000
	q := HashKey{Hi: h.Hi / e19}
	var r uint64
	q.Lo, r = bits.Div64(h.Hi%e19, h.Lo, e19)
	b = appendHashKey(b, q)
	var digits [19]byte
	d := strconv.AppendUint(digits[:0], r, 10)
	for range len(digits) - len(d) {
		b = append(b, '0')
	}
	return append(b, d...)
}

// hashKeyString is h in decimal.
func hashKeyString(h HashKey) string {
	var buf [39]byte
	return string(appendHashKey(buf[:0], h))
}

// hashKeyDecimalLen is the number of decimal digits of h.
func hashKeyDecimalLen(h HashKey) int {
	var buf [39]byte
	return len(appendHashKey(buf[:0], h))
}
