// Package kinesistest runs an in-process fake Amazon Kinesis Data Streams
// endpoint for tests and benchmarks.
//
// The server speaks the AWS JSON 1.1 protocol that the AWS SDKs use for
// Kinesis (POST / with an X-Amz-Target header naming the operation), so an
// unmodified aws-sdk-go-v2 or boto3 client works against it once its
// endpoint is pointed at [Server.URL]. Request signatures are not checked.
//
// Streams are split into shards over the 128-bit hash key space as the
// service does it, records are routed by explicit hash key or by the MD5 of
// the partition key, and every accepted record can be read back, either
// through GetShardIterator and GetRecords or directly with [Server.Records].
//
// Faults are injected per request: scripted for the next requests with
// [Server.InjectFault] or [Server.ScheduleFault], standing until cleared
// with [Server.ScheduleFault] (which can also fail a fraction of the
// entries written), or decided by a rule installed with
// [Server.SetFaultFunc]; see [Fault] for what a fault can do.
package kinesistest
