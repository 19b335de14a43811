/* test_csv.c - CSV input (aviary_csv.h): good tables, every kind of bad table
 * with its message, fill-forward, dates; and the evaluation helpers of
 * aviary_ts_eval.h that need no model (borders, scaler, baselines). */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "aviary/aviary_csv.h"
#include "aviary/aviary_ts_eval.h"

#include "test_util.h"

static aviary_csv *parse(const char *text, const aviary_csv_options *o, aviary_status *st) {
    aviary_csv *c = NULL;
    *st = aviary_csv_parse(text, strlen(text), "t.csv", o, &c);
    return c;
}

/* Parsing must fail with status `want` and a message containing every needle. */
static void expect_error(const char *text, const aviary_csv_options *o, aviary_status want, const char *n1,
                         const char *n2) {
    aviary_status st;
    aviary_csv *c = parse(text, o, &st);
    CHECK(c == NULL);
    CHECK(st == want);
    const char *m = aviary_errmsg();
    if ((n1 && !strstr(m, n1)) || (n2 && !strstr(m, n2))) {
        fprintf(stderr, "message '%s' lacks '%s' / '%s'\n", m, n1 ? n1 : "", n2 ? n2 : "");
        failures++;
    }
    aviary_csv_free(c);
}

static void test_good(void) {
    aviary_status st;
    const char *text = "\xEF\xBB\xBF" "date,a,\"b, quoted\",note\r\n"
                       "2020-01-01 00:00:00,1,2.5,x\r\n"
                       "\r\n"
                       "2020-01-01 01:00:00,-3e2,\"4\",\"multi\nline\"\r\n";
    aviary_csv *c = parse(text, NULL, &st);
    CHECK(st == AVIARY_OK && c);
    if (!c) return;
    CHECK(aviary_csv_rows(c) == 2);
    CHECK(aviary_csv_cols(c) == 2); /* 'note' is text: not chosen by default */
    CHECK(!strcmp(aviary_csv_column_name(c, 0), "a"));
    CHECK(!strcmp(aviary_csv_column_name(c, 1), "b, quoted"));
    CHECK(aviary_csv_value(c, 0, 1) == 2.5);
    CHECK(aviary_csv_value(c, 1, 0) == -300.0);
    CHECK(aviary_csv_value(c, 1, 1) == 4.0);
    CHECK(aviary_csv_date_name(c) && !strcmp(aviary_csv_date_name(c), "date"));
    CHECK(!strcmp(aviary_csv_date(c, 1), "2020-01-01 01:00:00"));
    aviary_csv_free(c);

    /* chosen columns, in the given order; no date column */
    const char *cols[] = {"z", "x"};
    aviary_csv_options o = aviary_csv_default_options();
    o.columns = cols;
    o.n_columns = 2;
    c = parse("x,y,z\n1,2,3\n4,5,6\n", &o, &st);
    CHECK(st == AVIARY_OK && c);
    if (c) {
        CHECK(aviary_csv_cols(c) == 2 && aviary_csv_value(c, 1, 0) == 6 && aviary_csv_value(c, 1, 1) == 4);
        CHECK(aviary_csv_date_name(c) == NULL && aviary_csv_date(c, 0) == NULL);
    }
    aviary_csv_free(c);

    /* date auto-detected by content in the first column */
    c = parse("when,v\n2021-03-04,1\n2021-03-05,2\n", NULL, &st);
    CHECK(st == AVIARY_OK && c && aviary_csv_date_name(c) && !strcmp(aviary_csv_date_name(c), "when"));
    CHECK(c && aviary_csv_cols(c) == 1);
    aviary_csv_free(c);

    /* the fixture CSVs read as expected */
    c = NULL;
    CHECK(aviary_csv_read("fixtures/ts-rwkv-weather-trained/seattle_hourly_normals.csv", NULL, &c) == AVIARY_OK);
    if (c) {
        CHECK(aviary_csv_rows(c) == 8759 && aviary_csv_cols(c) == 3);
        CHECK(!strcmp(aviary_csv_column_name(c, 2), "wind"));
        CHECK(aviary_csv_value(c, 0, 0) == 1016.6 && aviary_csv_value(c, 8758, 1) == 4.3);
    }
    aviary_csv_free(c);
}

