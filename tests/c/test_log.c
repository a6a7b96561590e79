/* test_log.c: engine log records reach the caller through gokpl_log_next,
 * never by a call into the caller: levels, truncation, bad arguments. */
#include <stdint.h>

#include "../../capi/gokpl.h"
#include "check.h"

static void test_bad_arguments(void) {
    char buf[16];
    gokpl_log_record rec;
    CHECK_STATUS(gokpl_log_next(0, NULL, buf, sizeof buf), GOKPL_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(gokpl_log_next(0, &rec, NULL, 4), GOKPL_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(gokpl_log_next(0, &rec, NULL, 0), GOKPL_TIMEOUT);
    CHECK_STATUS(gokpl_log_next(20, &rec, buf, sizeof buf), GOKPL_TIMEOUT);
}

/* A producer on an endpoint where nothing listens fails to list shards and
 * says so at warn level. */
static void test_engine_warning(void) {
    char cfg[1024], err[512], msg[4096];
    gokpl_producer p = 0;
    gokpl_outcome o = 0;
    gokpl_log_record rec;
    CHECK_STATUS(gokpl_log_set_level(0), GOKPL_OK);
    config_json_at(cfg, sizeof cfg, UNREACHABLE_ENDPOINT, ",\"aws_secret_access_key\":\"wJalrSECRETvalue\"");
    CHECK_STATUS(gokpl_producer_new(cfg, strlen(cfg), &p, err, sizeof err), GOKPL_OK);
    CHECK_STATUS(gokpl_producer_put(p, "c-stream", 8, "k", 1, NULL, 0, (const uint8_t *)"x", 1, NULL, 0, 0, &o, err, sizeof err),
                 GOKPL_OK);
    int found = 0;
    for (int i = 0; i < 20 && !found; i++) {
        if (gokpl_log_next(500, &rec, msg, sizeof msg - 1) != GOKPL_OK) {
            continue;
        }
        msg[rec.message_len] = 0;
        CHECK(strstr(msg, "wJalrSECRETvalue") == NULL);
        if (strstr(msg, "listing shards failed") != NULL) {
            found = 1;
            CHECK(rec.level == 4);
            CHECK(rec.time_ns > 0);
            CHECK(strstr(msg, "stream=c-stream") != NULL);
        }
    }
    CHECK(found);
    CHECK_STATUS(gokpl_producer_close(p, 0, err, sizeof err), GOKPL_TIMEOUT);
    CHECK_STATUS(gokpl_outcome_free(o), GOKPL_OK);
    /* A record longer than the buffer is truncated to it. */
    CHECK_STATUS(gokpl_log_set_level(-4), GOKPL_OK);
    CHECK_STATUS(gokpl_producer_new(cfg, strlen(cfg), &p, err, sizeof err), GOKPL_OK);
    CHECK_STATUS(gokpl_producer_put(p, "c-stream", 8, "k", 1, NULL, 0, (const uint8_t *)"x", 1, NULL, 0, 0, &o, err, sizeof err),
                 GOKPL_OK);
    CHECK_STATUS(gokpl_log_next(5000, &rec, msg, 5), GOKPL_OK);
    CHECK(rec.message_len == 5);
    CHECK_STATUS(gokpl_producer_close(p, 0, err, sizeof err), GOKPL_TIMEOUT);
    CHECK_STATUS(gokpl_outcome_free(o), GOKPL_OK);
    CHECK_STATUS(gokpl_log_set_level(0), GOKPL_OK);
}

int main(void) {
    (void)config_json; /* every test here uses an endpoint where nothing listens */
    test_bad_arguments();
    test_engine_warning();
    return summary("test_log");
}
