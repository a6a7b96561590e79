package kinesistest

import (
	"fmt"
	"net/http"
)

// Error types the service returns in the __type field of an error response
// and in the X-Amzn-ErrorType header, and in the ErrorCode of a failed
// PutRecords entry.
const (
	ErrorTypeProvisionedThroughputExceeded = "ProvisionedThroughputExceededException"
	ErrorTypeInternalFailure               = "InternalFailure"
	ErrorTypeServiceUnavailable            = "ServiceUnavailable"
	ErrorTypeExpiredToken                  = "ExpiredTokenException"
	ErrorTypeResourceNotFound              = "ResourceNotFoundException"
	ErrorTypeResourceInUse                 = "ResourceInUseException"
	ErrorTypeInvalidArgument               = "InvalidArgumentException"
	ErrorTypeValidation                    = "ValidationException"
	ErrorTypeLimitExceeded                 = "LimitExceededException"
	ErrorTypeExpiredIterator               = "ExpiredIteratorException"
	ErrorTypeExpiredNextToken              = "ExpiredNextTokenException"
	ErrorTypeKMSThrottling                 = "KMSThrottlingException"
	ErrorTypeSerialization                 = "SerializationException"
	ErrorTypeUnknownOperation              = "UnknownOperationException"
)

// apiError is an error response as the service sends it: an HTTP status, an
// error type and a message. Values are immutable.
type apiError struct {
	status  int
	code    string
	message string
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

func newAPIError(status int, code, format string, args ...any) *apiError {
	return &apiError{status: status, code: code, message: fmt.Sprintf(format, args...)}
}

func validationError(format string, args ...any) *apiError {
	return newAPIError(http.StatusBadRequest, ErrorTypeValidation, format, args...)
}

func invalidArgument(format string, args ...any) *apiError {
	return newAPIError(http.StatusBadRequest, ErrorTypeInvalidArgument, format, args...)
}

func resourceNotFound(format string, args ...any) *apiError {
	return newAPIError(http.StatusBadRequest, ErrorTypeResourceNotFound, format, args...)
}

func resourceInUse(format string, args ...any) *apiError {
	return newAPIError(http.StatusBadRequest, ErrorTypeResourceInUse, format, args...)
}

func limitExceeded(format string, args ...any) *apiError {
	return newAPIError(http.StatusBadRequest, ErrorTypeLimitExceeded, format, args...)
}

// statusForErrorType returns the HTTP status the service uses for an error
// type: 500 and 503 for its server-side failures, 400 for everything else.
func statusForErrorType(code string) int {
	switch code {
	case ErrorTypeInternalFailure:
		return http.StatusInternalServerError
	case ErrorTypeServiceUnavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusBadRequest
}

// errorTypeForStatus returns the error type the service sends with a
// server-side status, for faults that give only a status.
func errorTypeForStatus(status int) string {
	switch {
	case status == http.StatusServiceUnavailable:
		return ErrorTypeServiceUnavailable
	case status >= 500:
		return ErrorTypeInternalFailure
	}
	return ErrorTypeInvalidArgument
}
