package core

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
)

// The errors the package's functions return. Test for them with errors.Is
// and errors.As: a returned error may wrap them.
var (
	// ErrClosed is returned by Put after Close has begun. The RecordError
	// of a record that Close failed before it was delivered
	// (CodeProducerClosed) matches it too.
	ErrClosed = errors.New("gokpl: producer is closed")

	// ErrExpired matches the RecordError of a record whose RecordTTL
	// passed before it was delivered (CodeExpired).
	ErrExpired = errors.New("gokpl: record expired before it was delivered")

	// ErrThrottled matches the RecordError of a record that failed on a
	// throttling code (ProvisionedThroughputExceededException and the
	// others the service throttles with). Only a producer with
	// FailIfThrottled fails such a record; otherwise it is retried until
	// it succeeds or expires.
	ErrThrottled = errors.New("gokpl: record throttled")

	// ErrBackpressure is wrapped by the error a Put returns when the
	// producer stayed full of unresolved records (MaxOutstandingRecords or
	// MaxOutstandingBytes) until the put's context ended.
	ErrBackpressure = errors.New("gokpl: producer is full: max_outstanding_records or max_outstanding_bytes reached")

	// ErrCancelled is returned by Outcome.Wait after Outcome.Cancel won.
	ErrCancelled = errors.New("gokpl: outcome cancelled")

	// ErrNotAggregated is returned by Deaggregate for data that starts
	// with the aggregated record's magic bytes but is not an aggregated
	// record: it has no protobuf bytes or its MD5 does not match.
	ErrNotAggregated = errors.New("gokpl: not an aggregated record")

	// ErrCorrupt is returned by Deaggregate for an aggregated record whose
	// MD5 matches but whose protobuf cannot be read: malformed, missing a
	// required field, or pointing outside its key tables.
	ErrCorrupt = errors.New("gokpl: corrupt aggregated record")
)

// InvalidRecordError reports a record that can never be sent, naming the
// field; Put and ParseHashKey return it.
type InvalidRecordError struct {
	Field  string
	Reason string
}

func (e *InvalidRecordError) Error() string {
	return fmt.Sprintf("gokpl: invalid record: %s %s", e.Field, e.Reason)
}

// RecordError is a record that failed for good: the error code and message
// of its last attempt, and how many attempts it had. RecordResult.Err returns
// it. With errors.Is it matches ErrExpired (CodeExpired), ErrClosed
// (CodeProducerClosed) and ErrThrottled (the throttling codes).
type RecordError struct {
	// Code is the service's exception name or one of the Code constants.
	Code    string
	Message string
	// Attempts is RecordResult.AttemptCount(): the record's trips to the
	// service, plus the synthetic last step of an expired or closed record.
	Attempts int
}

func (e *RecordError) Error() string {
	attempts := "attempts"
	if e.Attempts == 1 {
		attempts = "attempt"
	}
	if e.Message == "" {
		return fmt.Sprintf("gokpl: record failed after %d %s: %s", e.Attempts, attempts, e.Code)
	}
	return fmt.Sprintf("gokpl: record failed after %d %s: %s: %s", e.Attempts, attempts, e.Code, e.Message)
}

// Is reports whether target is the sentinel for e's code.
func (e *RecordError) Is(target error) bool {
	switch target {
	case ErrExpired:
		return e.Code == CodeExpired
	case ErrClosed:
		return e.Code == CodeProducerClosed
	case ErrThrottled:
		return classifyCode(e.Code) == actionThrottled
	}
	return false
}

// ConfigError reports one bad configuration field, naming it and what it
// allows, or (Field ConfigFieldAWS) an AWS setup the SDK could not load;
// New, NewKinesisClient and ParseConfigJSON return it.
type ConfigError struct {
	Field  string
	Reason string
}

// ConfigFieldAWS is the Field of a ConfigError about the AWS setup (the
// shared config files, a profile, the region's endpoint) rather than one
// option.
const ConfigFieldAWS = "(aws)"

func (e *ConfigError) Error() string {
	if e.Field == ConfigFieldAWS {
		return "gokpl: AWS setup: " + e.Reason
	}
	return fmt.Sprintf("gokpl: config field %q %s", e.Field, e.Reason)
}

