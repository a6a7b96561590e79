package core

import (
	"bytes"
	"context"
	stdbase64 "encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// sdkProtocol is the Kinesis client's own wire protocol, the reference
// putRecordsProtocol must match.
func sdkProtocol() smithyhttp.ClientProtocol {
	var p smithyhttp.ClientProtocol
	kinesis.New(kinesis.Options{Region: "us-east-1"}, func(o *kinesis.Options) { p = o.Protocol })
	return p
}

// serialized is what a protocol makes of in: method, path, headers and body.
func serialized(t testing.TB, p smithyhttp.ClientProtocol, in smithy.Serializable) (string, http.Header, []byte) {
	t.Helper()
	req := smithyhttp.NewStackRequest().(*smithyhttp.Request)
	schema := putRecordsSchema(t)
	if err := p.SerializeRequest(context.Background(), schema, in, req); err != nil {
		t.Fatal(err)
	}
	var body []byte
	if s := req.GetStream(); s != nil {
		var err error
		if body, err = io.ReadAll(s); err != nil {
			t.Fatal(err)
		}
	}
	return req.Method + " " + req.URL.Path, req.Header, body
}

// putRecordsSchema is the operation schema the client passes for PutRecords,
// caught from a real call that goes no further than serialization.
func putRecordsSchema(t testing.TB) *smithy.OperationSchema {
	t.Helper()
	var schema *smithy.OperationSchema
	catch := &schemaCatcher{ClientProtocol: sdkProtocol(), schema: &schema}
	client := kinesis.New(kinesis.Options{Region: "us-east-1", Credentials: aws.AnonymousCredentials{}, BaseEndpoint: aws.String("http://127.0.0.1:1")},
		func(o *kinesis.Options) { o.Protocol = catch })
	_, _ = client.PutRecords(context.Background(), &kinesis.PutRecordsInput{StreamName: aws.String("s"), Records: []types.PutRecordsRequestEntry{}})
	if schema == nil {
		t.Fatal("PutRecords was not serialized")
	}
	return schema
}

type schemaCatcher struct {
	smithyhttp.ClientProtocol
	schema **smithy.OperationSchema
}

func (c *schemaCatcher) SerializeRequest(ctx context.Context, schema *smithy.OperationSchema, in smithy.Serializable, req *smithyhttp.Request) error {
	*c.schema = schema
	return errCaught
}

var errCaught = &smithy.GenericAPIError{Code: "Caught"}

// sameAsSDK fails unless putRecordsProtocol serializes in as the SDK does.
func sameAsSDK(t testing.TB, in *kinesis.PutRecordsInput) {
	t.Helper()
	sdk := sdkProtocol()
	wantLine, wantHeader, wantBody := serialized(t, sdk, in)
	gotLine, gotHeader, gotBody := serialized(t, putRecordsProtocol{sdk}, in)
	if gotLine != wantLine {
		t.Errorf("request line %q, want %q", gotLine, wantLine)
	}
	for name := range wantHeader {
		if gotHeader.Get(name) != wantHeader.Get(name) {
			t.Errorf("header %s: %q, want %q", name, gotHeader.Get(name), wantHeader.Get(name))
		}
	}
	if len(gotHeader) != len(wantHeader) {
		t.Errorf("headers %v, want %v", gotHeader, wantHeader)
	}
	if !bytes.Equal(gotBody, wantBody) {
		t.Errorf("body\n%s\nwant\n%s", gotBody, wantBody)
	}
}

func entry(data []byte, key string, hashKey *string) types.PutRecordsRequestEntry {
	return types.PutRecordsRequestEntry{Data: data, PartitionKey: aws.String(key), ExplicitHashKey: hashKey}
}

func TestPutRecordsBodyIsTheSDKs(t *testing.T) {
	hashKey := aws.String("170141183460469231731687303715884105728")
	cases := map[string]*kinesis.PutRecordsInput{
		"records": {StreamName: aws.String("orders"), Records: []types.PutRecordsRequestEntry{
			entry([]byte("hello"), "user-1", hashKey), entry(bytes.Repeat([]byte{0xff, 0, 7}, 700), "a", hashKey),
		}},
		"no hash key":            {StreamName: aws.String("s"), Records: []types.PutRecordsRequestEntry{entry([]byte{1}, "k", nil)}},
		"empty data":             {StreamName: aws.String("s"), Records: []types.PutRecordsRequestEntry{entry([]byte{}, "k", hashKey)}},
		"nil data":               {StreamName: aws.String("s"), Records: []types.PutRecordsRequestEntry{entry(nil, "k", hashKey)}},
		"nothing in the entry":   {StreamName: aws.String("s"), Records: []types.PutRecordsRequestEntry{{}, {}}},
		"no records":             {StreamName: aws.String("s"), Records: []types.PutRecordsRequestEntry{}},
		"stream ARN":             {StreamARN: aws.String("arn:aws:kinesis:us-east-1:123456789012:stream/s"), Records: []types.PutRecordsRequestEntry{entry([]byte("x"), "k", nil)}},
		"ARN and name":           {StreamARN: aws.String("arn:aws:kinesis:us-east-1:1:stream/s"), StreamName: aws.String("s"), Records: []types.PutRecordsRequestEntry{entry([]byte("x"), "k", nil)}},
		"quote in a key":         {StreamName: aws.String("s"), Records: []types.PutRecordsRequestEntry{entry([]byte("x"), `say "hi"`, nil)}},
		"backslash in a key":     {StreamName: aws.String("s"), Records: []types.PutRecordsRequestEntry{entry([]byte("x"), `C:\temp`, nil)}},
		"control in a key":       {StreamName: aws.String("s"), Records: []types.PutRecordsRequestEntry{entry([]byte("x"), "line\nbreak\x01\x7f", nil)}},
		"unicode in a key":       {StreamName: aws.String("s"), Records: []types.PutRecordsRequestEntry{entry([]byte("x"), "clé-😀\u2028", nil)}},
		"invalid UTF-8 in a key": {StreamName: aws.String("s"), Records: []types.PutRecordsRequestEntry{entry([]byte("x"), "bad\xff\xfe", nil)}},
		"dry run":                {StreamName: aws.String("s"), DryRun: aws.Bool(true), Records: []types.PutRecordsRequestEntry{entry([]byte("x"), "k", nil)}},
		"nil records":            {StreamName: aws.String("s")},
		"stream id":              {StreamName: aws.String("s"), StreamId: aws.String("id-1"), Records: []types.PutRecordsRequestEntry{entry([]byte("x"), "k", nil)}},
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) { sameAsSDK(t, in) })
	}
}

