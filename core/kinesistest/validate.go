package kinesistest

import (
	"fmt"
	"regexp"
	"strconv"
	"unicode/utf16"
)

// The service's request limits, and the errors it answers a request that
// breaks one with. This file is the one place that knows them; every
// operation validates through it. Stateless and safe for concurrent use.
//
// What the Kinesis API reference says, restated:
//
//   - A record's size is its data blob plus its partition key (the key's
//     UTF-8 bytes), and it may not exceed the maximum record size of the
//     stream it is written to.
//   - Each stream has its own maximum record size, MaxRecordSizeInKiB, from
//     1024 KiB (the default) up to 10240 KiB. CreateStream may set it,
//     UpdateMaxRecordSize changes it (answering ValidationException for a
//     value outside that range) and DescribeStreamSummary reports it.
//   - A PutRecords request holds 1 to 500 records, and all of them together,
//     partition keys included, may not exceed 10 MiB. A request that breaks
//     a limit is rejected as a whole: nothing in it is stored.
//   - The data blob field itself is limited to 10 MiB, a partition key to 1
//     to 256 characters, and an explicit hash key is a decimal number in
//     [0, 2^128-1].
//   - Stream names are 1 to 128 characters of [a-zA-Z0-9_.-]; stream ARNs
//     are 1 to 2048 characters matching arn:aws.*:kinesis:.*:\d{12}:stream/\S+.
//     Operations on a stream take its name, its ARN or both.
//
// Constraint violations are answered as the service's request validation
// does, with ValidationException and a message naming the field ("1
// validation error detected: Value ... at 'records.3.member.data' failed to
// satisfy constraint: Member must ..."); the checks the service makes
// beyond the API's field constraints answer InvalidArgumentException, as it
// does for a request over the total size ("Records size exceeds ... limit")
// or an explicit hash key out of range.
const (
	maxStreamNameLength   = 128
	maxStreamARNLength    = 2048
	maxPartitionKeyLength = 256
	maxDataBlobBytes      = 10 << 20
	maxPutRecordsEntries  = 500
	maxPutRecordsBytes    = 10 << 20
	maxListLimit          = 10000

	// DefaultMaxRecordSizeKiB is a stream's maximum record size, data plus
	// partition key, unless it is created or updated with another.
	DefaultMaxRecordSizeKiB = 1024
	// LargestMaxRecordSizeKiB is the largest maximum record size a stream
	// can have; DefaultMaxRecordSizeKiB is also the smallest.
	LargestMaxRecordSizeKiB = 10240
)

const (
	streamNamePattern = "[a-zA-Z0-9_.-]+"
	streamARNPattern  = `arn:aws.*:kinesis:.*:\d{12}:stream/\S+`
	hashKeyPattern    = `0|([1-9]\d{0,38})`
)

// streamARNSyntax matches a whole stream ARN, as the service's pattern does.
var streamARNSyntax = regexp.MustCompile(`^(?:` + streamARNPattern + `)$`)

// constraintError is the service's message for one field that fails its
// constraint. value is the offending value as the message shows it, or ""
// to leave it out, as the service does for blobs and lists.
func constraintError(value, field, constraint string) *apiError {
	if value != "" {
		value = " " + value
	}
	return validationError("1 validation error detected: Value%s at '%s' failed to satisfy constraint: Member must %s", value, field, constraint)
}

func quoted(s string) string { return "'" + s + "'" }

// lengthError names the bound a length of n breaks, or returns "" if n is
// within [lo, hi].
func lengthError(n, lo, hi int) string { return boundError("length", n, lo, hi) }

// valueError names the bound v breaks, or returns "" if v is within
// [lo, hi].
func valueError(v, lo, hi int) string { return boundError("value", v, lo, hi) }

func boundError(what string, v, lo, hi int) string {
	switch {
	case v < lo:
		return "have " + what + " greater than or equal to " + strconv.Itoa(lo)
	case v > hi:
		return "have " + what + " less than or equal to " + strconv.Itoa(hi)
	}
	return ""
}

// validateStreamName checks a stream name's length and characters.
func validateStreamName(name string) *apiError {
	if c := lengthError(len(name), 1, maxStreamNameLength); c != "" {
		return constraintError(quoted(name), "streamName", c)
	}
	for i := 0; i < len(name); i++ {
		if !isStreamNameByte(name[i]) {
			return constraintError(quoted(name), "streamName", "satisfy regular expression pattern: "+streamNamePattern)
		}
	}
	return nil
}

func isStreamNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-'
}

