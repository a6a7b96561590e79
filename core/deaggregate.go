package core

import (
	"bytes"
	"crypto/md5"
	"fmt"

	"github.com/gokpl/gokpl/internal/aggpb"
	"google.golang.org/protobuf/proto"
)

// DeaggregatedRecord is one user record read back from a Kinesis record.
type DeaggregatedRecord struct {
	PartitionKey    string
	ExplicitHashKey string // decimal; empty when an aggregated user record had none
	Data            []byte
	Tags            []Tag // an aggregated user record's tags; nil when it had none
}

// IsAggregated reports whether data is a KPL aggregated record: the magic
// bytes F3 89 9A C2, then at least one protobuf byte, then the MD5 of the
// protobuf bytes, which it checks. It does not parse the protobuf.
func IsAggregated(data []byte) bool {
	_, ok := aggregatedProtobuf(data)
	return ok
}

// Deaggregate reads the user records out of one Kinesis record, given as it
// was received: its partition key, explicit hash key and data.
//
// For an aggregated record it returns each user record with its own
// partition key, its explicit hash key from the record's table (empty when
// the user record had none), its data and its tags, in the order they were
// packed.
// Any other data is a single user record, returned as it was given.
//
// Data that starts with the magic bytes but has no protobuf bytes or fails
// its MD5 check is, for the KCL, a plain record that happens to start with
// those bytes. Deaggregate returns it the same way, as the only record, but
// also returns an error wrapping ErrNotAggregated, so that a caller can tell
// it from damage; a caller that wants the KCL's behaviour uses the record
// and ignores that error. An aggregated record whose MD5 matches but whose
// protobuf cannot be read yields no records and an error wrapping
// ErrCorrupt (the KCL delivers such a record whole when the protobuf does
// not parse, and logs and drops it when an index is out of range).
//
// The Data of a record that was not aggregated is data itself; aggregated
// records get copies. Safe for concurrent use.
func Deaggregate(partitionKey, explicitHashKey string, data []byte) ([]DeaggregatedRecord, error) {
	whole := []DeaggregatedRecord{{PartitionKey: partitionKey, ExplicitHashKey: explicitHashKey, Data: data}}
	if !bytes.HasPrefix(data, aggregatedMagic[:]) {
		return whole, nil
	}
	pb, ok := aggregatedProtobuf(data)
	if !ok {
		return whole, fmt.Errorf("%w: starts with the magic bytes, but is too short or its MD5 does not match", ErrNotAggregated)
	}
	var ar aggpb.AggregatedRecord
	if err := proto.Unmarshal(pb, &ar); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	pks, ehks := ar.GetPartitionKeyTable(), ar.GetExplicitHashKeyTable()
	out := make([]DeaggregatedRecord, len(ar.GetRecords()))
	for i, r := range ar.GetRecords() {
		pk := r.GetPartitionKeyIndex()
		if pk >= uint64(len(pks)) {
			return nil, fmt.Errorf("%w: record %d: partition key index %d outside a table of %d", ErrCorrupt, i, pk, len(pks))
		}
		out[i] = DeaggregatedRecord{PartitionKey: pks[pk], Data: nonNil(r.GetData())}
		if r.ExplicitHashKeyIndex != nil {
			ehk := r.GetExplicitHashKeyIndex()
			if ehk >= uint64(len(ehks)) {
				return nil, fmt.Errorf("%w: record %d: explicit hash key index %d outside a table of %d", ErrCorrupt, i, ehk, len(ehks))
			}
			out[i].ExplicitHashKey = ehks[ehk]
		}
		out[i].Tags = tagsOf(r.GetTags())
	}
	return out, nil
}

// tagsOf converts a record's decoded tags.
func tagsOf(tags []*aggpb.Tag) []Tag {
	if len(tags) == 0 {
		return nil
	}
	out := make([]Tag, len(tags))
	for i, t := range tags {
		out[i] = Tag{Key: t.GetKey(), Value: t.GetValue(), HasValue: t.Value != nil}
	}
	return out
}

// aggregatedProtobuf returns the protobuf bytes of an aggregated record,
// and whether data is one (magic and MD5 check out). Like the KCL, it takes
// data with no protobuf bytes for a plain record: an aggregated record holds
// at least one user record.
func aggregatedProtobuf(data []byte) ([]byte, bool) {
	if len(data) <= aggregatedOverhead || !bytes.HasPrefix(data, aggregatedMagic[:]) {
		return nil, false
	}
	pb := data[len(aggregatedMagic) : len(data)-md5.Size]
	sum := md5.Sum(pb)
	return pb, bytes.Equal(sum[:], data[len(data)-md5.Size:])
}
