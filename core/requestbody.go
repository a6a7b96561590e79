package core

import (
	"bytes"
	"context"
	"slices"

	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/segmentio/asm/base64"
)

// putRecordsProtocol is the Kinesis client's wire protocol with PutRecords
// bodies written in one buffer sized beforehand, taken from requestBodies.
// The SDK's own serializer grows its buffer as it goes and then copies it,
// about six times the body's size in allocations for a 5 MiB request, which
// the Go garbage collector then pays for. With requestBodyRecycler on the
// client's stack, the buffer goes back to requestBodies once the call is
// over. Everything else (other operations, every response, the headers of
// PutRecords) is the SDK's protocol, which it wraps.
//
// The body is the same bytes the SDK would write, the data in base64 by
// segmentio/asm's vectorized encoder, which gives encoding/base64's output
// several times faster. It takes this path only for inputs whose strings
// need no JSON escaping (the stream name and every partition and hash key
// printable ASCII without '"' or '\'), and leaves any other input to the
// SDK. Stateless; safe for concurrent use.
type putRecordsProtocol struct {
	smithyhttp.ClientProtocol
}

// SerializeRequest serializes a PutRecords input itself where it can and
// hands everything else to the wrapped protocol.
func (p putRecordsProtocol) SerializeRequest(ctx context.Context, schema *smithy.OperationSchema, in smithy.Serializable, req *smithyhttp.Request) error {
	input, ok := in.(*kinesis.PutRecordsInput)
	if !ok {
		return p.ClientProtocol.SerializeRequest(ctx, schema, in, req)
	}
	body, ok := putRecordsBody(input)
	if !ok {
		return p.ClientProtocol.SerializeRequest(ctx, schema, in, req)
	}
	// The SDK sets the method, path and headers; its body for an input
	// without records is replaced.
	if err := p.ClientProtocol.SerializeRequest(ctx, schema, &kinesis.PutRecordsInput{}, req); err != nil {
		return err
	}
	sreq, err := req.SetStream(newRequestBody(body))
	if err != nil {
		return err
	}
	*req = *sreq
	return nil
}

// putRecordsBody is the JSON body of in, as the SDK writes it, in a buffer
// of requestBodies, or false if in has a field or a string this writer
// leaves to the SDK.
func putRecordsBody(in *kinesis.PutRecordsInput) ([]byte, bool) {
	if in.DryRun != nil || in.StreamId != nil || in.Records == nil {
		return nil, false
	}
	size, ok := putRecordsBodySize(in)
	if !ok {
		return nil, false
	}
	w := jsonObjectWriter{buf: requestBodies.get(size)}
	w.open('{')
	w.key("Records")
	w.open('[')
	for i := range in.Records {
		e := &in.Records[i]
		w.open('{')
		if e.Data != nil {
			w.key("Data")
			w.blob(e.Data)
		}
		w.optionalString("ExplicitHashKey", e.ExplicitHashKey)
		w.optionalString("PartitionKey", e.PartitionKey)
		w.close('}')
	}
	w.close(']')
	w.optionalString("StreamARN", in.StreamARN)
	w.optionalString("StreamName", in.StreamName)
	w.close('}')
	return w.buf, true
}

// requestBodies holds the buffers of PutRecords bodies between requests.
var requestBodies bufferPool

// requestBody is a PutRecords body in a buffer of requestBodies, the stream
// of the call's request: a bytes.Reader, which the SDK hashes, measures and
// rewinds for each attempt. release hands the buffer back once the call is
// over (requestBodyRecycler). Not safe for concurrent use; the SDK reads it
// on the call's goroutine, and the transport through a closer that the SDK
// locks around each read (see requestBodyRecycler).
type requestBody struct {
	bytes.Reader
	buf []byte // nil once released
}

func newRequestBody(buf []byte) *requestBody {
	b := &requestBody{buf: buf}
	b.Reset(buf)
	return b
}

// release hands the buffer back to requestBodies, the first time it is
// called; the body reads as empty afterwards.
func (b *requestBody) release() {
	if b.buf == nil {
		return
	}
	b.Reset(nil)
	requestBodies.put(b.buf)
	b.buf = nil
}

// requestBodyRecycler is the middleware that releases a PutRecords body
// (requestBody) when the call that sent it is over. It comes first in the
// Serialize step, so every attempt, its signing and its transport run
// inside it. Nothing reads the body once it returns: smithy-go's
// ClientHandler gives the transport each attempt's body wrapped in a closer
// and closes it as soon as the HTTP client's Do returns, on errors too. The
// close waits for a read in progress and cuts the stream off, so a read that
// net/http's writer makes afterwards (it may, once the answer came) gets
// io.EOF and never reaches the buffer. The tests of requestbody_test.go
// check both, and that a body outlives the SDK's retries. Stateless; safe
// for concurrent use.
type requestBodyRecycler struct{}

