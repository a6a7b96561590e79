/* test_handles.c: bad handles, double frees, NULL arguments, bad config and
 * records, cancel before send, close with records open: every call returns
 * its documented code and nothing crashes. */
#include <stdint.h>

#include "../../capi/gokpl.h"
#include "check.h"

static const char STREAM[] = "c-stream";

static void test_bad_handles(void) {
    char err[256];
    gokpl_outcome o = 0;
    int32_t flag = 0;
    int64_t n = 0;
    gokpl_result r;
    CHECK_STATUS(gokpl_producer_put(0, STREAM, 8, "k", 1, NULL, 0, NULL, 0, NULL, 0, 0, &o, err, sizeof err), GOKPL_ERR_INVALID_HANDLE);
    CHECK(strstr(err, "invalid producer handle") != NULL);
    CHECK_STATUS(gokpl_producer_put(12345, STREAM, 8, "k", 1, NULL, 0, NULL, 0, NULL, 0, 0, &o, err, sizeof err), GOKPL_ERR_INVALID_HANDLE);
    CHECK_STATUS(gokpl_producer_flush(0, 0), GOKPL_ERR_INVALID_HANDLE);
    CHECK_STATUS(gokpl_producer_outstanding(7, &n), GOKPL_ERR_INVALID_HANDLE);
    CHECK_STATUS(gokpl_producer_close(0, 0, err, sizeof err), GOKPL_ERR_INVALID_HANDLE);
    CHECK_STATUS(gokpl_producer_free(0), GOKPL_OK);
    CHECK_STATUS(gokpl_outcome_wait(0, 0), GOKPL_ERR_INVALID_HANDLE);
    CHECK_STATUS(gokpl_outcome_done(42, &flag), GOKPL_ERR_INVALID_HANDLE);
    CHECK_STATUS(gokpl_outcome_cancel(42, &flag), GOKPL_ERR_INVALID_HANDLE);
    CHECK_STATUS(gokpl_outcome_result(42, &r, NULL, 0), GOKPL_ERR_INVALID_HANDLE);
    CHECK_STATUS(gokpl_outcome_free(0), GOKPL_OK);
    CHECK_STATUS(gokpl_outcome_free(42), GOKPL_OK);
    CHECK_STATUS(gokpl_outcome_done(42, NULL), GOKPL_ERR_INVALID_ARGUMENT);
    /* The error buffer may be absent. */
    CHECK_STATUS(gokpl_producer_put(0, STREAM, 8, "k", 1, NULL, 0, NULL, 0, NULL, 0, 0, &o, NULL, 0), GOKPL_ERR_INVALID_HANDLE);
}

static void test_bad_config(void) {
    char err[512];
    gokpl_producer p = 0;
    const char *unknown = "{\"region\":\"us-east-1\",\"no_such_option\":1}";
    CHECK_STATUS(gokpl_producer_new(unknown, strlen(unknown), &p, err, sizeof err), GOKPL_ERR_CONFIG);
    CHECK(strstr(err, "no_such_option") != NULL);
    const char *range = "{\"region\":\"us-east-1\",\"collection_max_count\":501}";
    CHECK_STATUS(gokpl_producer_new(range, strlen(range), &p, err, sizeof err), GOKPL_ERR_CONFIG);
    CHECK(strstr(err, "collection_max_count") != NULL && strstr(err, "500") != NULL);
    const char *notjson = "{";
    CHECK_STATUS(gokpl_producer_new(notjson, 1, &p, err, sizeof err), GOKPL_ERR_CONFIG);
    CHECK(p == 0);
    /* A tiny buffer gets a truncated, terminated message. */
    char tiny[8];
    CHECK_STATUS(gokpl_producer_new(unknown, strlen(unknown), &p, tiny, sizeof tiny), GOKPL_ERR_CONFIG);
    CHECK(strlen(tiny) == sizeof tiny - 1);
}