static void test_bad(void) {
    aviary_csv_options o = aviary_csv_default_options();
    expect_error("", NULL, AVIARY_FORMAT, "t.csv", "empty file");
    expect_error("\n\n", NULL, AVIARY_FORMAT, "t.csv", "empty file");
    expect_error("1,2,3\n4,5,6\n", NULL, AVIARY_FORMAT, "t.csv:1", "no header row");
    expect_error("a,b\n", NULL, AVIARY_FORMAT, "t.csv", "no data rows");
    expect_error("a,b\n1,2\n3,abc\n", NULL, AVIARY_FORMAT, "t.csv:3: column 'b'", "'abc' is not a number");
    expect_error("a,b\n1,2\n3,\n", NULL, AVIARY_FORMAT, "t.csv:3: column 'b'", "missing value");
    expect_error("a,b\n1,2\n3,NaN\n", NULL, AVIARY_FORMAT, "t.csv:3: column 'b'", "missing value");
    expect_error("a,b\n1,2\n3,4,5\n", NULL, AVIARY_FORMAT, "t.csv:3", "3 fields, the header has 2");
    expect_error("a,b\n1,2\n3\n", NULL, AVIARY_FORMAT, "t.csv:3", "1 fields, the header has 2");
    expect_error("a,b\n1,\"2\n", NULL, AVIARY_FORMAT, "t.csv:2", "unterminated quoted field");
    expect_error("a,a\n1,2\n", NULL, AVIARY_FORMAT, "t.csv:1", "appears twice");
    expect_error("a,b\n1,2\n3,inf\n", NULL, AVIARY_FORMAT, "column 'b'", "not a number");
    const char *cols[] = {"a", "nope"};
    o.columns = cols;
    o.n_columns = 2;
    expect_error("a,b\n1,2\n", &o, AVIARY_NOT_FOUND, "no column named 'nope'", "columns: a, b");
    o = aviary_csv_default_options();
    o.date_column = "when";
    expect_error("a,b\n1,2\n", &o, AVIARY_NOT_FOUND, "no date column named 'when'", NULL);
    /* fill-forward cannot fill the first row */
    o = aviary_csv_default_options();
    o.fill_forward = true;
    expect_error("a,b\n,2\n3,4\n", &o, AVIARY_FORMAT, "t.csv:2: column 'a'", "first data row");
    /* ... and never turns text into numbers */
    expect_error("a,b\n1,2\n3,abc\n", &o, AVIARY_FORMAT, "'abc' is not a number", NULL);
    aviary_csv *c = NULL;
    CHECK(aviary_csv_read("/nonexistent/x.csv", NULL, &c) == AVIARY_IO && c == NULL);
    CHECK(strstr(aviary_errmsg(), "/nonexistent/x.csv") != NULL);
}

static void test_fill_forward(void) {
    aviary_csv_options o = aviary_csv_default_options();
    o.fill_forward = true;
    aviary_status st;
    aviary_csv *c = parse("a,b\n1,2\n,NA\n5,\n", &o, &st);
    CHECK(st == AVIARY_OK && c);
    if (!c) return;
    CHECK(aviary_csv_rows(c) == 3);
    CHECK(aviary_csv_value(c, 1, 0) == 1 && aviary_csv_value(c, 1, 1) == 2);
    CHECK(aviary_csv_value(c, 2, 0) == 5 && aviary_csv_value(c, 2, 1) == 2);
    CHECK(aviary_csv_filled(c) == 3);
    aviary_csv_free(c);
}

static void test_dates(void) {
    int64_t t;
    aviary_time_style s;
    char buf[64];
    CHECK(aviary_time_parse("1970-01-02", &t, &s) && t == 86400 && !s.has_time);
    CHECK(aviary_time_parse("2010-12-31 23:00:00", &t, &s) && s.has_time && s.has_seconds && s.sep == ' ');
    CHECK(!strcmp(aviary_time_format(t + 3600, &s, buf, sizeof buf), "2011-01-01 00:00:00"));
    CHECK(aviary_time_parse("2016-02-29T12:30", &t, &s) && s.sep == 'T' && !s.has_seconds);
    CHECK(!strcmp(aviary_time_format(t + 86400, &s, buf, sizeof buf), "2016-03-01T12:30"));
    CHECK(aviary_time_parse("1969-12-31", &t, &s) && t == -86400);
    CHECK(!strcmp(aviary_time_format(t, &s, buf, sizeof buf), "1969-12-31"));
    CHECK(!aviary_time_parse("2015-02-30", &t, &s));
    CHECK(!aviary_time_parse("2015-1-3", &t, &s));
    CHECK(!aviary_time_parse("12.5", &t, &s));
}

