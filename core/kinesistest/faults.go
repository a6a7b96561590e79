package kinesistest

import (
	"math"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Fault describes how the server misbehaves on one request. The zero Fault
// changes nothing; set fields combine.
//
// Without Applied, a fault that answers with an error or a reset leaves the
// request unapplied, as if it never reached the service. With Applied, the
// operation takes effect first and only its response is lost or replaced,
// as when the service stored records but the client never heard so.
type Fault struct {
	// Delay holds the response back. Without Applied the operation runs
	// after the delay and is skipped if the client gives up meanwhile;
	// with Applied it runs before.
	Delay time.Duration

	// StatusCode, when nonzero, answers with an error response of this
	// HTTP status. ErrorType is its __type (defaulting by status:
	// InternalFailure for 5xx, ServiceUnavailable for 503,
	// InvalidArgumentException otherwise) and Message its message.
	StatusCode int
	ErrorType  string
	Message    string

	// ResetConnection drops the TCP connection with a reset instead of
	// answering.
	ResetConnection bool

	// Applied makes the operation take effect before the delay, error or
	// reset.
	Applied bool

	// RecordFailures fails individual entries of a PutRecords request,
	// which are then not stored; the rest are. On PutRecord, a failure at
	// index 0 answers with an error response of that ErrorCode.
	RecordFailures []RecordFailure

	// ResponseRecordsDelta changes the number of entries in a PutRecords
	// response after the request was applied: negative drops entries from
	// the end, positive repeats the last one. FailedRecordCount still
	// counts the entries that really failed.
	ResponseRecordsDelta int
}

// RecordFailure fails one PutRecords entry.
type RecordFailure struct {
	// Index is the entry's position in the request.
	Index int
	// ErrorCode defaults to ProvisionedThroughputExceededException;
	// InternalFailure and KMS errors are the service's other codes.
	ErrorCode string
	// ErrorMessage defaults to the service's message for ErrorCode.
	ErrorMessage string
}

// ErrorFault returns a fault that answers with an error response of the
// given HTTP status and error type, leaving the request unapplied.
func ErrorFault(status int, errorType, message string) Fault {
	return Fault{StatusCode: status, ErrorType: errorType, Message: message}
}

// interrupts reports whether the fault replaces the operation's response.
func (f *Fault) interrupts() bool {
	return f.StatusCode != 0 || f.ResetConnection
}

// apiError returns the error response the fault answers with.
func (f *Fault) apiError() *apiError {
	code := f.ErrorType
	if code == "" {
		code = errorTypeForStatus(f.StatusCode)
	}
	message := f.Message
	if message == "" {
		message = defaultErrorMessage(code)
	}
	return &apiError{status: f.StatusCode, code: code, message: message}
}

func defaultErrorMessage(code string) string {
	switch code {
	case ErrorTypeProvisionedThroughputExceeded:
		return "Rate exceeded."
	case ErrorTypeInternalFailure:
		return "Internal service failure."
	case ErrorTypeServiceUnavailable:
		return "Service Unavailable"
	case ErrorTypeExpiredToken:
		return "The security token included in the request is expired"
	}
	return "Injected fault."
}

// Request is what a fault rule sees of one incoming call. It is a copy:
// changing it does not change the call.
type Request struct {
	// Operation is the API action, such as "PutRecords".
	Operation string
	// StreamName names the stream the call addresses, when it names one.
	StreamName string
	// Records are the entries of a PutRecord or PutRecords call, in
	// request order.
	Records []RecordEntry
	// Header is the HTTP request header; Amz-Sdk-Request carries the
	// SDKs' attempt number. Do not modify it.
	Header http.Header
}

// RecordEntry is one record as a client sent it.
type RecordEntry struct {
	PartitionKey    string
	ExplicitHashKey string
	Data            []byte
}

// FaultFunc decides the fault for one request; nil means none. It is called
// concurrently from request goroutines.
type FaultFunc func(req *Request) *Fault

// faultInjector chooses the fault for each request: first a matching
// scripted fault, which uses up one of its requests, then a matching
// standing fault, then the fault rule. It is safe for concurrent use.
type faultInjector struct {
	mu       sync.Mutex
	queue    []*scheduledFault // scripted, in the order injected
	standing []*scheduledFault // every matching request until cleared
	rule     FaultFunc
	active   bool // whether anything is set, so idle servers skip describing requests
}

// scheduledFault is a fault for requests of an operation ("" for any):
// the next remaining ones when scripted, every one when standing.
type scheduledFault struct {
	operation    string
	fault        Fault
	remaining    int
	entries      *entryFailures // nil unless the fault fails a fraction of entries
	partitionKey string         // "" unless the fault needs an entry with this key
}

// entryFailures fails a fraction of the entries a fault sees, spread evenly
// over them in the order they arrive, across requests. Requests reserve
// their entries with one atomic add, so concurrent requests share the
// count without a lock.
type entryFailures struct {
	rate float64
	code string
	seen atomic.Int64
}

// matches reports whether the fault applies to a request of operation,
// which describe describes. A fault that fails entries or names a partition
// key applies only to the operations that have entries; describe is called
// only for one that names a partition key.
func (sf *scheduledFault) matches(operation string, describe func() *Request) bool {
	if sf.operation != "" && sf.operation != operation {
		return false
	}
	if (sf.entries != nil || sf.partitionKey != "") && !writesRecords(operation) {
		return false
	}
	return sf.partitionKey == "" || hasPartitionKey(describe().Records, sf.partitionKey)
}

func writesRecords(operation string) bool {
	return operation == "PutRecords" || operation == "PutRecord"
}

func hasPartitionKey(entries []RecordEntry, key string) bool {
	for i := range entries {
		if entries[i].PartitionKey == key {
			return true
		}
	}
	return false
}

// describeOnce returns describe, remembering its result: a request is
// described at most once, however many faults look at it.
func describeOnce(describe func() *Request) func() *Request {
	var req *Request
	return func() *Request {
		if req == nil {
			req = describe()
		}
		return req
	}
}

// faultFor returns the fault for one request, calling describe only for a
// fault that fails a fraction of entries.
func (sf *scheduledFault) faultFor(describe func() *Request) *Fault {
	f := sf.fault
	if sf.entries != nil {
		f.RecordFailures = sf.entries.take(len(describe().Records))
	}
	return &f
}

// take reserves the next n entries and returns the failures among them,
// indexed from 0: entry k of all those seen fails when ceil((k+1)*rate)
// exceeds ceil(k*rate), so the first entry always fails and failures
// never bunch up.
func (ef *entryFailures) take(n int) []RecordFailure {
	first := ef.seen.Add(int64(n)) - int64(n)
	var failures []RecordFailure
	for i := range n {
		k := float64(first + int64(i))
		if math.Ceil((k+1)*ef.rate) > math.Ceil(k*ef.rate) {
			failures = append(failures, RecordFailure{Index: i, ErrorCode: ef.code})
		}
	}
	return failures
}

func (fi *faultInjector) schedule(sf *scheduledFault) {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	if sf.remaining < 0 {
		fi.standing = append(fi.standing, sf)
	} else {
		fi.queue = append(fi.queue, sf)
	}
	fi.active = true
}

func (fi *faultInjector) setRule(rule FaultFunc) {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	fi.rule = rule
	fi.updateActiveLocked()
}

func (fi *faultInjector) updateActiveLocked() {
	fi.active = len(fi.queue) > 0 || len(fi.standing) > 0 || fi.rule != nil
}

func (fi *faultInjector) clear() {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	fi.queue = nil
	fi.standing = nil
	fi.rule = nil
	fi.active = false
}

// pending counts the requests that scripted faults have yet to apply to.
func (fi *faultInjector) pending() int {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	n := 0
	for _, sf := range fi.queue {
		n += sf.remaining
	}
	return n
}

// next returns the fault for a request of operation, calling describe only
// if a fault could apply, and at most once. describe may run with the
// injector's lock held: it only copies the decoded request. next never
// returns nil.
func (fi *faultInjector) next(operation string, describe func() *Request) *Fault {
	fi.mu.Lock()
	if !fi.active {
		fi.mu.Unlock()
		return &Fault{}
	}
	describe = describeOnce(describe)
	sf := fi.takeLocked(operation, describe)
	rule := fi.rule
	fi.mu.Unlock()

	if sf != nil {
		return sf.faultFor(describe)
	}
	if rule != nil {
		if f := rule(describe()); f != nil {
			return f
		}
	}
	return &Fault{}
}

// takeLocked returns the first matching scripted fault, using up one of its
// requests, or else the first matching standing fault, or nil.
func (fi *faultInjector) takeLocked(operation string, describe func() *Request) *scheduledFault {
	for i, sf := range fi.queue {
		if sf.matches(operation, describe) {
			if sf.remaining--; sf.remaining == 0 {
				fi.queue = slices.Delete(fi.queue, i, i+1)
				fi.updateActiveLocked()
			}
			return sf
		}
	}
	for _, sf := range fi.standing {
		if sf.matches(operation, describe) {
			return sf
		}
	}
	return nil
}

// InjectFault scripts a one-shot fault for the next request of operation,
// such as "PutRecords", or of any operation if operation is empty.
// Scripted faults are consumed in the order injected and take precedence
// over standing faults and the fault rule.
func (s *Server) InjectFault(operation string, f Fault) {
	s.ScheduleFault(operation, f, FaultSchedule{})
}

// FaultSchedule says which requests a fault given to [Server.ScheduleFault]
// applies to, and whether it fails a fraction of their entries.
type FaultSchedule struct {
	// Times is how many matching requests the fault applies to, as a
	// scripted fault: 0 and 1 mean the next one. A negative Times makes
	// it a standing fault, which applies to every matching request that
	// no scripted fault takes, until ClearFaults; the first standing
	// fault installed that matches wins.
	Times int

	// EntryFailureRate, in (0, 1], fails that fraction of the entries of
	// the requests the fault applies to, with EntryErrorCode (default
	// ProvisionedThroughputExceededException), replacing the fault's
	// RecordFailures. Failures are spread evenly over all the entries the
	// fault sees, across requests: 0.5 fails the first entry, the third,
	// and so on. Such a fault applies only to PutRecords and PutRecord.
	EntryFailureRate float64
	EntryErrorCode   string

	// PartitionKey, when set, makes the fault apply only to PutRecords and
	// PutRecord requests with an entry of this partition key, and count
	// only those in Times: a producer's poison record, whose whole request
	// the fault can reject, as with ErrorFault(400, ErrorTypeValidation, "").
	PartitionKey string
}

// ScheduleFault installs f for requests of operation ("" for any) as sched
// says: scripted for the next sched.Times requests, or standing.
func (s *Server) ScheduleFault(operation string, f Fault, sched FaultSchedule) {
	sf := &scheduledFault{operation: operation, fault: f, remaining: max(sched.Times, 1), partitionKey: sched.PartitionKey}
	if sched.Times < 0 {
		sf.remaining = -1
	}
	if sched.EntryFailureRate > 0 {
		sf.entries = &entryFailures{rate: min(sched.EntryFailureRate, 1), code: sched.EntryErrorCode}
	}
	s.faults.schedule(sf)
}

// SetFaultFunc installs a rule that decides the fault for every request
// without a scripted fault; nil removes it.
func (s *Server) SetFaultFunc(fn FaultFunc) {
	s.faults.setRule(fn)
}

// ClearFaults removes every scripted and standing fault and the fault rule.
func (s *Server) ClearFaults() {
	s.faults.clear()
}

// PendingFaults returns how many requests scripted faults have yet to apply
// to; standing faults do not count.
func (s *Server) PendingFaults() int {
	return s.faults.pending()
}
