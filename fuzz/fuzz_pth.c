/* fuzz_pth.c - libFuzzer target for the PyTorch zip checkpoint reader.
 * Inputs starting with "PK" are parsed as whole .pth files (zip structure,
 * ZIP64, local headers). Any other input is taken as a data.pkl pickle and
 * wrapped in a valid stored zip together with storages archive/data/0..7
 * (256 bytes each), so mutations reach the pickle machine directly.
 * After a successful parse, the first and last byte of every tensor view is
 * read, so a view reaching outside the input is caught by ASan, and the
 * model family is recognised from the names and shapes. Any outcome
 * other than AVIARY_OK or a clean error (crash, leak, UB) is a bug.
 * Seed corpus: tests/corpus/pth/ (*.pth files and raw *.pkl pickles). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fuzz_checkpoint.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned char *put16(unsigned char *p, unsigned v) {
    p[0] = (unsigned char)v, p[1] = (unsigned char)(v >> 8);
    return p + 2;
}
static unsigned char *put32(unsigned char *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
    return p + 4;
}

/* A stored zip holding archive/data.pkl = pkl and archive/data/0..7. */
static unsigned char *wrap(const uint8_t *pkl, size_t n, size_t *out_len) {
    enum { NST = 8, ST = 256 };
    char names[NST + 1][32];
    const unsigned char *bodies[NST + 1];
    size_t lens[NST + 1];
    static unsigned char storage[ST];
    for (int i = 0; i < ST; i++) storage[i] = (unsigned char)i;
    strcpy(names[0], "archive/data.pkl");
    bodies[0] = pkl;
    lens[0] = n;
    for (int i = 1; i <= NST; i++) {
        snprintf(names[i], sizeof names[i], "archive/data/%d", i - 1);
        bodies[i] = storage;
        lens[i] = ST;
    }
    size_t total = 22;
    for (int i = 0; i <= NST; i++) total += 30 + 46 + 2 * strlen(names[i]) + lens[i];
    unsigned char *z = malloc(total), *p = z;
    if (!z) return NULL;
    uint32_t offs[NST + 1];
    for (int i = 0; i <= NST; i++) {
        size_t nl = strlen(names[i]);
        offs[i] = (uint32_t)(p - z);
        p = put32(p, 0x04034b50u), p = put16(p, 20), p = put16(p, 0), p = put16(p, 0), p = put32(p, 0);
        p = put32(p, 0), p = put32(p, (uint32_t)lens[i]), p = put32(p, (uint32_t)lens[i]);
        p = put16(p, (unsigned)nl), p = put16(p, 0);
        memcpy(p, names[i], nl), p += nl;
        if (lens[i]) memcpy(p, bodies[i], lens[i]);
        p += lens[i];
    }
    unsigned char *cd = p;
    for (int i = 0; i <= NST; i++) {
        size_t nl = strlen(names[i]);
        p = put32(p, 0x02014b50u), p = put16(p, 20), p = put16(p, 20), p = put16(p, 0), p = put16(p, 0);
        p = put32(p, 0), p = put32(p, 0), p = put32(p, (uint32_t)lens[i]), p = put32(p, (uint32_t)lens[i]);
        p = put16(p, (unsigned)nl), p = put16(p, 0), p = put16(p, 0), p = put16(p, 0), p = put16(p, 0);
        p = put32(p, 0), p = put32(p, offs[i]);
        memcpy(p, names[i], nl), p += nl;
    }
    uint32_t cd_size = (uint32_t)(p - cd), cd_off = (uint32_t)(cd - z);
    p = put32(p, 0x06054b50u), p = put16(p, 0), p = put16(p, 0), p = put16(p, NST + 1), p = put16(p, NST + 1);
    p = put32(p, cd_size), p = put32(p, cd_off), p = put16(p, 0);
    *out_len = (size_t)(p - z);
    return z;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > (16u << 20)) return 0;
    unsigned char *owned = NULL;
    const unsigned char *buf = data;
    size_t len = size;
    if (!(size >= 2 && data[0] == 'P' && data[1] == 'K')) {
        owned = wrap(data, size, &len);
        if (!owned) return 0;
        buf = owned;
    }
    aviary_checkpoint *ck = aviary__ckpt_new("fuzz.pth");
    if (ck && aviary__pth_parse(ck, buf, len, "fuzz.pth") == AVIARY_OK) {
        fuzz_touch_checkpoint(ck);
    }
    aviary_checkpoint_close(ck);
    free(owned);
    return 0;
}