static void test_eval_helpers(void) {
    aviary_ts_borders b;
    /* the weather fixture's borders (fixture.json data.borders) */
    CHECK(aviary_ts_split_borders(AVIARY_TS_SPLIT_CUSTOM, 8759, 336, 96, &b) == AVIARY_OK);
    CHECK(b.train[1] == 6131 && b.val[0] == 5795 && b.val[1] == 7008 && b.test[0] == 6672 && b.test[1] == 8759);
    /* ETTh1: 17420 rows, the official fixed borders */
    CHECK(aviary_ts_split_borders(AVIARY_TS_SPLIT_ETT_HOUR, 17420, 336, 96, &b) == AVIARY_OK);
    CHECK(b.train[1] == 8640 && b.val[0] == 8640 - 336 && b.test[0] == 11520 - 336 && b.test[1] == 14400);
    CHECK(aviary_ts_split_borders(AVIARY_TS_SPLIT_ETT_MINUTE, 69680, 512, 96, &b) == AVIARY_OK && b.test[1] == 57600);
    CHECK(aviary_ts_split_borders(AVIARY_TS_SPLIT_ETT_HOUR, 1000, 336, 96, &b) == AVIARY_INVALID_ARG);
    CHECK(aviary_ts_split_borders(AVIARY_TS_SPLIT_CUSTOM, 400, 336, 96, &b) == AVIARY_INVALID_ARG);
    CHECK(aviary_ts_split_for_file("data/ETTh2.csv") == AVIARY_TS_SPLIT_ETT_HOUR);
    CHECK(aviary_ts_split_for_file("ETTm1.csv") == AVIARY_TS_SPLIT_ETT_MINUTE);
    CHECK(aviary_ts_split_for_file("weather.csv") == AVIARY_TS_SPLIT_CUSTOM);

    /* scaler: population std; constant column gets std 1 */
    double d[] = {1, 5, 2, 5, 3, 5, 4, 5};
    double mean[2], sd[2];
    aviary_ts_scaler_fit(d, 2, 0, 4, mean, sd);
    CHECK(mean[0] == 2.5 && fabs(sd[0] - sqrt(1.25)) < 1e-15 && mean[1] == 5 && sd[1] == 1);

    /* baselines on a known series: x_t = t % 4 (period 4), 2 channels */
    enum { N = 40, C = 2 };
    float s[N * C];
    for (int t = 0; t < N; t++) {
        s[t * C] = (float)(t % 4);
        s[t * C + 1] = (float)t;
    }
    aviary_ts_eval_params p = aviary_ts_eval_default_params();
    p.season = 4;
    p.batch_size = 8;
    aviary_ts_eval_result r;
    CHECK(aviary_ts_evaluate(NULL, 8, 4, s, C, 0, N, &p, &r) == AVIARY_OK);
    CHECK(r.windows_per_channel == 29 && r.windows_total == 58 && r.windows_scored == 56);
    CHECK(r.score[AVIARY_TS_METHOD_SEASONAL].mse_channel[0] == 0); /* exact on a periodic series */
    /* naive on x_t = t: errors 1..4, MSE 7.5, MAE 2.5 on channel 1 */
    CHECK(fabs(r.score[AVIARY_TS_METHOD_NAIVE].mse_channel[1] - 7.5) < 1e-12);
    CHECK(fabs(r.score[AVIARY_TS_METHOD_NAIVE].mae_channel[1] - 2.5) < 1e-12);
    aviary_ts_eval_result_free(&r);
}

int main(void) {
    test_good();
    test_bad();
    test_fill_forward();
    test_dates();
    test_eval_helpers();
    if (failures) {
        fprintf(stderr, "test_csv: %d failure(s)\n", failures);
        return 1;
    }
    printf("test_csv: all passed\n");
    return 0;
}
