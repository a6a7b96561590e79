package core

import "time"

// Attempt is one trip of a record to the service, or a synthetic step that
// ended it (Expired, ProducerClosed), with zero duration.
type Attempt struct {
	StartedAt, EndedAt time.Time
	Success            bool
	ShardID            string
	SequenceNumber     string
	ErrorCode          string
	ErrorMessage       string
}

// RecordResult is a record's final state: success with the shard and
// sequence number the service assigned, or failure with the error of the
// last attempt. Either way it carries every attempt, which Attempts returns.
//
// It is compact, because a program may hold millions of outcomes: a record
// delivered at its first attempt, the common case, keeps only that attempt's
// times beside the shard and sequence number, and its Attempt is built when
// asked for. Other records keep their history of attempts.
//
// The records of one Kinesis record delivered at their first attempt share
// one RecordResult, which their outcomes' Result and Wait return: read it,
// and copy it to change it.
type RecordResult struct {
	Success        bool
	ShardID        string
	SequenceNumber string

	// startedAt and endedAt are the times of a first-attempt success, in
	// Unix nanoseconds, when history is nil.
	startedAt, endedAt int64
	// history is every attempt, the last one deciding, for any record
	// but a first-attempt success.
	history *[]Attempt
}

// NewRecordResult returns the result of a record that made the attempts
// given, the last one deciding: success, shard and sequence number are the
// last attempt's. It is for programs that stand in for a producer in their
// own tests; the producer makes its results itself.
func NewRecordResult(attempts []Attempt) RecordResult {
	history := append([]Attempt(nil), attempts...)
	return historyResult(history)
}

// historyResult is the result of a record with these attempts, which it
// keeps without copying.
func historyResult(attempts []Attempt) RecordResult {
	r := RecordResult{history: &attempts}
	if n := len(attempts); n > 0 && attempts[n-1].Success {
		last := &attempts[n-1]
		r.Success, r.ShardID, r.SequenceNumber = true, last.ShardID, last.SequenceNumber
	}
	return r
}

// deliveredResult is the result of a record written at shardID with
// sequenceNumber by the trip from start to end, after the failed attempts
// given (none, usually).
func deliveredResult(failed []Attempt, start, end time.Time, shardID, sequenceNumber string) RecordResult {
	if len(failed) == 0 {
		return RecordResult{Success: true, ShardID: shardID, SequenceNumber: sequenceNumber, startedAt: start.UnixNano(), endedAt: end.UnixNano()}
	}
	return historyResult(append(failed, Attempt{StartedAt: start, EndedAt: end, Success: true, ShardID: shardID, SequenceNumber: sequenceNumber}))
}

// AttemptCount is the number of attempts, len(r.Attempts()) without making
// the slice.
func (r *RecordResult) AttemptCount() int {
	if r.history == nil {
		return r.firstAttempts()
	}
	return len(*r.history)
}

// firstAttempts is the attempt count of a result without history: one for a
// first-attempt success, none for the zero RecordResult (a record withdrawn
// before it was sent).
func (r *RecordResult) firstAttempts() int {
	if r.Success {
		return 1
	}
	return 0
}

// Attempts returns the record's attempts in order, the deciding one last,
// as a new slice the caller may keep.
func (r *RecordResult) Attempts() []Attempt {
	if r.history != nil {
		return append([]Attempt(nil), *r.history...)
	}
	if r.firstAttempts() == 0 {
		return nil
	}
	return []Attempt{{
		StartedAt:      time.Unix(0, r.startedAt),
		EndedAt:        time.Unix(0, r.endedAt),
		Success:        true,
		ShardID:        r.ShardID,
		SequenceNumber: r.SequenceNumber,
	}}
}

// lastFailure is the last attempt when it is a failure, nil otherwise.
func (r *RecordResult) lastFailure() *Attempt {
	if r.history == nil || len(*r.history) == 0 {
		return nil
	}
	last := &(*r.history)[len(*r.history)-1]
	if last.Success {
		return nil
	}
	return last
}

// ErrorCode is the error code of the last attempt, empty on success.
func (r *RecordResult) ErrorCode() string {
	if a := r.lastFailure(); a != nil {
		return a.ErrorCode
	}
	return ""
}

// ErrorMessage is the error message of the last attempt, empty on success.
func (r *RecordResult) ErrorMessage() string {
	if a := r.lastFailure(); a != nil {
		return a.ErrorMessage
	}
	return ""
}

// Err returns nil when the record was delivered, and otherwise a
// *RecordError with the code and message of its last attempt and its number
// of attempts. errors.Is matches it against ErrExpired, ErrClosed and
// ErrThrottled.
func (r *RecordResult) Err() error {
	if r.Success {
		return nil
	}
	return &RecordError{Code: r.ErrorCode(), Message: r.ErrorMessage(), Attempts: r.AttemptCount()}
}
