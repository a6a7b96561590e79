package core

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// The service's limits on what a producer sends, from the Kinesis Data
// Streams API reference (PutRecords, CreateStream, UpdateMaxRecordSize,
// StreamDescriptionSummary), and what gokpl does at each. docs/operations.md
// ("Limits") has the same table for users.
const (
	// MaxPartitionKeyChars: a partition key is 1 to 256 Unicode characters,
	// counted as the service (and the KPL's Java wrapper) counts them, in
	// UTF-16 units. Put rejects any other key (InvalidRecordError,
	// partition_key).
	MaxPartitionKeyChars = 256

	// DefaultMaxRecordSize: a record's size is its data plus its partition
	// key (UTF-8 bytes), and a stream takes records up to its maximum record
	// size, 1 MiB unless the stream is configured otherwise. A record this
	// size or smaller is valid on every stream, so it never waits for its
	// stream's limit to be known.
	DefaultMaxRecordSize = 1 << 20

	// MaxRecordSizeLimit: a stream can be configured (MaxRecordSizeInKiB,
	// 1024 to 10240) for records up to 10 MiB. Put rejects a larger record
	// on any stream; between the two, the stream's own limit decides
	// (recordlimit.go): Put rejects a record over it once it is known, and
	// before that the record fails alone with CodeRecordTooLarge.
	MaxRecordSizeLimit = 10 << 20

	// MaxRequestEntries: a PutRecords request holds 1 to 500 entries;
	// collection_max_count cannot be set higher.
	MaxRequestEntries = 500

	// MaxRequestBytes: a PutRecords request is at most 10 MiB, partition
	// keys included (5 MiB before streams could take large records).
	// collection_max_size, at most 5 MiB, bounds every request; a single
	// record larger than it goes in a request of its own, which is then at
	// most MaxRecordSizeLimit.
	MaxRequestBytes = 10 << 20

	// MaxStreamNameLength: a stream name is 1 to 128 characters of
	// [a-zA-Z0-9_.-]; Put rejects any other (InvalidRecordError, stream).
	MaxStreamNameLength = 128

	// MaxStreamARNLength: a stream ARN is 1 to 2048 characters matching
	// arn:aws.*:kinesis:.*:\d{12}:stream/\S+; Put rejects any other.
	MaxStreamARNLength = 2048

	// MaxTagsSize: a record's tags travel only inside an aggregated record,
	// which is at most aggregation_max_size (1 MiB at most), so tags whose
	// encoding takes more could never be sent. Put rejects them
	// (InvalidRecordError, tags). Tags that fit alone but not beside their
	// record's data make the record go alone, raw, without them.
	MaxTagsSize = DefaultMaxRecordSize
)

// aggregatedMaxDataSize is the most data an aggregated record may carry
// under aggregation_max_size: its own partition key counts against the
// service's limit too.
func aggregatedMaxDataSize(aggregationMaxSize int64) int {
	return int(aggregationMaxSize) - len(aggregatedPartitionKey)
}

// recordSize is how the service measures a record: data plus partition key.
func recordSize(partitionKey string, data []byte) int { return len(data) + len(partitionKey) }

// streamARNPattern is the API's pattern for a stream ARN.
var streamARNPattern = regexp.MustCompile(`^arn:aws.*:kinesis:.*:\d{12}:stream/\S+$`)

// streamID is a stream as the producer addresses it: by name, or by ARN
// (the name is then the ARN's last part, used in metrics and logs).
type streamID struct {
	key  string // as the caller gave it
	name string
	arn  string // "" when addressed by name
}

// parseStream validates a stream name or ARN as the API's patterns and
// lengths have it.
func parseStream(stream string) (streamID, error) {
	if strings.HasPrefix(stream, "arn:") {
		return parseStreamARN(stream)
	}
	if err := validateStreamName(stream); err != nil {
		return streamID{}, err
	}
	return streamID{key: stream, name: stream}, nil
}

func parseStreamARN(arn string) (streamID, error) {
	if len(arn) > MaxStreamARNLength {
		return streamID{}, &InvalidRecordError{Field: "stream", Reason: fmt.Sprintf("is a stream ARN of %d characters; at most %d are allowed", len(arn), MaxStreamARNLength)}
	}
	if !utf8.ValidString(arn) || !streamARNPattern.MatchString(arn) {
		return streamID{}, &InvalidRecordError{Field: "stream", Reason: fmt.Sprintf("%q is not a stream ARN (arn:PARTITION:kinesis:REGION:ACCOUNT:stream/NAME)", arn)}
	}
	name := arn[strings.LastIndex(arn, ":stream/")+len(":stream/"):]
	if err := validateStreamName(name); err != nil {
		return streamID{}, &InvalidRecordError{Field: "stream", Reason: fmt.Sprintf("%q names no valid stream: %s", arn, err.(*InvalidRecordError).Reason)}
	}
	return streamID{key: arn, name: name, arn: arn}, nil
}

// address sets the field of a request that names the stream: StreamARN
// when the stream was given by ARN, else StreamName.
func (s streamID) address(name, arn **string) {
	if s.arn != "" {
		*arn = &s.arn
		return
	}
	*name = &s.name
}

func validateStreamName(name string) error {
	if name == "" {
		return &InvalidRecordError{Field: "stream", Reason: "must not be empty"}
	}
	if len(name) > MaxStreamNameLength {
		return &InvalidRecordError{Field: "stream", Reason: fmt.Sprintf("must be at most %d characters, got %d", MaxStreamNameLength, len(name))}
	}
	for i := 0; i < len(name); i++ {
		if !isStreamNameByte(name[i]) {
			return &InvalidRecordError{Field: "stream", Reason: fmt.Sprintf("%q may hold only letters, digits, '_', '.' and '-' (or be a stream ARN)", name)}
		}
	}
	return nil
}

func isStreamNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-'
}
