/* check.h: a minimal test harness for the C ABI programs. Each CHECK counts a
 * pass or prints the failing expression; main returns the summary. */
#ifndef GOKPL_TEST_CHECK_H
#define GOKPL_TEST_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int checks_passed, checks_failed;

#define CHECK(cond)                                                              \
    do {                                                                         \
        if (cond) {                                                              \
            checks_passed++;                                                     \
        } else {                                                                 \
            checks_failed++;                                                     \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                        \
    } while (0)

#define CHECK_STATUS(call, want)                                                 \
    do {                                                                         \
        int32_t got_ = (call);                                                   \
        if (got_ == (want)) {                                                    \
            checks_passed++;                                                     \
        } else {                                                                 \
            checks_failed++;                                                     \
            fprintf(stderr, "%s:%d: %s returned %d, want %d (%s)\n", __FILE__,   \
                    __LINE__, #call, got_, (int)(want), #want);                  \
        }                                                                        \
    } while (0)

/* summary prints the closing line and returns the exit status. */
static int summary(const char *name) {
    printf("%s: %d passed, %d failed\n", name, checks_passed, checks_failed);
    return checks_failed == 0 ? 0 : 1;
}

/* config_json_at builds a producer config for the endpoint. */
static const char *config_json_at(char *buf, size_t cap, const char *endpoint, const char *extra) {
    snprintf(buf, cap,
             "{\"region\":\"us-east-1\",\"endpoint_url\":\"%s\",\"aws_access_key_id\":\"test\","
             "\"aws_secret_access_key\":\"test\",\"record_max_buffered_time_ms\":20%s}",
             endpoint, extra ? extra : "");
    return buf;
}

/* config_json builds the producer config for the fake endpoint in
 * $GOKPL_TEST_ENDPOINT. */
static const char *config_json(char *buf, size_t cap, const char *extra) {
    const char *endpoint = getenv("GOKPL_TEST_ENDPOINT");
    if (endpoint == NULL) {
        fprintf(stderr, "GOKPL_TEST_ENDPOINT is not set (run through tests/c/run.sh)\n");
        exit(2);
    }
    return config_json_at(buf, cap, endpoint, extra);
}

/* An endpoint where nothing listens: a record put there is certainly still
 * open when the producer is closed right after. */
#define UNREACHABLE_ENDPOINT "http://127.0.0.1:1"

#endif
