package core

import (
	"fmt"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"
)

// Tag is a key and an optional value attached to a user record. Tags travel
// only inside aggregated Kinesis records, as the Tag entries of the record's
// message (internal/aggpb/aggregated.proto); a record sent alone, raw, has
// no place for them and goes without its tags.
type Tag struct {
	Key      string
	Value    string
	HasValue bool // Value is set (an empty Value is then written too)
}

// Field tags of the Tag message and of a Record's tags, one byte each.
const (
	tagRecordTag = byte(4<<3 | protowire.BytesType)
	tagTagKey    = byte(1<<3 | protowire.BytesType)
	tagTagValue  = byte(2<<3 | protowire.BytesType)
)

// validateTags checks that every key and value is valid UTF-8 (protobuf
// strings) and that the tags' encoding fits in an aggregated record. It
// returns the bytes they add to their record's message.
func validateTags(tags []Tag) (int, error) {
	for i := range tags {
		if !utf8.ValidString(tags[i].Key) {
			return 0, &InvalidRecordError{Field: fmt.Sprintf("tags[%d].key", i), Reason: "must be valid UTF-8"}
		}
		if tags[i].HasValue && !utf8.ValidString(tags[i].Value) {
			return 0, &InvalidRecordError{Field: fmt.Sprintf("tags[%d].value", i), Reason: "must be valid UTF-8"}
		}
	}
	n := tagsSize(tags)
	if n > MaxTagsSize {
		return 0, &InvalidRecordError{Field: "tags", Reason: fmt.Sprintf("must take at most %d bytes encoded, got %d", MaxTagsSize, n)}
	}
	return n, nil
}

// tagsSize is what tags add to their record's message: each one's field tag,
// length prefix and Tag message.
func tagsSize(tags []Tag) int {
	n := 0
	for i := range tags {
		n += 1 + protowire.SizeBytes(tagBodySize(&tags[i]))
	}
	return n
}

// tagBodySize is the length of one Tag message without its own field tag
// and length prefix.
func tagBodySize(t *Tag) int {
	n := 1 + protowire.SizeBytes(len(t.Key))
	if t.HasValue {
		n += 1 + protowire.SizeBytes(len(t.Value))
	}
	return n
}

// appendTags appends tags as a Record's repeated tags field.
func appendTags(b []byte, tags []Tag) []byte {
	for i := range tags {
		t := &tags[i]
		b = append(b, tagRecordTag)
		b = protowire.AppendVarint(b, uint64(tagBodySize(t)))
		b = append(b, tagTagKey)
		b = protowire.AppendString(b, t.Key)
		if t.HasValue {
			b = append(b, tagTagValue)
			b = protowire.AppendString(b, t.Value)
		}
	}
	return b
}

// tagsBytes is the memory tags hold, for the budget.
func tagsBytes(tags []Tag) int {
	n := 0
	for i := range tags {
		n += len(tags[i].Key) + len(tags[i].Value)
	}
	return n
}