// A body is written into one buffer of requestBodies sized beforehand, so
// it never grows; once the buffer is handed back, the next body of about the
// same size is written without allocating one.
func TestPutRecordsBodyIsWrittenIntoOnePooledBuffer(t *testing.T) {
	records := make([]types.PutRecordsRequestEntry, 500)
	for i := range records {
		records[i] = entry(bytes.Repeat([]byte{byte(i)}, 10_000), strings.Repeat("k", i%256+1), aws.String("12345678901234567890"))
	}
	in := &kinesis.PutRecordsInput{StreamName: aws.String("stream"), Records: records}
	size, _ := putRecordsBodySize(in)
	body, ok := putRecordsBody(in)
	if !ok {
		t.Fatal("a plain input was left to the SDK")
	}
	if _, capacity, _ := bufferClass(size); len(body) != size || cap(body) != capacity {
		t.Errorf("body of %d bytes in a buffer of %d, want %d in %d", len(body), cap(body), size, capacity)
	}
	requestBodies.put(body)
	// The race detector's sync.Pool drops a quarter of what it is given, and
	// a collection may empty it, so a body written without a new buffer is
	// asked of one try in twenty.
	least := uint64(size)
	for range 20 {
		least = min(least, allocatedBytes(func() {
			body, _ := putRecordsBody(in)
			requestBodies.put(body)
		}))
	}
	if least > 1024 {
		t.Errorf("every body of %d bytes allocated %d bytes or more", size, least)
	}
}