// addRequestBodyRecycler puts requestBodyRecycler on an operation's stack
// (an APIOptions function).
func addRequestBodyRecycler(stack *middleware.Stack) error {
	return stack.Serialize.Add(requestBodyRecycler{}, middleware.Before)
}

func (requestBodyRecycler) ID() string { return "gokplRequestBodyRecycler" }

// HandleSerialize runs the rest of the call, then releases the body the
// protocol wrote into the request, if it is a requestBody.
func (requestBodyRecycler) HandleSerialize(ctx context.Context, in middleware.SerializeInput, next middleware.SerializeHandler) (middleware.SerializeOutput, middleware.Metadata, error) {
	out, metadata, err := next.HandleSerialize(ctx, in)
	if req, ok := in.Request.(*smithyhttp.Request); ok {
		if body, ok := req.GetStream().(*requestBody); ok {
			body.release()
		}
	}
	return out, metadata, err
}

// putRecordsBodySize is the length of in's body, or false if one of its
// strings needs escaping.
func putRecordsBodySize(in *kinesis.PutRecordsInput) (int, bool) {
	size := len(`{"Records":[]}`) + max(len(in.Records)-1, 0) // the commas between entries
	for i := range in.Records {
		e := &in.Records[i]
		n, members, ok := stringMembersSize(stringMember{"ExplicitHashKey", e.ExplicitHashKey}, stringMember{"PartitionKey", e.PartitionKey})
		if !ok {
			return 0, false
		}
		if e.Data != nil {
			n += len(`"Data":""`) + base64.StdEncoding.EncodedLen(len(e.Data))
			members++
		}
		size += n + len(`{}`) + max(members-1, 0)
	}
	n, members, ok := stringMembersSize(stringMember{"StreamARN", in.StreamARN}, stringMember{"StreamName", in.StreamName})
	if !ok {
		return 0, false
	}
	return size + n + members*len(`,`), true
}

// stringMember is an optional string member of a JSON object.
type stringMember struct {
	name  string
	value *string
}

// stringMembersSize is the length of the members that have a value, each
// `"name":"value"`, and how many they are; false if a value needs escaping.
func stringMembersSize(members ...stringMember) (size, present int, ok bool) {
	for _, m := range members {
		if m.value == nil {
			continue
		}
		if !plainJSONString(*m.value) {
			return 0, 0, false
		}
		size += len(`"":""`) + len(m.name) + len(*m.value)
		present++
	}
	return size, present, true
}

// plainJSONString reports whether s is written in JSON as is, between quotes:
// printable ASCII other than '"' and '\'.
func plainJSONString(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// jsonObjectWriter appends JSON to a buffer sized beforehand, with the
// commas between members and elements.
type jsonObjectWriter struct {
	buf   []byte
	comma bool // the next member or element follows another
}

func (w *jsonObjectWriter) open(bracket byte) {
	w.separate()
	w.buf = append(w.buf, bracket)
	w.comma = false
}

func (w *jsonObjectWriter) close(bracket byte) {
	w.buf = append(w.buf, bracket)
	w.comma = true
}

// key writes a member's name; its value follows without a comma.
func (w *jsonObjectWriter) key(name string) {
	w.separate()
	w.buf = append(w.buf, '"')
	w.buf = append(w.buf, name...)
	w.buf = append(w.buf, '"', ':')
	w.comma = false
}

func (w *jsonObjectWriter) optionalString(name string, value *string) {
	if value == nil {
		return
	}
	w.key(name)
	w.buf = append(w.buf, '"')
	w.buf = append(w.buf, *value...)
	w.buf = append(w.buf, '"')
	w.comma = true
}

func (w *jsonObjectWriter) blob(data []byte) {
	n := len(w.buf) + 1
	w.buf = append(w.buf, '"')
	w.buf = slices.Grow(w.buf, base64.StdEncoding.EncodedLen(len(data))+1)
	w.buf = w.buf[:n+base64.StdEncoding.EncodedLen(len(data))]
	base64.StdEncoding.Encode(w.buf[n:], data)
	w.buf = append(w.buf, '"')
	w.comma = true
}

func (w *jsonObjectWriter) separate() {
	if w.comma {
		w.buf = append(w.buf, ',')
	}
}