static void test_records_and_lifecycle(void) {
    char cfg[1024], err[512];
    gokpl_producer p = 0;
    /* A long buffering time keeps records unsent, for cancel; an endpoint
     * where nothing listens keeps them open, for close. */
    config_json_at(cfg, sizeof cfg, UNREACHABLE_ENDPOINT, ",\"record_max_buffered_time_ms\":60000");
    CHECK_STATUS(gokpl_producer_new(cfg, strlen(cfg), &p, err, sizeof err), GOKPL_OK);

    gokpl_outcome o = 0;
    CHECK_STATUS(gokpl_producer_put(p, STREAM, 8, "", 0, NULL, 0, NULL, 0, NULL, 0, 0, &o, err, sizeof err), GOKPL_ERR_INVALID_RECORD);
    CHECK(strstr(err, "partition_key") != NULL);
    CHECK_STATUS(gokpl_producer_put(p, STREAM, 8, "k", 1, "-1", 2, NULL, 0, NULL, 0, 0, &o, err, sizeof err), GOKPL_ERR_INVALID_RECORD);
    CHECK(strstr(err, "explicit_hash_key") != NULL);
    CHECK_STATUS(gokpl_producer_put(p, "", 0, "k", 1, NULL, 0, NULL, 0, NULL, 0, 0, &o, err, sizeof err), GOKPL_ERR_INVALID_RECORD);
    CHECK_STATUS(gokpl_producer_put(p, STREAM, 8, "k", 1, NULL, 0, NULL, 0, NULL, 0, 0, NULL, err, sizeof err), GOKPL_ERR_INVALID_ARGUMENT);

    /* Cancel before send: withdrawn, resolved as cancelled, second cancel is 0. */
    gokpl_outcome c = 0;
    CHECK_STATUS(gokpl_producer_put(p, STREAM, 8, "k", 1, NULL, 0, (const uint8_t *)"x", 1, NULL, 0, 0, &c, err, sizeof err), GOKPL_OK);
    int32_t flag = 0;
    CHECK_STATUS(gokpl_outcome_wait(c, 0), GOKPL_TIMEOUT);
    CHECK_STATUS(gokpl_outcome_cancel(c, &flag), GOKPL_OK);
    CHECK(flag == 1);
    CHECK_STATUS(gokpl_outcome_cancel(c, &flag), GOKPL_OK);
    CHECK(flag == 0);
    CHECK_STATUS(gokpl_outcome_wait(c, 0), GOKPL_OK);
    gokpl_result r;
    CHECK_STATUS(gokpl_outcome_result(c, &r, NULL, 0), GOKPL_ERR_CANCELLED);

    /* Close with a record still buffered: it resolves as ProducerClosed, and
     * its handle outlives the producer. */
    gokpl_outcome open = 0;
    CHECK_STATUS(gokpl_producer_put(p, STREAM, 8, "k2", 2, NULL, 0, (const uint8_t *)"y", 1, NULL, 0, 0, &open, err, sizeof err), GOKPL_OK);
    CHECK_STATUS(gokpl_outcome_result(open, &r, NULL, 0), GOKPL_ERR_PENDING);
    CHECK_STATUS(gokpl_producer_close(p, 0, err, sizeof err), GOKPL_TIMEOUT);
    CHECK_STATUS(gokpl_outcome_wait(open, 1000), GOKPL_OK);
    char strings[512];
    CHECK_STATUS(gokpl_outcome_result(open, &r, strings, sizeof strings), GOKPL_OK);
    CHECK(r.success == 0);
    CHECK(r.error_code_len == strlen("ProducerClosed") &&
          strncmp(strings + r.shard_id_len + r.sequence_number_len, "ProducerClosed", r.error_code_len) == 0);

    /* The closed handle is gone: a second close is invalid, free is a no-op. */
    CHECK_STATUS(gokpl_producer_close(p, 0, err, sizeof err), GOKPL_ERR_INVALID_HANDLE);
    CHECK_STATUS(gokpl_producer_free(p), GOKPL_OK);
    CHECK_STATUS(gokpl_producer_put(p, STREAM, 8, "k", 1, NULL, 0, NULL, 0, NULL, 0, 0, &o, err, sizeof err), GOKPL_ERR_INVALID_HANDLE);

    /* Double free of outcomes. */
    CHECK_STATUS(gokpl_outcome_free(c), GOKPL_OK);
    CHECK_STATUS(gokpl_outcome_free(c), GOKPL_OK);
    CHECK_STATUS(gokpl_outcome_free(open), GOKPL_OK);
    CHECK_STATUS(gokpl_outcome_wait(open, 0), GOKPL_ERR_INVALID_HANDLE);
}

static void test_free_open_producer(void) {
    char cfg[1024], err[512];
    gokpl_producer p = 0;
    config_json(cfg, sizeof cfg, ",\"record_max_buffered_time_ms\":60000");
    CHECK_STATUS(gokpl_producer_new(cfg, strlen(cfg), &p, err, sizeof err), GOKPL_OK);
    gokpl_outcome o = 0;
    CHECK_STATUS(gokpl_producer_put(p, STREAM, 8, "k", 1, NULL, 0, NULL, 0, NULL, 0, 0, &o, err, sizeof err), GOKPL_OK);
    CHECK_STATUS(gokpl_producer_free(p), GOKPL_OK);
    CHECK_STATUS(gokpl_producer_free(p), GOKPL_OK);
    CHECK_STATUS(gokpl_outcome_wait(o, 1000), GOKPL_OK);
    gokpl_outcome_free(o);
}

int main(void) {
    char version[32];
    CHECK_STATUS(gokpl_version(version, sizeof version), GOKPL_OK);
    CHECK(strlen(version) > 0);
    CHECK_STATUS(gokpl_version(version, 2), GOKPL_ERR_BUFFER_TOO_SMALL);
    CHECK(gokpl_abi_version() == GOKPL_ABI_VERSION);
    test_bad_handles();
    test_bad_config();
    test_records_and_lifecycle();
    test_free_open_producer();
    uint64_t producers = 99, outcomes = 99;
    CHECK_STATUS(gokpl_handle_counts(&producers, &outcomes), GOKPL_OK);
    CHECK(producers == 0 && outcomes == 0);
    return summary("test_handles");
}