// Error codes that gokpl itself puts in attempts, beside the service's own
// exception names.
const (
	CodeExpired             = "Expired"
	CodeProducerClosed      = "ProducerClosed"
	CodeRecordCountMismatch = "Record Count Mismatch"
	CodeIncompleteResult    = "IncompleteResult" // an entry of a PutRecords answer with neither an error nor where it was written; retried
	CodeWrongShard          = "Wrong Shard"
	CodeNetworkError        = "NetworkError"
	CodeResponseLost        = "ResponseLost"
	CodeRequestTimeout      = "RequestTimeout"
	CodeThrottled           = "ProvisionedThroughputExceededException"

	CodeNoCredentials          = "NoCredentials"
	CodeCredentialsUnavailable = "CredentialsUnavailable"
	CodeCredentialsRejected    = "CredentialsRejected"
	CodeTLSVerificationFailed  = "TLSVerificationFailed"

	// CodeRecordTooLarge fails a record larger than its stream's maximum
	// record size when that limit was learnt only after the record was put
	// (a record put once it is known is refused by Put instead).
	CodeRecordTooLarge = "RecordTooLarge"
)

// action is what the retrier does with a record after an attempt.
type action int

const (
	actionRetry              action = iota // back into the pipeline after a backoff, until the record's TTL
	actionRefreshCredentials               // retried, but only after the client refreshed the refused credentials to new ones
	actionFail                             // fail now: retrying cannot help
	actionThrottled                        // retry with throttling backoff, or fail when fail_if_throttled
)

// classification is the single table of how error codes are handled. Codes
// missing from it are transient (InternalFailure, 5xx, ServiceUnavailable,
// NetworkError, ResponseLost, RequestTimeout, ...) and retried until the
// record's TTL.
var classification = map[string]action{
	// Throttling: the shard or account is over its limits; retrying later works.
	"ProvisionedThroughputExceededException": actionThrottled,
	"ThrottlingException":                    actionThrottled,
	"LimitExceededException":                 actionThrottled,
	"RequestLimitExceeded":                   actionThrottled,

	// The stream or request is wrong; the same request fails forever.
	"ResourceNotFoundException": actionFail,
	"InvalidArgumentException":  actionFail,  // a whole request refused with it is split first, so only the records it refuses fail
	"ValidationException":       actionFail,  // a whole request refused with it is split first, so only the records it refuses fail
	"ResourceInUseException":    actionRetry, // stream is UPDATING or CREATING: it becomes writable
	"SerializationException":    actionFail,

	// The caller may not write; an operator has to act.
	"AccessDeniedException": actionFail,

	// The service refused the credentials: wrong keys, or temporary ones that expired or were revoked.
	"UnrecognizedClientException": actionRefreshCredentials,
	"InvalidSignatureException":   actionRefreshCredentials,
	"IncompleteSignature":         actionRefreshCredentials,
	"MissingAuthenticationToken":  actionRefreshCredentials,
	"ExpiredTokenException":       actionRefreshCredentials,

	// The stream's KMS key is unusable; an operator has to act.
	"KMSDisabledException":     actionFail,
	"KMSInvalidStateException": actionFail,
	"KMSAccessDeniedException": actionFail,
	"KMSNotFoundException":     actionFail,
	"KMSOptInRequired":         actionFail,
	"KMSThrottlingException":   actionThrottled,

	// gokpl's codes for the producer's own setup: no request can succeed until it changes.
	CodeNoCredentials:         actionFail,
	CodeCredentialsRejected:   actionFail,
	CodeTLSVerificationFailed: actionFail,

	// The record is larger than its stream takes: it can never be written.
	CodeRecordTooLarge: actionFail,
}

// classifyCode maps an error code to the retrier's action.
func classifyCode(code string) action {
	if a, ok := classification[code]; ok {
		return a
	}
	return actionRetry
}

// setupProblems are the codes that fail every record until an operator
// changes the producer's setup, with what to change. The client logs one
// warning naming the cause when requests start failing with one of them.
var setupProblems = map[string]string{
	CodeNoCredentials:         "no AWS credentials were found: set aws_access_key_id and aws_secret_access_key, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a profile (AWS_PROFILE), or run where a role is available",
	CodeCredentialsRejected:   "the service refused the credentials, and refreshing them gave no others: check the access key, its secret and session token, and the clock",
	CodeTLSVerificationFailed: "the endpoint's TLS certificate could not be verified: check endpoint_url's host name, or trust its certificate authority (AWS_CA_BUNDLE)",
}

// refusesCredentials reports whether err is the service refusing the
// credentials a request was signed with.
func refusesCredentials(err error) bool {
	var apiErr smithy.APIError
	return errors.As(err, &apiErr) && classifyCode(apiErr.ErrorCode()) == actionRefreshCredentials
}

// credentialsRenewedError marks a refusal of credentials after which the
// client refreshed them and got new ones, so that retrying may succeed.
type credentialsRenewedError struct{ err error }

func (e *credentialsRenewedError) Error() string { return e.err.Error() }
func (e *credentialsRenewedError) Unwrap() error { return e.err }