// validateStreamARN checks a stream ARN's length and form.
func validateStreamARN(arn string) *apiError {
	if c := lengthError(len(arn), 1, maxStreamARNLength); c != "" {
		return constraintError(quoted(arn), "streamARN", c)
	}
	if !streamARNSyntax.MatchString(arn) {
		return constraintError(quoted(arn), "streamARN", "satisfy regular expression pattern: "+streamARNPattern)
	}
	return nil
}

// validateStreamRef checks the stream name and ARN a request gives, each
// only if given; that it gives one is the operation's check.
func validateStreamRef(ref streamRef) *apiError {
	if ref.StreamName != "" {
		if err := validateStreamName(ref.StreamName); err != nil {
			return err
		}
	}
	if ref.StreamARN != "" {
		return validateStreamARN(ref.StreamARN)
	}
	return nil
}

// entryField is the path of a PutRecords entry in validation messages, or
// "" for the single record of PutRecord (index -1).
func entryField(index int) string {
	if index < 0 {
		return ""
	}
	return "records." + strconv.Itoa(index+1) + ".member."
}

// validateEntry checks the field constraints of entry index of a request
// (-1 for PutRecord): the partition key's length, counted in UTF-16 code
// units as the service counts string lengths, the data blob's presence and
// size, and the explicit hash key's form.
func validateEntry(index int, partitionKey string, explicitHashKey *string, data []byte) *apiError {
	if c := lengthError(utf16Length(partitionKey), 1, maxPartitionKeyLength); c != "" {
		return constraintError(quoted(partitionKey), entryField(index)+"partitionKey", c)
	}
	if data == nil {
		return constraintError("null", entryField(index)+"data", "not be null")
	}
	if len(data) > maxDataBlobBytes {
		return constraintError("", entryField(index)+"data", lengthError(len(data), 0, maxDataBlobBytes))
	}
	if explicitHashKey != nil && !isHashKeyForm(*explicitHashKey) {
		return constraintError(quoted(*explicitHashKey), entryField(index)+"explicitHashKey", "satisfy regular expression pattern: "+hashKeyPattern)
	}
	return nil
}

// isHashKeyForm reports whether s matches hashKeyPattern: a decimal
// number of at most 39 digits without leading zeros.
func isHashKeyForm(s string) bool {
	return s == "0" || len(s) >= 1 && len(s) <= 39 && s[0] != '0' && isDecimal(s)
}

// utf16Length counts s in UTF-16 code units.
func utf16Length(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

// hashKeyRangeError is the service's answer to an explicit hash key of the
// right form but beyond 2^128-1.
func hashKeyRangeError(explicitHashKey string) *apiError {
	return invalidArgument("Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. Specified value was %s", explicitHashKey)
}

// validateRecordSize checks that entry index (-1 for PutRecord), of size
// bytes counting its partition key, fits the stream's maximum record size.
// The answer names the entry's data field and the limit in bytes, in the
// shape the service uses for a data blob over the limit.
func validateRecordSize(index, size, maxRecordBytes int) *apiError {
	if size <= maxRecordBytes {
		return nil
	}
	return constraintError("", entryField(index)+"data", lengthError(size, 0, maxRecordBytes))
}

// validateEntryCount checks the number of entries of a PutRecords request.
func validateEntryCount(n int) *apiError {
	if c := lengthError(n, 1, maxPutRecordsEntries); c != "" {
		return constraintError("", "records", c)
	}
	return nil
}

// validateRequestSize checks the total size of a PutRecords request's
// entries, partition keys included.
func validateRequestSize(total int) *apiError {
	if total > maxPutRecordsBytes {
		return invalidArgument("Records size exceeds %d MB limit", maxPutRecordsBytes>>20)
	}
	return nil
}

// validateMaxRecordSizeKiB checks a maximum record size given in KiB.
func validateMaxRecordSizeKiB(kib int) *apiError {
	if c := valueError(kib, DefaultMaxRecordSizeKiB, LargestMaxRecordSizeKiB); c != "" {
		return constraintError(quoted(strconv.Itoa(kib)), "maxRecordSizeInKiB", c)
	}
	return nil
}

// validateLimit checks an optional page size against 1..max and returns
// the size to use.
func validateLimit(field string, value *int, defaultValue, maxValue int) (int, *apiError) {
	if value == nil {
		return defaultValue, nil
	}
	if c := valueError(*value, 1, maxValue); c != "" {
		return 0, constraintError(quoted(fmt.Sprint(*value)), field, c)
	}
	return *value, nil
}
