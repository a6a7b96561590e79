package core

import (
	"context"
	"errors"
	"net"
	"strings"

	"github.com/aws/smithy-go"
)

// Error codes that gokpl itself puts in attempts, beside the service's own
// exception names.
const (
	CodeExpired             = "Expired"
	CodeProducerClosed      = "ProducerClosed"
	CodeRecordCountMismatch = "Record Count Mismatch"
	CodeWrongShard          = "Wrong Shard"
	CodeNetworkError        = "NetworkError"
	CodeRequestTimeout      = "RequestTimeout"
	CodeThrottled           = "ProvisionedThroughputExceededException"
)

// action is what the retrier does with a record after an attempt.
type action int

const (
	actionRetry     action = iota // back into the pipeline after a backoff, until the record's TTL
	actionFail                    // fail now: retrying cannot help
	actionThrottled               // retry with throttling backoff, or fail when fail_if_throttled
)

// classification is the single table of how the service's error codes are
// handled. Codes missing from it are transient (InternalFailure, 5xx,
// ServiceUnavailable, KMSThrottlingException, ...) and retried until the
// record's TTL.
var classification = map[string]action{
	// Throttling: the shard or account is over its limits; retrying later works.
	"ProvisionedThroughputExceededException": actionThrottled,
	"ThrottlingException":                    actionThrottled,
	"LimitExceededException":                 actionThrottled,
	"RequestLimitExceeded":                   actionThrottled,

	// The stream or request is wrong; the same request fails forever.
	"ResourceNotFoundException": actionFail,
	"InvalidArgumentException":  actionFail,
	"ValidationException":       actionFail,
	"ResourceInUseException":    actionRetry, // stream is UPDATING or CREATING: it becomes writable
	"SerializationException":    actionFail,

	// The caller may not write; an operator has to act.
	"AccessDeniedException":       actionFail,
	"UnrecognizedClientException": actionFail,
	"InvalidSignatureException":   actionFail,
	"MissingAuthenticationToken":  actionFail,

	// The stream's KMS key is unusable; an operator has to act.
	"KMSDisabledException":     actionFail,
	"KMSInvalidStateException": actionFail,
	"KMSAccessDeniedException": actionFail,
	"KMSNotFoundException":     actionFail,
	"KMSOptInRequired":         actionFail,
	"KMSThrottlingException":   actionThrottled,

	// Temporary credentials ran out; the SDK's chain refreshes them.
	"ExpiredTokenException": actionRetry,
}

// classifyCode maps a service error code to the retrier's action.
func classifyCode(code string) action {
	if a, ok := classification[code]; ok {
		return a
	}
	return actionRetry
}

// requestErrorCode turns an error from a PutRecords call into the error code
// and message recorded in each record's attempt.
func requestErrorCode(err error) (code, message string) {
	var invalid smithy.InvalidParamsError
	if errors.As(err, &invalid) {
		return "ValidationException", "the SDK rejected the request before sending it: " + invalid.Error()
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode(), apiErr.ErrorMessage()
	}
	var netErr net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &netErr) && netErr.Timeout()):
		return CodeRequestTimeout, "request timed out; it may still have been written: " + err.Error()
	case errors.Is(err, context.Canceled):
		return CodeProducerClosed, "request cancelled by producer shutdown"
	}
	return CodeNetworkError, strings.TrimSpace(err.Error())
}
