// SPDX-License-Identifier: LGPL-2.1-or-later
// st-builder.c: in-memory safetensors files for the format tests.
#include "st-builder.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const st_good_tensor_t st_good_tensors[] = {
    // name                          dtype   dims  shape            bytes begin
    { "backbone.body.conv1.weight", "F32",  4, { 2, 3, 3, 3 },   216,  24 },
    { "backbone.body.bn1.weight",   "F16",  1, { 2 },              4, 240 },
    { "head.ids",                   "I64",  1, { 3 },             24,   0 },
    { "head.scalar",                "F32",  0, { 0 },              4, 244 },
    { "head.empty",                 "F32",  2, { 0, 5 },           0, 248 },
    { "head.mask",                  "BOOL", 1, { 5 },              5, 248 },
    { "head.bf",                    "BF16", 2, { 2, 2 },           8, 253 },
    { "head.u8",                    "U8",   3, { 1, 1, 3 },        3, 261 },
};
const int32_t st_good_n_tensors = (int32_t) (sizeof(st_good_tensors) / sizeof(st_good_tensors[0]));

#define ST_GOOD_DATA_SIZE 264

uint8_t st_good_data_byte(size_t i) {
    return (uint8_t) (i * 7 + 3);
}

char * st_json_quote(const char * s) {
    size_t n   = strlen(s);
    char * out = malloc(n * 6 + 3);
    if (out == NULL) {
        return NULL;
    }
    size_t o = 0;
    out[o++] = '"';
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char) s[i];
        if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = (char) c;
        } else if (c < 0x20) {
            o += (size_t) snprintf(out + o, 7, "\\u%04x", c);
        } else {
            out[o++] = (char) c;
        }
    }
    out[o++] = '"';
    out[o]   = '\0';
    return out;
}

uint8_t * st_build_raw(uint64_t header_len_field, const char * header, size_t header_len,
                       const uint8_t * data, size_t data_len, size_t * size) {
    uint8_t * b = malloc(8 + header_len + data_len + 1);
    if (b == NULL) {
        return NULL;
    }
    for (int i = 0; i < 8; i++) {
        b[i] = (uint8_t) (header_len_field >> (8 * i));
    }
    memcpy(b + 8, header, header_len);
    if (data_len > 0) {
        memcpy(b + 8 + header_len, data, data_len);
    }
    *size = 8 + header_len + data_len;
    return b;
}

uint8_t * st_build(const char * header, size_t data_len, size_t * size) {
    uint8_t * data = malloc(data_len + 1);
    if (data == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < data_len; i++) {
        data[i] = st_good_data_byte(i);
    }
    size_t    hl = strlen(header);
    uint8_t * b  = st_build_raw(hl, header, hl, data, data_len, size);
    free(data);
    return b;
}

uint8_t * st_build_good(size_t * size, size_t * header_len) {
    return st_build_good_meta(ST_GOOD_CONFIG, ST_GOOD_LABELS, size, header_len);
}

uint8_t * st_build_good_meta(const char * config, const char * labels, size_t * size, size_t * header_len) {
    char * cfg = st_json_quote(config);
    char * lab = st_json_quote(labels);
    size_t cap = 8192 + strlen(cfg) + strlen(lab);
    char * h   = malloc(cap);
    if (cfg == NULL || lab == NULL || h == NULL) {
        free(cfg);
        free(lab);
        free(h);
        return NULL;
    }
    size_t o = (size_t) snprintf(h, cap, "{\"__metadata__\": {\"format\": \"ipgnet\", \"format_version\": \"1\", "
                                 "\"config\": %s, \"labels\": %s}", cfg, lab);
    for (int32_t t = 0; t < st_good_n_tensors; t++) {
        const st_good_tensor_t * g = &st_good_tensors[t];
        o += (size_t) snprintf(h + o, cap - o, ", \"%s\": {\"dtype\": \"%s\", \"shape\": [", g->name, g->dtype);
        for (int32_t d = 0; d < g->n_dims; d++) {
            o += (size_t) snprintf(h + o, cap - o, "%s%lld", d ? ", " : "", (long long) g->shape[d]);
        }
        o += (size_t) snprintf(h + o, cap - o, "], \"data_offsets\": [%zu, %zu]}", g->begin, g->begin + g->nbytes);
    }
    o += (size_t) snprintf(h + o, cap - o, "}");
    // Pad with spaces to a multiple of 8, as the reference writer does.
    while (o % 8 != 0) {
        h[o++] = ' ';
    }
    h[o] = '\0';
    free(cfg);
    free(lab);
    *header_len = o;
    uint8_t * b = st_build(h, ST_GOOD_DATA_SIZE, size);
    free(h);
    return b;
}
