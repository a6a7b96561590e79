package kinesistest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"unicode/utf8"
)

// PutRecords bodies carry most of the bytes the server reads, so they get a
// decoder that reads the usual shape in one pass without reflection. It
// gives up on anything unusual (unknown fields, escaped or non-UTF-8
// strings it cannot copy directly stay correct through encoding/json), and
// the caller then decodes the body with encoding/json, which also produces
// the error message for malformed input.

// fastDecoder is implemented by inputs with a fast decoding path.
type fastDecoder interface {
	// decodeFast decodes body and reports whether it could; on false it
	// leaves the input zero, ready for encoding/json.
	decodeFast(body []byte) bool
}

func (in *putRecordsInput) decodeFast(body []byte) bool {
	if !in.decodeUsualShape(body) {
		*in = putRecordsInput{}
		return false
	}
	return true
}

func (in *putRecordsInput) decodeUsualShape(body []byte) bool {
	d := jsonReader{buf: body}
	ok := d.object(func(key string) bool {
		switch key {
		case "StreamName":
			return d.string(&in.StreamName)
		case "StreamARN":
			return d.string(&in.StreamARN)
		case "Records":
			if in.Records != nil {
				return false // a repeated key; encoding/json has its own rules
			}
			in.Records = []putRecordEntryJSON{}
			return d.array(func() bool {
				in.Records = append(in.Records, putRecordEntryJSON{})
				return in.Records[len(in.Records)-1].decodeFast(&d)
			})
		}
		return false
	})
	return ok && d.end()
}

func (e *putRecordEntryJSON) decodeFast(d *jsonReader) bool {
	return d.object(func(key string) bool {
		switch key {
		case "Data":
			return d.bytes(&e.Data)
		case "PartitionKey":
			return d.string(&e.PartitionKey)
		case "ExplicitHashKey":
			if d.null() {
				e.ExplicitHashKey = nil
				return true
			}
			e.ExplicitHashKey = new(string)
			return d.string(e.ExplicitHashKey)
		}
		return false
	})
}

// jsonReader reads JSON values from buf in order. Each method reports
// whether the next value had the expected form and advances past it.
type jsonReader struct {
	buf []byte
	pos int
}

func (d *jsonReader) skipSpace() {
	for d.pos < len(d.buf) {
		switch d.buf[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

// consume skips white space and then c, if c comes next.
func (d *jsonReader) consume(c byte) bool {
	d.skipSpace()
	if d.pos < len(d.buf) && d.buf[d.pos] == c {
		d.pos++
		return true
	}
	return false
}

// end reports whether only white space is left.
func (d *jsonReader) end() bool {
	d.skipSpace()
	return d.pos == len(d.buf)
}

func (d *jsonReader) null() bool {
	d.skipSpace()
	if len(d.buf)-d.pos >= 4 && string(d.buf[d.pos:d.pos+4]) == "null" {
		d.pos += 4
		return true
	}
	return false
}

// object reads an object, calling member for each key with the reader
// positioned at the value.
func (d *jsonReader) object(member func(key string) bool) bool {
	if !d.consume('{') {
		return false
	}
	if d.consume('}') {
		return true
	}
	for {
		var key string
		if !d.string(&key) || !d.consume(':') || !member(key) {
			return false
		}
		if d.consume('}') {
			return true
		}
		if !d.consume(',') {
			return false
		}
	}
}

// array reads an array, calling element with the reader positioned at
// each element.
func (d *jsonReader) array(element func() bool) bool {
	if !d.consume('[') {
		return false
	}
	if d.consume(']') {
		return true
	}
	for {
		if !element() {
			return false
		}
		if d.consume(']') {
			return true
		}
		if !d.consume(',') {
			return false
		}
	}
}

// rawString returns the bytes between the quotes of the next string and
// whether they need no unescaping.
func (d *jsonReader) rawString() (raw []byte, plain, ok bool) {
	if !d.consume('"') {
		return nil, false, false
	}
	start := d.pos
	plain = true
	for d.pos < len(d.buf) {
		c := d.buf[d.pos]
		switch {
		case c == '"':
			d.pos++
			return d.buf[start : d.pos-1], plain, true
		case c == '\\':
			plain = false
			d.pos += 2
		case c < 0x20:
			return nil, false, false
		default:
			if c >= utf8.RuneSelf {
				plain = false
			}
			d.pos++
		}
	}
	return nil, false, false
}

func (d *jsonReader) string(dst *string) bool {
	d.skipSpace()
	start := d.pos
	raw, plain, ok := d.rawString()
	switch {
	case !ok:
		return false
	case plain:
		*dst = string(raw)
		return true
	}
	return json.Unmarshal(d.buf[start:d.pos], dst) == nil
}

// bytes reads a base64 string, or null as nil.
func (d *jsonReader) bytes(dst *[]byte) bool {
	if d.null() {
		*dst = nil
		return true
	}
	if !d.consume('"') {
		return false
	}
	// Base64 text needs no escapes, so the first quote ends it. Anything
	// a JSON string may not hold raw (control characters, escapes) fails
	// to decode, except the line breaks base64 skips, checked after.
	end := bytes.IndexByte(d.buf[d.pos:], '"')
	if end < 0 {
		return false
	}
	raw := d.buf[d.pos : d.pos+end]
	d.pos += end + 1
	decoded := make([]byte, base64.StdEncoding.DecodedLen(len(raw)))
	n, err := base64.StdEncoding.Decode(decoded, raw)
	*dst = decoded[:n]
	return err == nil && bytes.IndexByte(raw, '\n') < 0 && bytes.IndexByte(raw, '\r') < 0
}
