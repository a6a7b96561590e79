package kinesistest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

const (
	// targetPrefix starts the X-Amz-Target header of every Kinesis call.
	targetPrefix = "Kinesis_20131202."
	// contentType is the AWS JSON 1.1 media type of requests and responses.
	contentType = "application/x-amz-json-1.1"
	// maxRequestBytes bounds a request body. The largest valid PutRecords
	// request is about 14 MiB once base64 encoded; requests somewhat over
	// the limits still get read, and so the service's validation errors.
	maxRequestBytes = 32 << 20
)

// Options configures a Server. The zero value serves on a random loopback
// port with no streams.
type Options struct {
	// Addr is the address to listen on; default "127.0.0.1:0".
	Addr string
	// Region and AccountID appear in stream ARNs and messages; defaults
	// "us-east-1" and "123456789012".
	Region    string
	AccountID string
	// Streams are created ACTIVE at start, mapping name to shard count.
	Streams map[string]int
	// StreamMaxRecordSizeKiB gives streams of Streams, by name, a maximum
	// record size (data plus partition key) other than
	// DefaultMaxRecordSizeKiB, up to LargestMaxRecordSizeKiB.
	StreamMaxRecordSizeKiB map[string]int
	// CreateDelay keeps streams created through the CreateStream API in
	// CREATING status this long.
	CreateDelay time.Duration
	// Discard keeps only record counts, not records, for benchmarks.
	// GetRecords then returns no records and Records returns nil.
	Discard bool
	// ShardRateLimit, when set, throttles writes per shard as the service
	// does; see DefaultShardRateLimit.
	ShardRateLimit ShardRateLimit
	// Now is the clock for arrival times, iterator expiry and rate
	// limits; default time.Now.
	Now func() time.Time
}

// Server is a running fake Kinesis endpoint. Its methods are safe for
// concurrent use. Streams are guarded by mu; each stream guards its own
// shards and records.
type Server struct {
	// URL is the endpoint, "http://127.0.0.1:port".
	URL string

	opts       Options
	now        func() time.Time
	httpServer *http.Server
	served     chan struct{}
	closing    chan struct{}
	closeOnce  sync.Once
	// running is read-locked by every request being served and locked
	// for good by Close, which so waits for requests and refuses new ones.
	running sync.RWMutex

	mu           sync.RWMutex
	streams      map[string]*stream
	lastStreamID uint64

	faults   faultInjector
	requests requestCounter
	control  http.Handler
}

// Start listens on opts.Addr, creates opts.Streams and serves until Close.
func Start(opts Options) (*Server, error) {
	opts = withDefaults(opts)
	s := &Server{
		opts:    opts,
		now:     opts.Now,
		served:  make(chan struct{}),
		closing: make(chan struct{}),
		streams: make(map[string]*stream),
	}
	s.control = newControlHandler(s)
	if err := s.createInitialStreams(); err != nil {
		return nil, err
	}
	listener, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("kinesistest: listen: %w", err)
	}
	s.URL = "http://" + listener.Addr().String()
	s.httpServer = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          log.New(io.Discard, "", 0),
	}
	go func() {
		defer close(s.served)
		_ = s.httpServer.Serve(listener)
	}()
	return s, nil
}

// createInitialStreams creates the streams of the options.
func (s *Server) createInitialStreams() error {
	for name := range s.opts.StreamMaxRecordSizeKiB {
		if _, ok := s.opts.Streams[name]; !ok {
			return fmt.Errorf("kinesistest: StreamMaxRecordSizeKiB names %q, which Streams does not", name)
		}
	}
	for name, shards := range s.opts.Streams {
		if err := s.CreateStream(name, shards, WithMaxRecordSizeKiB(s.opts.StreamMaxRecordSizeKiB[name])); err != nil {
			return err
		}
	}
	return nil
}

// NewServer is Start for tests: it panics if the server cannot listen or
// opts.Streams names an invalid stream.
func NewServer(opts Options) *Server {
	s, err := Start(opts)
	if err != nil {
		panic(err)
	}
	return s
}

func withDefaults(opts Options) Options {
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	if opts.Region == "" {
		opts.Region = "us-east-1"
	}
	if opts.AccountID == "" {
		opts.AccountID = "123456789012"
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return opts
}

// Close stops the server, drops its connections, cuts injected delays
// short and waits for running requests to finish.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		close(s.closing)
		_ = s.httpServer.Close()
		<-s.served
		s.running.Lock()
	})
}

// operation is one decoded API call.
type operation interface {
	// describe fills in what fault rules see of the call.
	describe(s *Server, req *Request)
	// apply performs the call under fault f and returns the response body.
	apply(s *Server, f *Fault) (any, *apiError)
}

// operations maps each supported action to a constructor of its input.
var operations = map[string]func() operation{
	"CreateStream":          func() operation { return new(createStreamInput) },
	"DeleteStream":          func() operation { return new(deleteStreamInput) },
	"DescribeStream":        func() operation { return new(describeStreamInput) },
	"DescribeStreamSummary": func() operation { return new(describeStreamSummaryInput) },
	"ListStreams":           func() operation { return new(listStreamsInput) },
	"ListShards":            func() operation { return new(listShardsInput) },
	"SplitShard":            func() operation { return new(splitShardInput) },
	"MergeShards":           func() operation { return new(mergeShardsInput) },
	"PutRecord":             func() operation { return new(putRecordInput) },
	"PutRecords":            func() operation { return new(putRecordsInput) },
	"UpdateMaxRecordSize":   func() operation { return new(updateMaxRecordSizeInput) },
	"GetShardIterator":      func() operation { return new(getShardIteratorInput) },
	"GetRecords":            func() operation { return new(getRecordsInput) },
}

