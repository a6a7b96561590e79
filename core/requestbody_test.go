package core

import (
	"bytes"
	"context"
	stdbase64 "encoding/base64"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go"
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

func TestPutRecordsBodyIsOneExactAllocation(t *testing.T) {
	records := make([]types.PutRecordsRequestEntry, 500)
	for i := range records {
		records[i] = entry(bytes.Repeat([]byte{byte(i)}, 10_000), strings.Repeat("k", i%256+1), aws.String("12345678901234567890"))
	}
	in := &kinesis.PutRecordsInput{StreamName: aws.String("stream"), Records: records}
	body, ok := putRecordsBody(in)
	if !ok {
		t.Fatal("a plain input was left to the SDK")
	}
	if len(body) != cap(body) {
		t.Errorf("body of %d bytes in a buffer of %d", len(body), cap(body))
	}
	if allocs := testing.AllocsPerRun(10, func() { putRecordsBody(in) }); allocs != 1 {
		t.Errorf("%v allocations per body, want 1", allocs)
	}
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
				putRecordsBody(in)
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
