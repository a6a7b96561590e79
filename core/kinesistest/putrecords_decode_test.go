package kinesistest

import (
	"encoding/json"
	"reflect"
	"testing"
)

var putRecordsBodies = []string{
	`{"StreamName":"s","Records":[{"Data":"aGVsbG8=","PartitionKey":"k"}]}`,
	` { "Records" : [ { "PartitionKey" : "k1" , "Data" : "" , "ExplicitHashKey" : "42" } , {"Data":"AAEC","PartitionKey":"k2","ExplicitHashKey":null} ] , "StreamARN" : "arn:aws:kinesis:us-east-1:123456789012:stream/s" } `,
	`{"StreamName":"s","Records":[{"Data":"aGk=","PartitionKey":"\u00e9t\u00e9 \"q\" \\"}]}`,
	`{"StreamName":"s","Records":[{"Data":"aGk=","PartitionKey":"été"}]}`,
	`{"StreamName":"s","Records":[{"Data":"aG\/k","PartitionKey":"k"}]}`,
	`{"StreamName":"s","Records":[{"Data":null,"PartitionKey":"k"}]}`,
	`{"StreamName":"s","Records":[]}`,
	`{"StreamName":"s","Records":[{"Data":"aGk=","PartitionKey":"k","Other":1}]}`,
	`{"StreamName":"s","StreamId":"x","Records":[{"Data":"aGk=","PartitionKey":"k","ExplicitHashKey":"7"}]}`,
	`{"streamname":"s","records":[{"data":"aGk=","partitionkey":"k","explicithashkey":"7"}]}`,
	`{"StreamName":"s","Records":[{"Data":"aGk=","PartitionKey":"k","ExplicitHashKey":"7"}],"Records":[{"Data":"aGk=","PartitionKey":"k2"}]}`,
	`{"StreamName":"s","Records":[{"Data":"aGk=","PartitionKey":"k"}]}x`,
	`{"StreamName":"s","Records":[{"Data":"not base64!","PartitionKey":"k"}]}`,
	`{"StreamName":"s","Records":[{"Data":"aGk=","PartitionKey":"k"},]}`,
	`{"StreamName":"s\x01","Records":[]}`,
	"{\"StreamName\":\"\xff\",\"Records\":[]}",
	`{"StreamName":"s","Records":[{"Data":"aGk=","PartitionKey":"k"}`,
	`{"StreamName":"s","Records":[{"Data":"aGk=","PartitionKey":"\`,
	`{"StreamName":"s","Records":{}}`,
	`[]`,
	``,
}

// decodeBoth decodes body the way the server does and with encoding/json
// alone, returning both results and errors.
func decodeBoth(body []byte) (fast, reference putRecordsInput, fastOK, referenceOK bool) {
	fastOK = fast.decodeFast(body) || json.Unmarshal(body, &fast) == nil
	referenceOK = json.Unmarshal(body, &reference) == nil
	return fast, reference, fastOK, referenceOK
}

func TestPutRecordsFastDecodeMatchesEncodingJSON(t *testing.T) {
	for _, body := range putRecordsBodies {
		fast, reference, fastOK, referenceOK := decodeBoth([]byte(body))
		if fastOK != referenceOK || (fastOK && !reflect.DeepEqual(fast, reference)) {
			t.Errorf("%s:\nfast      %v %+v\nreference %v %+v", body, fastOK, fast, referenceOK, reference)
		}
	}
}

func TestPutRecordsFastDecodeTakesUsualBodies(t *testing.T) {
	var in putRecordsInput
	if !in.decodeFast([]byte(putRecordsBodies[1])) || len(in.Records) != 2 || *in.Records[0].ExplicitHashKey != "42" {
		t.Errorf("usual body not decoded fast: %+v", in)
	}
	in = putRecordsInput{}
	if in.decodeFast([]byte(putRecordsBodies[7])) || !reflect.DeepEqual(in, putRecordsInput{}) {
		t.Errorf("unknown field decoded fast or left state: %+v", in)
	}
}

func FuzzPutRecordsDecode(f *testing.F) {
	for _, body := range putRecordsBodies {
		f.Add([]byte(body))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		fast, reference, fastOK, referenceOK := decodeBoth(body)
		if fastOK != referenceOK || (fastOK && !reflect.DeepEqual(fast, reference)) {
			t.Errorf("%q:\nfast      %v %+v\nreference %v %+v", body, fastOK, fast, referenceOK, reference)
		}
	})
}