// allocatedBytes is the heap f allocates.
func allocatedBytes(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// The body's buffer goes back to requestBodies only once the call is over,
// and no read of the body that the transport makes afterwards can reach it:
// the SDK closes each attempt's body when the HTTP client returns, and a
// closed body reads as empty. The HTTP client here answers without reading
// the body and keeps the request, as net/http's writer may go on reading it.
func TestRequestBodyIsReleasedOnlyOnceTheCallIsOver(t *testing.T) {
	client := testKinesisClient(t, "http://127.0.0.1:1")
	var body *requestBody
	var sent *http.Request
	releasedDuringCall := false
	answer := smithyhttp.ClientDoFunc(func(req *http.Request) (*http.Response, error) {
		sent, releasedDuringCall = req, body == nil || body.buf == nil
		return putRecordsAnswer(req, 1), nil
	})
	_, err := client.PutRecords(context.Background(), checkedPutRecordsInput("call", 1, 3000),
		func(o *kinesis.Options) { o.HTTPClient = answer }, captureRequestBody(&body))
	if err != nil {
		t.Fatal(err)
	}
	if body == nil || sent == nil {
		t.Fatal("the call did not go through putRecordsProtocol and the HTTP client")
	}
	if releasedDuringCall {
		t.Error("the body was released before the HTTP client returned")
	}
	if body.buf != nil {
		t.Error("the body was not released once the call was over")
	}
	if n, err := sent.Body.Read(make([]byte, 100)); n != 0 || err != io.EOF {
		t.Errorf("a read of the sent body after the call: %d bytes, %v; want 0, EOF", n, err)
	}
}

// Bodies whose buffers are reused stay whole on the wire while many calls
// share the buffers: the server checks every entry of every body it reads,
// and answers a third of the requests before reading their bodies, while
// connections slow each write down, so that the transport's writer is often
// still reading a body when its call is over. Run with -race: a buffer
// handed back too early is then also a data race.
func TestRequestBodiesStayWholeAcrossConcurrentCalls(t *testing.T) {
	var requests atomic.Int64
	srv := newBodyCheckingServer(t, func(*http.Request) bodyCheck {
		if requests.Add(1)%3 == 0 {
			return failUnread
		}
		return checkAndAccept
	})
	client := testKinesisClient(t, srv.URL)
	defer client.CloseIdleConnections()
	slowConnections(client.transport, 200*time.Microsecond, 1<<20, 0)

	const callers, calls = 6, 15
	var released atomic.Int64
	var wg sync.WaitGroup
	for c := range callers {
		wg.Go(func() {
			for i := range calls {
				var body *requestBody
				in := checkedPutRecordsInput(fmt.Sprintf("caller-%d-call-%d", c, i), 50, 3000)
				_, _ = client.PutRecords(context.Background(), in, captureRequestBody(&body))
				if body != nil && body.buf == nil {
					released.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if n := released.Load(); n != callers*calls {
		t.Errorf("%d of %d bodies released", n, callers*calls)
	}
	if srv.checked.Load() == 0 {
		t.Error("no body was read whole")
	}
}

// A body stays whole until the SDK is done retrying it: each request's
// first attempt is read, then refused, and its second attempt is checked.
func TestRequestBodyOutlivesRetries(t *testing.T) {
	srv := newBodyCheckingServer(t, func(r *http.Request) bodyCheck {
		if strings.HasPrefix(r.Header.Get("Amz-Sdk-Request"), "attempt=1;") {
			return checkAndFail
		}
		return checkAndAccept
	})
	client := testKinesisClient(t, srv.URL)
	defer client.CloseIdleConnections()
	retries := func(o *kinesis.Options) {
		o.Retryer = retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = 2
			o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
			o.RateLimiter = ratelimit.None
		})
	}
	var wg sync.WaitGroup
	for c := range 4 {
		wg.Go(func() {
			for i := range 10 {
				in := checkedPutRecordsInput(fmt.Sprintf("retried-%d-%d", c, i), 20, 3000)
				if _, err := client.PutRecords(context.Background(), in, retries); err != nil {
					t.Errorf("caller %d, call %d: %v", c, i, err)
				}
			}
		})
	}
	wg.Wait()
	if n := srv.checked.Load(); n != 2*4*10 {
		t.Errorf("%d bodies checked, want %d", n, 2*4*10)
	}
}

// captureRequestBody is a call option that keeps in *body the requestBody
// the call sends.
func captureRequestBody(body **requestBody) func(*kinesis.Options) {
	capture := middleware.FinalizeMiddlewareFunc("captureRequestBody", func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
		if req, ok := in.Request.(*smithyhttp.Request); ok {
			*body, _ = req.GetStream().(*requestBody)
		}
		return next.HandleFinalize(ctx, in)
	})
	return func(o *kinesis.Options) {
		o.APIOptions = append(o.APIOptions, func(stack *middleware.Stack) error {
			return stack.Finalize.Add(capture, middleware.After)
		})
	}
}

// checkedPutRecordsInput is a request of n entries of size bytes, keyed
// prefix-0, prefix-1..., each entry's data entryData of its key.
func checkedPutRecordsInput(prefix string, n, size int) *kinesis.PutRecordsInput {
	in := &kinesis.PutRecordsInput{StreamName: aws.String("s")}
	for i := range n {
		key := fmt.Sprintf("%s-%d", prefix, i)
		in.Records = append(in.Records, entry(entryData(key, size), key, nil))
	}
	return in
}

// entryData is the data checkedPutRecordsInput gives the entry keyed key.
func entryData(key string, size int) []byte {
	return bytes.Repeat([]byte(key+"/"), size/(len(key)+1)+1)[:size]
}

// bodyCheck is what a bodyCheckingServer does with a request.
type bodyCheck int

const (
	checkAndAccept bodyCheck = iota // read and check the body, answer success
	checkAndFail                    // read and check the body, answer InternalFailure
	failUnread                      // answer InternalFailure without reading the body
)

// bodyCheckingServer answers PutRecords requests of checkedPutRecordsInput,
// doing with each what decide says, and fails the test when an entry's data
// is not entryData of its key. checked counts the bodies read and found
// whole.
type bodyCheckingServer struct {
	*httptest.Server
	checked atomic.Int64
}

func newBodyCheckingServer(t *testing.T, decide func(*http.Request) bodyCheck) *bodyCheckingServer {
	s := &bodyCheckingServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		check := decide(r)
		if check == failUnread {
			internalFailure(w)
			return
		}
		var body struct {
			Records []types.PutRecordsRequestEntry
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			t.Errorf("a body that is not JSON: %v", err)
			internalFailure(w)
			return
		}
		for _, e := range body.Records {
			if key := aws.ToString(e.PartitionKey); !bytes.Equal(e.Data, entryData(key, len(e.Data))) {
				t.Errorf("entry %s: data %.40q... is another's", key, e.Data)
			}
		}
		s.checked.Add(1)
		if check == checkAndFail {
			internalFailure(w)
			return
		}
		answer := putRecordsAnswer(r, len(body.Records))
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		_, _ = io.Copy(w, answer.Body)
	}))
	t.Cleanup(s.Close)
	return s
}

