// SPDX-License-Identifier: LGPL-2.1-or-later
// fuzz-model.c: thousands of seeded random mutations of a good model file
// (tests/data/tiny-r18.safetensors) through the whole loader: container,
// metadata, config, labels, every weight binding and BatchNorm fold. Nothing
// may crash, hang or leak; run under AddressSanitizer + UBSan by
// tests/run-all.sh. Usage: fuzz-model MODEL ITERATIONS SEED
#include "ipg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t g_state;
static uint32_t rnd(void) {   // xorshift64*
    g_state ^= g_state >> 12;
    g_state ^= g_state << 25;
    g_state ^= g_state >> 27;
    return (uint32_t) ((g_state * 2685821657736338717ull) >> 32);
}

int main(int argc, char ** argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: fuzz-model MODEL ITERATIONS SEED\n");
        return 2;
    }
    FILE * f = fopen(argv[1], "rb");
    if (!f) {
        perror(argv[1]);
        return 2;
    }
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t * good = malloc((size_t) size);
    uint8_t * buf = malloc((size_t) size + 64);
    if (!good || !buf || fread(good, 1, (size_t) size, f) != (size_t) size) {
        fprintf(stderr, "read failed\n");
        return 2;
    }
    fclose(f);
    const long iterations = atol(argv[2]);
    g_state = strtoull(argv[3], NULL, 10) | 1;

    uint64_t header = 0;
    memcpy(&header, good, 8);   // little-endian host assumed (x86, arm)
    const size_t hend = (size_t) (8 + header < (uint64_t) size ? 8 + header : (uint64_t) size);

    char err[1024];
    ipg_model_t * m = NULL;
    if (ipg_model_load_memory(good, (size_t) size, "good", &m, err, sizeof err) != IPG_OK) {
        printf("FAIL: the unmutated model does not load: %s\n", err);
        return 1;
    }
    ipg_model_free(m);

    long accepted = 0, refused = 0;
    for (long it = 0; it < iterations; it++) {
        size_t n = (size_t) size;
        memcpy(buf, good, n);
        const int kind = rnd() % 6;
        const int count = 1 + rnd() % 4;
        for (int c = 0; c < count; c++) {
            switch (kind) {
                case 0: buf[rnd() % hend] ^= (uint8_t) (1u << (rnd() % 8)); break;                    // header bit flip
                case 1: buf[8 + rnd() % (hend - 8)] = "0123456789[]{},:\"-.eE "[rnd() % 22]; break;   // JSON token
                case 2: n = rnd() % (n + 1); break;                                                   // truncation
                case 3: {                                                                             // length field
                    uint64_t v = rnd() % 4 == 0 ? ~0ull >> (rnd() % 64) : header + (int) (rnd() % 64) - 32;
                    memcpy(buf, &v, 8);
                    break;
                }
                case 4: {   // data: NaN / Inf bytes
                    size_t at = hend + rnd() % ((size_t) size - hend);
                    buf[at] = 0xff;
                    if (at + 1 < (size_t) size) buf[at + 1] = 0x7f;
                    break;
                }
                default: {   // splice a header range
                    size_t a = 8 + rnd() % (hend - 8), b = 8 + rnd() % (hend - 8), len = rnd() % 64;
                    if (a + len <= hend && b + len <= hend) memmove(buf + a, good + b, len);
                    break;
                }
            }
        }
        if (ipg_model_load_memory(buf, n, "mutant", &m, err, sizeof err) == IPG_OK) {
            accepted++;
            ipg_model_free(m);
        } else {
            refused++;
            if (err[0] == '\0') {
                printf("FAIL: iteration %ld refused without a message\n", it);
                free(good);
                free(buf);
                return 1;
            }
        }
    }
    free(good);
    free(buf);
    printf("%ld mutations: %ld refused with a message, %ld still valid; no crash\n", iterations, refused, accepted);
    printf("1 passed, 0 failed\n");
    return 0;
}
