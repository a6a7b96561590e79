package kinesistest

import (
	"net/http"
	"sync"
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
// scripted fault, consumed, then the fault rule. It is safe for concurrent
// use.
type faultInjector struct {
	mu     sync.Mutex
	queue  []scriptedFault
	rule   FaultFunc
	active bool // whether queue or rule is set, so idle servers skip describing requests
}

// scriptedFault is a one-shot fault for the next request of an operation
// ("" for any).
type scriptedFault struct {
	operation string
	fault     Fault
}

func (fi *faultInjector) inject(operation string, f Fault) {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	fi.queue = append(fi.queue, scriptedFault{operation: operation, fault: f})
	fi.active = true
}

func (fi *faultInjector) setRule(rule FaultFunc) {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	fi.rule = rule
	fi.active = len(fi.queue) > 0 || rule != nil
}

func (fi *faultInjector) clear() {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	fi.queue = nil
	fi.rule = nil
	fi.active = false
}

func (fi *faultInjector) pending() int {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	return len(fi.queue)
}

// next returns the fault for a request of operation, calling describe only
// if a fault could apply. It never returns nil.
func (fi *faultInjector) next(operation string, describe func() *Request) *Fault {
	fi.mu.Lock()
	if !fi.active {
		fi.mu.Unlock()
		return &Fault{}
	}
	if f, ok := fi.takeScriptedLocked(operation); ok {
		fi.mu.Unlock()
		return &f
	}
	rule := fi.rule
	fi.mu.Unlock()

	if rule != nil {
		if f := rule(describe()); f != nil {
			return f
		}
	}
	return &Fault{}
}

func (fi *faultInjector) takeScriptedLocked(operation string) (Fault, bool) {
	for i, sf := range fi.queue {
		if sf.operation == "" || sf.operation == operation {
			fi.queue = append(fi.queue[:i], fi.queue[i+1:]...)
			fi.active = len(fi.queue) > 0 || fi.rule != nil
			return sf.fault, true
		}
	}
	return Fault{}, false
}

// InjectFault scripts a one-shot fault for the next request of operation,
// such as "PutRecords", or of any operation if operation is empty.
// Scripted faults are consumed in the order injected and take precedence
// over the fault rule.
func (s *Server) InjectFault(operation string, f Fault) {
	s.faults.inject(operation, f)
}

// SetFaultFunc installs a rule that decides the fault for every request
// without a scripted fault; nil removes it.
func (s *Server) SetFaultFunc(fn FaultFunc) {
	s.faults.setRule(fn)
}

// ClearFaults removes every scripted fault and the fault rule.
func (s *Server) ClearFaults() {
	s.faults.clear()
}

// PendingFaults returns how many scripted faults are not yet consumed.
func (s *Server) PendingFaults() int {
	return s.faults.pending()
}
