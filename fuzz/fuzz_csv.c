/* fuzz_csv.c - libFuzzer target for CSV input: parse arbitrary bytes with
 * default options, with fill-forward, and with a named date column and two
 * named numeric columns; parse every date cell. Any outcome other than
 * AVIARY_OK or a clean error (crash, leak, UB) is a bug.
 * Seed corpus: tests/corpus/csv/. */
#include <stdint.h>
#include <stdlib.h>
#include "aviary/aviary_csv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const char *cols[] = {"a", "value"};
    aviary_csv_options opts[3] = {aviary_csv_default_options(), aviary_csv_default_options(),
                                  aviary_csv_default_options()};
    opts[1].fill_forward = true;
    opts[2].date_column = "date";
    opts[2].columns = cols;
    opts[2].n_columns = 2;
    for (int k = 0; k < 3; k++) {
        aviary_csv *c = NULL;
        if (aviary_csv_parse((const char *)data, size, "fuzz.csv", &opts[k], &c) != AVIARY_OK) continue;
        double sum = 0;
        for (size_t r = 0; r < aviary_csv_rows(c); r++) {
            for (size_t j = 0; j < aviary_csv_cols(c); j++) sum += aviary_csv_value(c, r, j);
            int64_t t;
            aviary_time_style st;
            char buf[64];
            const char *d = aviary_csv_date(c, r);
            if (d && aviary_time_parse(d, &t, &st)) aviary_time_format(t, &st, buf, sizeof buf);
        }
        (void)sum;
        aviary_csv_free(c);
    }
    return 0;
}
