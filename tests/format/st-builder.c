// SPDX-License-Identifier: LGPL-2.1-or-later
// st-builder.c: in-memory safetensors files for the format tests; the good
// file through the library's writer (ipg_st_write_header), bad ones raw.
#include "st-builder.h"
#include "safetensors.h"

#include <stdlib.h>
#include <string.h>

const st_good_tensor_t st_good_tensors[] = {
    // name                          dtype   dims  shape            bytes begin
    { "backbone.body.conv1.weight", "F32", 4, { 2, 3, 3, 3 }, 216, 24 },
    { "backbone.body.bn1.weight", "F16", 1, { 2 }, 4, 240 },
    { "head.ids", "I64", 1, { 3 }, 24, 0 },
    { "head.scalar", "F32", 0, { 0 }, 4, 244 },
    { "head.empty", "F32", 2, { 0, 5 }, 0, 248 },
    { "head.mask", "BOOL", 1, { 5 }, 5, 248 },
    { "head.bf", "BF16", 2, { 2, 2 }, 8, 253 },
    { "head.u8", "U8", 3, { 1, 1, 3 }, 3, 261 },
};
const int32_t st_good_n_tensors = (int32_t) (sizeof(st_good_tensors) / sizeof(st_good_tensors[0]));

#define ST_GOOD_DATA_SIZE   264
#define ST_GOOD_MAX_TENSORS 16
_Static_assert(sizeof(st_good_tensors) / sizeof(st_good_tensors[0]) <= ST_GOOD_MAX_TENSORS,
               "st_build_good_meta's entry array is too small");

uint8_t st_good_data_byte(size_t i) { return (uint8_t) (i * 7 + 3); }

uint8_t * st_build_raw(uint64_t header_len_field, const char * header, size_t header_len, const uint8_t * data,
                       size_t data_len, size_t * size) {
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
    size_t hl = strlen(header);
    uint8_t * b = st_build_raw(hl, header, hl, data, data_len, size);
    free(data);
    return b;
}

uint8_t * st_build_good(size_t * size, size_t * header_len) {
    return st_build_good_meta(ST_GOOD_CONFIG, ST_GOOD_LABELS, size, header_len);
}

uint8_t * st_build_good_meta(const char * config, const char * labels, size_t * size, size_t * header_len) {
    const char * meta[] = { "format", "ipgnet", "format_version", "1", "config", config, "labels", labels };
    ipg_st_entry_t entries[ST_GOOD_MAX_TENSORS];
    for (int32_t t = 0; t < st_good_n_tensors; t++) {
        const st_good_tensor_t * g = &st_good_tensors[t];
        entries[t] = (ipg_st_entry_t){ g->name, g->dtype, g->n_dims, g->shape, g->begin, g->begin + g->nbytes };
    }
    size_t prefix;
    uint8_t * head = ipg_st_write_header(meta, 4, entries, st_good_n_tensors, &prefix);
    uint8_t * b = head ? realloc(head, prefix + ST_GOOD_DATA_SIZE) : NULL;
    if (b == NULL) {
        free(head);
        return NULL;
    }
    for (size_t i = 0; i < ST_GOOD_DATA_SIZE; i++) {
        b[prefix + i] = st_good_data_byte(i);
    }
    *header_len = prefix - 8;
    *size = prefix + ST_GOOD_DATA_SIZE;
    return b;
}