// ServeHTTP answers one Kinesis API call, or a control API request under
// ControlPathPrefix.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !s.running.TryRLock() {
		panic(http.ErrAbortHandler) // closing
	}
	defer s.running.RUnlock()
	if isControlRequest(r) {
		s.control.ServeHTTP(w, r)
		return
	}

	name := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), targetPrefix)
	s.requests.add(name)
	newOperation, ok := operations[name]
	if !ok {
		writeError(w, newAPIError(http.StatusBadRequest, ErrorTypeUnknownOperation,
			"Operation %q is not supported.", r.Header.Get("X-Amz-Target")))
		return
	}
	if strings.Contains(r.Header.Get("Content-Type"), "cbor") {
		writeError(w, newAPIError(http.StatusBadRequest, ErrorTypeSerialization,
			"Content type %q is not supported; use %s.", r.Header.Get("Content-Type"), contentType))
		return
	}
	op := newOperation()
	if err := decodeRequest(w, r, op); err != nil {
		writeError(w, err)
		return
	}
	fault := s.faults.next(name, func() *Request {
		req := &Request{Operation: name, Header: r.Header}
		op.describe(s, req)
		return req
	})
	s.serve(w, r, op, fault)
}

// serve applies op under fault f and writes the response.
func (s *Server) serve(w http.ResponseWriter, r *http.Request, op operation, f *Fault) {
	if !f.Applied && !s.wait(r.Context(), f.Delay) {
		return
	}
	var out any
	var err *apiError
	if f.Applied || !f.interrupts() {
		out, err = op.apply(s, f)
	}
	if f.Applied && !s.wait(r.Context(), f.Delay) {
		return
	}
	switch {
	case f.ResetConnection:
		resetConnection(w)
	case f.StatusCode != 0:
		writeError(w, f.apiError())
	case err != nil:
		writeError(w, err)
	default:
		writeJSON(w, out)
	}
}

// wait sleeps for d and reports whether the request is still worth
// answering: false if the client went away or the server is closing.
func (s *Server) wait(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	case <-s.closing:
		return false
	}
}

// bodyBuffers recycles request and response buffers; a buffer goes back
// once decoding or writing is done, since decoded values never alias it.
var bodyBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// decodeRequest reads the JSON body into op.
func decodeRequest(w http.ResponseWriter, r *http.Request, op operation) *apiError {
	buf := bodyBuffers.Get().(*bytes.Buffer)
	defer bodyBuffers.Put(buf)
	buf.Reset()
	if r.ContentLength > 0 && r.ContentLength <= maxRequestBytes {
		buf.Grow(int(r.ContentLength))
	}
	if _, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, maxRequestBytes)); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return newAPIError(http.StatusRequestEntityTooLarge, ErrorTypeSerialization,
				"Request body exceeds %d bytes.", maxRequestBytes)
		}
		return newAPIError(http.StatusBadRequest, ErrorTypeSerialization, "Cannot read request body: %v", err)
	}
	body := bytes.TrimSpace(buf.Bytes())
	if len(body) == 0 {
		return nil
	}
	if fast, ok := op.(fastDecoder); ok && fast.decodeFast(body) {
		return nil
	}
	if err := json.Unmarshal(body, op); err != nil {
		return newAPIError(http.StatusBadRequest, ErrorTypeSerialization, "Cannot decode request: %v", err)
	}
	return nil
}

// writeJSON writes a successful response.
func writeJSON(w http.ResponseWriter, v any) {
	buf := bodyBuffers.Get().(*bytes.Buffer)
	defer bodyBuffers.Put(buf)
	buf.Reset()
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		writeError(w, newAPIError(http.StatusInternalServerError, ErrorTypeInternalFailure, "Cannot encode response: %v", err))
		return
	}
	writeBody(w, http.StatusOK, buf.Bytes())
}

// writeError writes an error response the way the service does: the type
// in both the __type field and the X-Amzn-ErrorType header, which the AWS
// SDKs read.
func writeError(w http.ResponseWriter, e *apiError) {
	body, _ := json.Marshal(struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}{e.code, e.message})
	w.Header().Set("X-Amzn-ErrorType", e.code)
	writeBody(w, e.status, body)
}

func writeBody(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("X-Amzn-RequestId", requestID())
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// requestID returns a random identifier shaped like the service's.
func requestID() string {
	a, b := rand.Uint64(), rand.Uint64()
	return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", a>>32, a>>16&0xffff, a&0xffff, b>>48, b&0xffffffffffff)
}

// resetConnection drops the client's connection with a TCP reset.
func resetConnection(w http.ResponseWriter) {
	hijacker, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hijacker.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tcp, ok := conn.(*net.TCPConn); ok {
		_ = tcp.SetLinger(0)
	}
	_ = conn.Close()
}