// putRecordsAnswer is a successful answer to a request of n entries.
func putRecordsAnswer(req *http.Request, n int) *http.Response {
	entries := make([]string, n)
	for i := range entries {
		entries[i] = `{"SequenceNumber":"1","ShardId":"shardId-000000000000"}`
	}
	body := `{"FailedRecordCount":0,"Records":[` + strings.Join(entries, ",") + `]}`
	return &http.Response{
		StatusCode: http.StatusOK, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Request: req,
		Header:        http.Header{"Content-Type": {"application/x-amz-json-1.1"}},
		Body:          io.NopCloser(strings.NewReader(body)),
		ContentLength: int64(len(body)),
	}
}

func internalFailure(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(http.StatusInternalServerError)
	_, _ = io.WriteString(w, `{"__type":"InternalFailure","message":"refused by the test"}`)
}

func TestOnlyPlainStringsTakeTheDirectPath(t *testing.T) {
	for s, plain := range map[string]bool{"": true, "user-42 ~!": true, `a"b`: false, `a\b`: false, "a\tb": false, "\x7f": false, "é": false} {
		if plainJSONString(s) != plain {
			t.Errorf("plainJSONString(%q) = %v, want %v", s, !plain, plain)
		}
	}
}

// The body's data is the standard base64 encoding (encoding/base64, which
// the SDK uses) for every length, whatever the alignment of the data and of
// the place it is written to: the vectorized encoder handles blocks and
// leaves the tail to the standard one.
func TestBlobIsStandardBase64(t *testing.T) {
	lengths := []int{1000, 4095, 4096, 50_000, 1<<20 + 7}
	for n := range 101 {
		lengths = append(lengths, n)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range lengths {
		src := make([]byte, n+3)
		for i := range src {
			src[i] = byte(rng.Uint32())
		}
		for offset := range 4 { // of the data in its array, and of the blob in the body
			data := src[offset : offset+n]
			w := jsonObjectWriter{buf: make([]byte, offset, offset+stdbase64.StdEncoding.EncodedLen(n)+2)}
			w.blob(data)
			want := `"` + stdbase64.StdEncoding.EncodeToString(data) + `"`
			if got := string(w.buf[offset:]); got != want {
				t.Fatalf("%d bytes at offset %d: %.80q, want %.80q", n, offset, got, want)
			}
		}
	}
}

// FuzzPutRecordsBody checks that any input is serialized as the SDK does it,
// whether this writer or the SDK writes it.
func FuzzPutRecordsBody(f *testing.F) {
	f.Add("stream", "key", []byte("data"), "", uint8(1))
	f.Add("s", `k"\`, []byte{}, "340282366920938463463374607431768211455", uint8(3))
	f.Add("s\u00e9", "😀", []byte(nil), "1", uint8(0))
	f.Fuzz(func(t *testing.T, stream, key string, data []byte, hashKey string, shape uint8) {
		var hk *string
		if hashKey != "" {
			hk = aws.String(hashKey)
		}
		records := make([]types.PutRecordsRequestEntry, int(shape%4))
		for i := range records {
			records[i] = entry(data, key, hk)
		}
		in := &kinesis.PutRecordsInput{StreamName: aws.String(stream), Records: records}
		if shape&4 != 0 {
			in.StreamARN = aws.String(key)
		}
		sameAsSDK(t, in)
	})
}

// BenchmarkPutRecordsBody writes the bodies of requests shaped like the
// producer's: aggregated records of about aggregation_max_size (the default
// 50 KiB) and a full request of small raw records with 16-character keys.
func BenchmarkPutRecordsBody(b *testing.B) {
	shapes := []struct {
		name          string
		entries, size int
	}{{"aggregated", 100, 50_000}, {"raw", 500, 200}}
	for _, shape := range shapes {
		b.Run(shape.name, func(b *testing.B) {
			in := benchmarkPutRecordsInput(shape.entries, shape.size)
			body, _ := putRecordsBody(in)
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				body, _ := putRecordsBody(in)
				requestBodies.put(body) // as requestBodyRecycler does after the call
			}
		})
	}
}

// benchmarkPutRecordsInput is a request of entries records of size bytes,
// each with its own partition key and explicit hash key.
func benchmarkPutRecordsInput(entries, size int) *kinesis.PutRecordsInput {
	records := make([]types.PutRecordsRequestEntry, entries)
	for i := range records {
		data := make([]byte, size)
		for j := range data {
			data[j] = byte(i*31 + j*7)
		}
		records[i] = entry(data, fmt.Sprintf("key-%012d", i), aws.String(fmt.Sprintf("%039d", i)))
	}
	return &kinesis.PutRecordsInput{StreamName: aws.String("bench"), Records: records}
}