// credentialsError is a failure to get credentials for a request, which
// therefore was not sent. never tells whether the producer ever had any.
type credentialsError struct {
	err   error
	never bool
}

func (e *credentialsError) Error() string { return e.err.Error() }
func (e *credentialsError) Unwrap() error { return e.err }

// requestErrorCode turns an error from a Kinesis call into the error code and
// message recorded in each record's attempt.
func requestErrorCode(err error) (code, message string) {
	var invalid smithy.InvalidParamsError
	if errors.As(err, &invalid) {
		return "ValidationException", "the SDK rejected the request before sending it: " + invalid.Error()
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return serviceErrorCode(err, apiErr)
	}
	var creds *credentialsError
	if errors.As(err, &creds) {
		if creds.never {
			return CodeNoCredentials, "no AWS credentials: " + creds.Error()
		}
		return CodeCredentialsUnavailable, "the credentials could not be refreshed; nothing was sent: " + creds.Error()
	}
	if tlsVerificationFailed(err) {
		return CodeTLSVerificationFailed, err.Error()
	}
	var netErr net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &netErr) && netErr.Timeout()):
		return CodeRequestTimeout, "request timed out; it may still have been written: " + err.Error()
	case errors.Is(err, context.Canceled):
		return CodeProducerClosed, "request cancelled by producer shutdown"
	}
	return connectionErrorCode(err)
}

// serviceErrorCode is the code of an error the service answered with. A
// refusal of the credentials keeps the service's code only once the client
// refreshed them to new ones; otherwise it is CredentialsRejected.
func serviceErrorCode(err error, apiErr smithy.APIError) (code, message string) {
	code, message = apiErr.ErrorCode(), apiErr.ErrorMessage()
	if classifyCode(code) != actionRefreshCredentials {
		return code, message
	}
	var renewed *credentialsRenewedError
	if errors.As(err, &renewed) {
		return code, message + " (the credentials were refreshed; retrying with the new ones)"
	}
	return CodeCredentialsRejected, code + ": " + message + " (refreshing the credentials gave no others)"
}

// connectionErrorCode classifies a connection that failed. Before the request
// was sent (no connection, or one lost while writing), nothing was written:
// NetworkError. After it, the service may have written the records although
// its answer never arrived or could not be read: ResponseLost, retried as
// the KPL does, so a consumer may see the records twice.
func connectionErrorCode(err error) (code, message string) {
	message = strings.TrimSpace(err.Error())
	var opErr *net.OpError
	if errors.As(err, &opErr) && (opErr.Op == "dial" || opErr.Op == "write") {
		return CodeNetworkError, "the request was not sent: " + message
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return CodeNetworkError, "the request was not sent: " + message
	}
	var respErr *awshttp.ResponseError
	if errors.As(err, &respErr) && respErr.HTTPStatusCode() >= 300 {
		return CodeNetworkError, "the service answered with an error that could not be read: " + message
	}
	return CodeResponseLost, "the connection failed after the request was sent; its records may have been written: " + message
}

// tlsVerificationFailed reports whether err is the endpoint's certificate
// failing verification: an unknown authority, another host's name, an
// expired or otherwise invalid certificate.
func tlsVerificationFailed(err error) bool {
	var verify *tls.CertificateVerificationError
	var authority x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var invalid x509.CertificateInvalidError
	return errors.As(err, &verify) || errors.As(err, &authority) || errors.As(err, &hostname) || errors.As(err, &invalid)
}

// isSetupProblem reports whether err is one of the setupProblems.
func isSetupProblem(err error) bool {
	code, _ := requestErrorCode(err)
	return setupProblems[code] != ""
}

// listingLogLevel is the level at which a failed ListShards is logged: debug
// for the setup problems the client already warns about once, else warn.
func listingLogLevel(err error) slog.Level {
	if isSetupProblem(err) {
		return slog.LevelDebug
	}
	return slog.LevelWarn
}

// transientLookupError reports whether a failed lookup about a stream (its
// maximum record size) may succeed later: throttling, a network failure or
// timeout, credentials that could not be refreshed, or a server-side error.
// Anything else is an answer, and asking again would get the same one.
func transientLookupError(err error) bool {
	code, _ := requestErrorCode(err)
	switch code {
	case CodeNetworkError, CodeResponseLost, CodeRequestTimeout, CodeCredentialsUnavailable:
		return true
	}
	if classifyCode(code) == actionThrottled {
		return true
	}
	var respErr *awshttp.ResponseError
	return errors.As(err, &respErr) && respErr.HTTPStatusCode() >= 500
}
