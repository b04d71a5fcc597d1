// SPDX-License-Identifier: LGPL-2.1-or-later
// test-safetensors.c: the container reader accepts a good file with every
// field right, and refuses each crafted bad file with its own message
// (the enumerated-corruption style of llama.cpp's test-gguf).
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L   // mkstemp, mkdtemp, mkfifo, unlink
#endif

#include "check.h"
#include "file-io.h"
#include "safetensors.h"
#include "st-builder.h"

#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

// ---- good file ---------------------------------------------------------------

static void test_good_file(void) {
    size_t size, header_len;
    uint8_t * bytes = st_build_good(&size, &header_len);
    char err[512];
    char what[160];
    ipg_st_file_t f;

    int rc = ipg_st_parse(bytes, size, &f, err, sizeof(err));
    check(rc == 0, "good file parses", err);
    if (rc != 0) {
        free(bytes);
        return;
    }
    check(f.file_size == size && memcmp(f.file, bytes, size) == 0, "good file: bytes copied", NULL);
    check(f.n_tensors == st_good_n_tensors, "good file: tensor count", NULL);
    check(f.n_meta == 4, "good file: 4 metadata entries", NULL);

    // Sorted by data offset.
    bool sorted = true;
    for (int32_t i = 1; i < f.n_tensors; i++) {
        sorted = sorted && f.tensors[i - 1].data + f.tensors[i - 1].nbytes == f.tensors[i].data;
    }
    check(sorted, "good file: tensors sorted by offset and contiguous", NULL);

    const uint8_t * data0 = f.file + 8 + header_len;
    for (int32_t i = 0; i < st_good_n_tensors; i++) {
        const st_good_tensor_t * g = &st_good_tensors[i];
        const ipg_st_tensor_t * t = ipg_st_find(&f, g->name);
        snprintf(what, sizeof(what), "good file: tensor '%s' found", g->name);
        check(t != NULL, what, NULL);
        if (t == NULL) {
            continue;
        }
        bool shape_ok = t->n_dims == g->n_dims;
        int64_t numel = 1;
        for (int32_t d = 0; d < g->n_dims && shape_ok; d++) {
            shape_ok = t->shape[d] == g->shape[d];
            numel *= g->shape[d];
        }
        snprintf(what, sizeof(what), "good file: '%s' dtype %s, shape, numel %lld, %zu bytes", g->name, g->dtype,
                 (long long) numel, g->nbytes);
        check(shape_ok && strcmp(ipg_st_dtype_name(t->dtype), g->dtype) == 0 && t->numel == numel &&
                  t->nbytes == g->nbytes,
              what, NULL);
        bool data_ok = t->data == data0 + g->begin;
        for (size_t k = 0; k < g->nbytes && data_ok; k++) {
            data_ok = t->data[k] == st_good_data_byte(g->begin + k);
        }
        snprintf(what, sizeof(what), "good file: '%s' data points at byte %zu of the buffer", g->name, g->begin);
        check(data_ok, what, NULL);
    }
    check(ipg_st_find(&f, "nope") == NULL, "good file: absent tensor -> NULL", NULL);
    check(ipg_st_find(&f, "__metadata__") == NULL, "good file: __metadata__ is not a tensor", NULL);

    const char * v = ipg_st_meta(&f, "format");
    check(v && strcmp(v, "ipgnet") == 0, "good file: metadata format = ipgnet", NULL);
    v = ipg_st_meta(&f, "format_version");
    check(v && strcmp(v, "1") == 0, "good file: metadata format_version = 1", NULL);
    v = ipg_st_meta(&f, "config");
    check(v && strcmp(v, ST_GOOD_CONFIG) == 0, "good file: metadata config round-trips", NULL);
    v = ipg_st_meta(&f, "labels");
    check(v && strcmp(v, ST_GOOD_LABELS) == 0, "good file: metadata labels round-trip", NULL);
    check(ipg_st_meta(&f, "absent") == NULL, "good file: absent metadata key -> NULL", NULL);

    ipg_st_free(&f);
    check(f.file == NULL && f.n_tensors == 0 && f.tensors == NULL, "ipg_st_free clears the struct", NULL);
    ipg_st_free(&f);   // twice is harmless
    free(bytes);
}

// An empty model (no tensors, no data) and spaces after the JSON are legal.
static void test_minimal_files(void) {
    char err[256];
    ipg_st_file_t f;
    size_t size;
    uint8_t * b = st_build("{}", 0, &size);
    int rc = ipg_st_parse(b, size, &f, err, sizeof(err));
    check(rc == 0 && f.n_tensors == 0 && f.n_meta == 0, "'{}' with no data parses", err);
    ipg_st_free(&f);
    free(b);

    b = st_build("{\"__metadata__\": {}, \"a\": {\"dtype\": \"U8\", \"shape\": [4], \"data_offsets\": [0, 4]}}   ", 4,
                 &size);
    rc = ipg_st_parse(b, size, &f, err, sizeof(err));
    check(rc == 0 && f.n_tensors == 1 && f.tensors[0].nbytes == 4, "header padded with spaces parses", err);
    ipg_st_free(&f);
    free(b);

    // Unknown fields of a tensor entry are ignored (forward compatibility).
    b = st_build("{\"a\": {\"dtype\": \"I8\", \"shape\": [2], \"data_offsets\": [0, 2], \"extra\": [1]}}", 2, &size);
    rc = ipg_st_parse(b, size, &f, err, sizeof(err));
    check(rc == 0 && f.n_tensors == 1, "unknown tensor field ignored", err);
    ipg_st_free(&f);
    free(b);
}

// ---- bad files -----------------------------------------------------------------

enum bad_case {
    TRUNCATED_BEFORE_LENGTH,
    EMPTY_FILE,
    HEADER_LENGTH_BEYOND_FILE,
    HEADER_LENGTH_ABSURD,
    HEADER_LENGTH_OVER_LIMIT,
    HEADER_LENGTH_ZERO,
    HEADER_NOT_JSON,
    HEADER_NOT_OBJECT,
    HEADER_LEADING_SPACE,
    BAD_JSON_TRAILING_GARBAGE,
    BAD_JSON_TRUNCATED,
    BAD_JSON_INVALID_UTF8,
    BAD_JSON_DEPTH_BOMB,
    METADATA_NOT_OBJECT,
    METADATA_VALUE_NOT_STRING,
    METADATA_VALUE_NUL,
    METADATA_KEY_NUL,
    TENSOR_NOT_OBJECT,
    TENSOR_EMPTY_NAME,
    TENSOR_NAME_CONTROL_CHAR,
    MISSING_DTYPE,
    MISSING_SHAPE,
    MISSING_OFFSETS,
    DTYPE_NOT_STRING,
    UNKNOWN_DTYPE,
    SHAPE_NOT_ARRAY,
    SHAPE_NEGATIVE,
    SHAPE_NOT_INTEGER,
    SHAPE_TOO_MANY_DIMS,
    SHAPE_OVERFLOW,
    SHAPE_BYTES_OVERFLOW,
    OFFSETS_NOT_PAIR,
    OFFSETS_NOT_INTEGERS,
    OFFSETS_BEYOND_INT64,
    OFFSETS_WRONG_SIZE,
    OFFSETS_REVERSED,
    OFFSETS_OUT_OF_RANGE,
    OFFSETS_OVERLAP,
    OFFSETS_OVERLAP_EMPTY_TENSOR,
    OFFSETS_HOLE,
    OFFSETS_HOLE_AT_START,
    DUPLICATE_TENSOR,
    DUPLICATE_METADATA,
    DATA_SHORTER_THAN_HEADER_CLAIMS,
    DATA_LONGER_THAN_TENSORS,
    BAD_CASE_COUNT,
};

static const char * bad_case_name(enum bad_case c) {
    switch (c) {
        case TRUNCATED_BEFORE_LENGTH: return "TRUNCATED_BEFORE_LENGTH";
        case EMPTY_FILE: return "EMPTY_FILE";
        case HEADER_LENGTH_BEYOND_FILE: return "HEADER_LENGTH_BEYOND_FILE";
        case HEADER_LENGTH_ABSURD: return "HEADER_LENGTH_ABSURD";
        case HEADER_LENGTH_OVER_LIMIT: return "HEADER_LENGTH_OVER_LIMIT";
        case HEADER_LENGTH_ZERO: return "HEADER_LENGTH_ZERO";
        case HEADER_NOT_JSON: return "HEADER_NOT_JSON";
        case HEADER_NOT_OBJECT: return "HEADER_NOT_OBJECT";
        case HEADER_LEADING_SPACE: return "HEADER_LEADING_SPACE";
        case BAD_JSON_TRAILING_GARBAGE: return "BAD_JSON_TRAILING_GARBAGE";
        case BAD_JSON_TRUNCATED: return "BAD_JSON_TRUNCATED";
        case BAD_JSON_INVALID_UTF8: return "BAD_JSON_INVALID_UTF8";
        case BAD_JSON_DEPTH_BOMB: return "BAD_JSON_DEPTH_BOMB";
        case METADATA_NOT_OBJECT: return "METADATA_NOT_OBJECT";
        case METADATA_VALUE_NOT_STRING: return "METADATA_VALUE_NOT_STRING";
        case METADATA_VALUE_NUL: return "METADATA_VALUE_NUL";
        case METADATA_KEY_NUL: return "METADATA_KEY_NUL";
        case TENSOR_NOT_OBJECT: return "TENSOR_NOT_OBJECT";
        case TENSOR_EMPTY_NAME: return "TENSOR_EMPTY_NAME";
        case TENSOR_NAME_CONTROL_CHAR: return "TENSOR_NAME_CONTROL_CHAR";
        case MISSING_DTYPE: return "MISSING_DTYPE";
        case MISSING_SHAPE: return "MISSING_SHAPE";
        case MISSING_OFFSETS: return "MISSING_OFFSETS";
        case DTYPE_NOT_STRING: return "DTYPE_NOT_STRING";
        case UNKNOWN_DTYPE: return "UNKNOWN_DTYPE";
        case SHAPE_NOT_ARRAY: return "SHAPE_NOT_ARRAY";
        case SHAPE_NEGATIVE: return "SHAPE_NEGATIVE";
        case SHAPE_NOT_INTEGER: return "SHAPE_NOT_INTEGER";
        case SHAPE_TOO_MANY_DIMS: return "SHAPE_TOO_MANY_DIMS";
        case SHAPE_OVERFLOW: return "SHAPE_OVERFLOW";
        case SHAPE_BYTES_OVERFLOW: return "SHAPE_BYTES_OVERFLOW";
        case OFFSETS_NOT_PAIR: return "OFFSETS_NOT_PAIR";
        case OFFSETS_NOT_INTEGERS: return "OFFSETS_NOT_INTEGERS";
        case OFFSETS_BEYOND_INT64: return "OFFSETS_BEYOND_INT64";
        case OFFSETS_WRONG_SIZE: return "OFFSETS_WRONG_SIZE";
        case OFFSETS_REVERSED: return "OFFSETS_REVERSED";
        case OFFSETS_OUT_OF_RANGE: return "OFFSETS_OUT_OF_RANGE";
        case OFFSETS_OVERLAP: return "OFFSETS_OVERLAP";
        case OFFSETS_OVERLAP_EMPTY_TENSOR: return "OFFSETS_OVERLAP_EMPTY_TENSOR";
        case OFFSETS_HOLE: return "OFFSETS_HOLE";
        case OFFSETS_HOLE_AT_START: return "OFFSETS_HOLE_AT_START";
        case DUPLICATE_TENSOR: return "DUPLICATE_TENSOR";
        case DUPLICATE_METADATA: return "DUPLICATE_METADATA";
        case DATA_SHORTER_THAN_HEADER_CLAIMS: return "DATA_SHORTER_THAN_HEADER_CLAIMS";
        case DATA_LONGER_THAN_TENSORS: return "DATA_LONGER_THAN_TENSORS";
        case BAD_CASE_COUNT: break;
    }
    return "?";
}

#define T16(name, offs) "\"" name "\": {\"dtype\": \"F32\", \"shape\": [16], \"data_offsets\": " offs "}"

// Builds the file for one case; *expect receives a substring that only that
// case's check produces.
static uint8_t * bad_case_build(enum bad_case c, size_t * size, const char ** expect) {
    static const char depth_prefix[] = "{\"a\": ";
    char big[2048];
    size_t good_size, good_hl;

    switch (c) {
        case TRUNCATED_BEFORE_LENGTH:
            *expect = "file is 5 bytes, too short for the 8-byte header length";
            {
                uint8_t * b = st_build_raw(2, "{}", 2, NULL, 0, size);
                *size = 5;
                return b;
            }
        case EMPTY_FILE:
            *expect = "file is 0 bytes";
            *size = 0;
            return malloc(1);
        case HEADER_LENGTH_BEYOND_FILE:
            *expect = "header length 123456789 exceeds the file size (2048 bytes)";
            memset(big, ' ', 2040);
            big[0] = '{';
            big[1] = '}';
            return st_build_raw(123456789, big, 2040, NULL, 0, size);
        case HEADER_LENGTH_ABSURD:
            *expect = "header length 9223372036854775808 exceeds the file size (10 bytes) and the 100000000-byte limit";
            return st_build_raw((uint64_t) 1 << 63, "{}", 2, NULL, 0, size);
        case HEADER_LENGTH_OVER_LIMIT: {
            // A file big enough to hold the claimed header, which is still
            // past the cap: refused before any JSON is parsed.
            const size_t hl = 100000001;
            uint8_t * b = calloc(1, 8 + hl);
            if (b != NULL) {
                for (int i = 0; i < 8; i++) {
                    b[i] = (uint8_t) ((uint64_t) hl >> (8 * i));
                }
                b[8] = '{';
            }
            *size = 8 + hl;
            *expect = "header length 100000001 exceeds the 100000000-byte limit";
            return b;
        }
        case HEADER_LENGTH_ZERO: *expect = "header length is 0"; return st_build_raw(0, "{}", 2, NULL, 0, size);
        case HEADER_NOT_JSON:
            *expect = "header is not valid JSON: JSON error at byte 1: unexpected character 't', expected a string key";
            return st_build("{this is not json}", 0, size);
        case HEADER_NOT_OBJECT: *expect = "header does not start with '{'"; return st_build("[1, 2, 3]", 0, size);
        case HEADER_LEADING_SPACE: *expect = "header does not start with '{'"; return st_build(" {}", 0, size);
        case BAD_JSON_TRAILING_GARBAGE:
            *expect = "trailing characters after the JSON value";
            return st_build("{} x", 0, size);
        case BAD_JSON_TRUNCATED:
            *expect = "unexpected end of input";
            return st_build("{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]", 4, size);
        case BAD_JSON_INVALID_UTF8: *expect = "invalid UTF-8 byte 0xff"; return st_build("{\"a\xff\": {}}", 0, size);
        case BAD_JSON_DEPTH_BOMB: {
            *expect = "nesting deeper than 64 levels";
            size_t o = 0;
            for (int i = 0; i < 100; i++) {
                memcpy(big + o, depth_prefix, sizeof(depth_prefix) - 1);
                o += sizeof(depth_prefix) - 1;
            }
            big[o++] = '1';
            memset(big + o, '}', 100);
            o += 100;
            big[o] = '\0';
            return st_build(big, 0, size);
        }
        case METADATA_NOT_OBJECT:
            *expect = "__metadata__ must be an object of strings, got \"x\"";
            return st_build("{\"__metadata__\": \"x\"}", 0, size);
        case METADATA_VALUE_NOT_STRING:
            *expect = "metadata value for key 'format' is not a string";
            return st_build("{\"__metadata__\": {\"ok\": \"1\", \"format\": 1}}", 0, size);
        case METADATA_VALUE_NUL:
            *expect = "metadata value for key 'format' contains a NUL character";
            return st_build("{\"__metadata__\": {\"format\": \"ipg\\u0000net\"}}", 0, size);
        case METADATA_KEY_NUL:
            *expect = "metadata key at header byte 18 contains a NUL character";
            return st_build("{\"__metadata__\": {\"for\\u0000mat\": \"ipgnet\"}}", 0, size);
        case TENSOR_NOT_OBJECT:
            *expect = "tensor 'a': entry must be an object, got [0, 4]";
            return st_build("{\"a\": [0, 4]}", 4, size);
        case TENSOR_EMPTY_NAME:
            *expect = "tensor at header byte 1 has an empty name";
            return st_build("{\"\": {\"dtype\": \"U8\", \"shape\": [1], \"data_offsets\": [0, 1]}}", 1, size);
        case TENSOR_NAME_CONTROL_CHAR:
            *expect = "tensor name at header byte 1 contains a control character";
            return st_build("{\"a\\nb\": {\"dtype\": \"U8\", \"shape\": [1], \"data_offsets\": [0, 1]}}", 1, size);
        case MISSING_DTYPE:
            *expect = "tensor 'a': missing 'dtype'";
            return st_build("{\"a\": {\"shape\": [1], \"data_offsets\": [0, 4]}}", 4, size);
        case MISSING_SHAPE:
            *expect = "tensor 'a': missing 'shape'";
            return st_build("{\"a\": {\"dtype\": \"F32\", \"data_offsets\": [0, 4]}}", 4, size);
        case MISSING_OFFSETS:
            *expect = "tensor 'a': missing 'data_offsets'";
            return st_build("{\"a\": {\"dtype\": \"F32\", \"shape\": [1]}}", 4, size);
        case DTYPE_NOT_STRING:
            *expect = "tensor 'a': dtype 32 is not a string";
            return st_build("{\"a\": {\"dtype\": 32, \"shape\": [1], \"data_offsets\": [0, 4]}}", 4, size);
        case UNKNOWN_DTYPE:
            *expect = "tensor 'a': unknown dtype \"Q4_0\"";
            return st_build("{\"a\": {\"dtype\": \"Q4_0\", \"shape\": [1], \"data_offsets\": [0, 4]}}", 4, size);
        case SHAPE_NOT_ARRAY:
            *expect = "tensor 'a': shape 4 is not an array";
            return st_build("{\"a\": {\"dtype\": \"F32\", \"shape\": 4, \"data_offsets\": [0, 16]}}", 16, size);
        case SHAPE_NEGATIVE:
            *expect = "tensor 'a': shape[1] is -3, not a non-negative integer";
            return st_build("{\"a\": {\"dtype\": \"F32\", \"shape\": [2, -3], \"data_offsets\": [0, 24]}}", 24, size);
        case SHAPE_NOT_INTEGER:
            *expect = "tensor 'a': shape[0] is 2.5, not a non-negative integer";
            return st_build("{\"a\": {\"dtype\": \"F32\", \"shape\": [2.5], \"data_offsets\": [0, 8]}}", 8, size);
        case SHAPE_TOO_MANY_DIMS:
            *expect = "tensor 'a': shape has 9 dimensions, at most 8 are supported";
            return st_build("{\"a\": {\"dtype\": \"U8\", \"shape\": [1,1,1,1,1,1,1,1,1], \"data_offsets\": [0, 1]}}", 1,
                            size);
        case SHAPE_OVERFLOW:
            *expect = "tensor 'a': shape [4294967296, 4294967296, 4] overflows";
            return st_build(
                "{\"a\": {\"dtype\": \"U8\", \"shape\": [4294967296, 4294967296, 4], \"data_offsets\": [0, 1]}}", 1,
                size);
        case SHAPE_BYTES_OVERFLOW:
            // 2^62 elements fit int64, 2^64 bytes of F32 do not.
            *expect = "tensor 'a': shape [4611686018427387904] overflows";
            return st_build("{\"a\": {\"dtype\": \"F32\", \"shape\": [4611686018427387904], \"data_offsets\": [0, 4]}}",
                            4, size);
        case OFFSETS_NOT_PAIR:
            *expect = "tensor 'a': data_offsets [0] must be [begin, end]";
            return st_build("{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0]}}", 4, size);
        case OFFSETS_NOT_INTEGERS:
            *expect = "tensor 'a': data_offsets [0, \"4\"] must be [begin, end]";
            return st_build("{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, \"4\"]}}", 4, size);
        case OFFSETS_BEYOND_INT64:
            *expect = "tensor 'a': data_offsets [1.8446744073709552e+19, 1.8446744073709552e+19] must be";
            return st_build("{\"a\": {\"dtype\": \"F32\", \"shape\": [1], "
                            "\"data_offsets\": [18446744073709551612, 18446744073709551616]}}",
                            4, size);
        case OFFSETS_WRONG_SIZE:
            *expect = "tensor 'backbone.body.conv1.weight': data_offsets [100, 164] are 64 bytes but F32 shape "
                      "[2, 3, 3, 3] needs 216";
            return st_build("{\"backbone.body.conv1.weight\": {\"dtype\": \"F32\", \"shape\": [2, 3, 3, 3], "
                            "\"data_offsets\": [100, 164]}}",
                            164, size);
        case OFFSETS_REVERSED:
            *expect = "tensor 'a': data_offsets [64, 0] are reversed (begin > end)";
            return st_build("{" T16("a", "[64, 0]") "}", 64, size);
        case OFFSETS_OUT_OF_RANGE:
            *expect = "tensor 'b': data_offsets [4096, 4160] lie outside the data buffer (128 bytes)";
            return st_build("{" T16("a", "[0, 64]") ", " T16("b", "[4096, 4160]") "}", 128, size);
        case OFFSETS_OVERLAP:
            *expect = "tensors 'a' and 'b' overlap at byte 32 of the data buffer";
            return st_build("{" T16("b", "[32, 96]") ", " T16("a", "[0, 64]") "}", 128, size);
        case OFFSETS_OVERLAP_EMPTY_TENSOR:
            *expect = "tensors 'a' and 'e' overlap at byte 32 of the data buffer";
            return st_build("{" T16("a", "[0, 64]") ", \"e\": {\"dtype\": \"F32\", \"shape\": [0], "
                                                    "\"data_offsets\": [32, 32]}}",
                            64, size);
        case OFFSETS_HOLE:
            *expect = "hole in the data buffer between byte 64 and 96 (after tensor 'x')";
            return st_build("{" T16("x", "[0, 64]") ", " T16("y", "[96, 160]") "}", 160, size);
        case OFFSETS_HOLE_AT_START:
            *expect = "hole in the data buffer between byte 0 and 8 (before tensor 'x')";
            return st_build("{" T16("x", "[8, 72]") "}", 72, size);
        case DUPLICATE_TENSOR:
            *expect = "duplicate key 'a' in an object";
            return st_build("{" T16("a", "[0, 64]") ", " T16("a", "[64, 128]") "}", 128, size);
        case DUPLICATE_METADATA:
            *expect = "duplicate key '__metadata__' in an object";
            return st_build("{\"__metadata__\": {}, \"__metadata__\": {\"format\": \"x\"}}", 0, size);
        case DATA_SHORTER_THAN_HEADER_CLAIMS: {
            uint8_t * good = st_build_good(&good_size, &good_hl);
            *size = good_size - 10;
            *expect = "the data buffer is 254 bytes but the tensors need 264 (the file is truncated?)";
            return good;
        }
        case DATA_LONGER_THAN_TENSORS: {
            *expect = "16 unused bytes at the end of the data buffer (after tensor 'a')";
            return st_build("{" T16("a", "[0, 64]") "}", 80, size);
        }
        case BAD_CASE_COUNT: break;
    }
    return NULL;
}

static void test_bad_files(void) {
    char what[160];
    for (int c = 0; c < BAD_CASE_COUNT; c++) {
        const char * expect = "";
        size_t size = 0;
        uint8_t * bytes = bad_case_build((enum bad_case) c, &size, &expect);
        char err[512] = "";
        ipg_st_file_t f;
        memset(&f, 0x5a, sizeof(f));
        if (bytes == NULL) {
            check(false, bad_case_name((enum bad_case) c), "could not build the case");
            continue;
        }
        // Exactly-sized copy so that ASan sees any read past the end.
        uint8_t * exact = malloc(size ? size : 1);
        memcpy(exact, bytes, size);
        free(bytes);
        int rc = ipg_st_parse(exact, size, &f, err, sizeof(err));
        bool ok = rc == 2 && strstr(err, expect) != NULL && f.file == NULL && f.n_tensors == 0;
        snprintf(what, sizeof(what), "%s refused", bad_case_name((enum bad_case) c));
        check(ok, what, err);
        if (!ok) {
            printf("     expected rc 2 and a message containing: %s\n", expect);
        }
        if (rc == 0) {
            ipg_st_free(&f);
        }
        free(exact);
    }
}

// NULL arguments are caller errors, answered with a message, not a crash.
static void test_bad_arguments(void) {
    char err[128] = "";
    ipg_st_file_t f;
    check(ipg_st_parse(NULL, 10, &f, err, sizeof(err)) != 0 && err[0], "ipg_st_parse(NULL, 10) refused", err);
    check(ipg_st_parse((const uint8_t *) "x", 1, NULL, err, sizeof(err)) != 0, "ipg_st_parse(out = NULL) refused", err);
    check(ipg_st_parse((const uint8_t *) "x", 1, &f, NULL, 0) == 2, "no error buffer is fine", NULL);
    check(ipg_st_find(NULL, "a") == NULL && ipg_st_meta(NULL, "a") == NULL, "find/meta on NULL -> NULL", NULL);
    ipg_st_free(NULL);
    check(strcmp(ipg_st_dtype_name((ipg_st_dtype_t) 99), "?") == 0, "dtype name out of range -> '?'", NULL);
}

// Loading from disk: success, missing file, directory, bad content.
static void test_load(void) {
    char err[512] = "";
    ipg_st_file_t f;
    char path[] = "/tmp/ipg-test-st-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) {
        check(false, "mkstemp", NULL);
        return;
    }
    size_t size, hl;
    uint8_t * bytes = st_build_good(&size, &hl);
    bool wrote = write(fd, bytes, size) == (ssize_t) size;
    close(fd);
    check(wrote, "wrote the good file to /tmp", NULL);

    int rc = ipg_st_load(path, &f, err, sizeof(err));
    check(rc == 0 && f.n_tensors == st_good_n_tensors && f.file_size == size, "ipg_st_load reads the good file", err);
    ipg_st_free(&f);

    // Truncate on disk: a content error (2) that names the path.
    FILE * fp = fopen(path, "wb");
    if (fp != NULL) {
        fwrite(bytes, 1, size - 1, fp);
        fclose(fp);
    }
    rc = ipg_st_load(path, &f, err, sizeof(err));
    check(rc == 2 && strncmp(err, path, strlen(path)) == 0 && strstr(err, "truncated") != NULL,
          "truncated file on disk -> 2, message starts with the path", err);
    unlink(path);

    rc = ipg_st_load(path, &f, err, sizeof(err));
    check(rc == 1 && strncmp(err, path, strlen(path)) == 0 && strstr(err, ": cannot open: No such file") != NULL,
          "missing file -> 1, path and strerror", err);

    rc = ipg_st_load("/tmp", &f, err, sizeof(err));
    check(rc == 1 && strcmp(err, "/tmp: cannot read: is a directory, not a regular file") == 0,
          "directory -> 1, path and what it is", err);
    rc = ipg_st_load("/dev/zero", &f, err, sizeof(err));
    check(rc == 1 && strcmp(err, "/dev/zero: cannot read: is a character device, not a regular file") == 0,
          "device -> 1, path and what it is", err);
    free(bytes);
}

// Special files are refused before the first blocking open or read: a FIFO
// without a writer would hang the loader (issue 18), and /dev/zero never
// ends. An alarm turns a regression into a failure rather than a hang.
static void on_alarm(int sig) {
    (void) sig;
    static const char msg[] = "FAIL a special file hung the reader (no answer within 10 s)\n";
    ssize_t n = write(STDOUT_FILENO, msg, sizeof(msg) - 1);
    (void) n;
    _exit(1);
}

static void test_special_files(void) {
    char err[512] = "";
    ipg_st_file_t f;
    char dir[] = "/tmp/ipg-test-fifo-XXXXXX";
    if (mkdtemp(dir) == NULL) {
        check(false, "mkdtemp", NULL);
        return;
    }
    char fifo[sizeof(dir) + 16];
    snprintf(fifo, sizeof(fifo), "%s/model.fifo", dir);
    if (mkfifo(fifo, 0600) != 0) {
        check(false, "mkfifo", NULL);
        rmdir(dir);
        return;
    }
    signal(SIGALRM, on_alarm);
    alarm(10);
    int rc = ipg_st_load(fifo, &f, err, sizeof(err));
    char expect[sizeof(fifo) + 64];
    snprintf(expect, sizeof(expect), "%s: cannot read: is a FIFO, not a regular file", fifo);
    check(rc == 1 && strcmp(err, expect) == 0, "FIFO model path -> 1 at once, is a FIFO", err);

    uint8_t * bytes = NULL;
    size_t size = 0;
    check(ipg_file_read(fifo, 1024, &bytes, &size, err, sizeof(err)) == IPG_ERR_IO && bytes == NULL &&
              strcmp(err, expect) == 0,
          "ipg_file_read: FIFO refused", err);
    check(ipg_file_read("/dev/zero", SIZE_MAX, &bytes, &size, err, sizeof(err)) == IPG_ERR_IO && bytes == NULL &&
              strcmp(err, "/dev/zero: cannot read: is a character device, not a regular file") == 0,
          "ipg_file_read: device refused", err);
    alarm(0);
    signal(SIGALRM, SIG_DFL);
    unlink(fifo);

    // The size limit is checked before anything is read.
    char file[sizeof(dir) + 16];
    snprintf(file, sizeof(file), "%s/ten", dir);
    FILE * fp = fopen(file, "wb");
    if (fp != NULL) {
        fputs("0123456789", fp);
        fclose(fp);
    }
    snprintf(expect, sizeof(expect), "%s: 10 bytes, more than the limit of 9", file);
    check(ipg_file_read(file, 9, &bytes, &size, err, sizeof(err)) == IPG_ERR_IO && bytes == NULL &&
              strcmp(err, expect) == 0,
          "ipg_file_read: over the limit refused, bytes and limit named", err);
    check(ipg_file_read(file, 10, &bytes, &size, err, sizeof(err)) == IPG_OK && size == 10 &&
              memcmp(bytes, "0123456789", 11) == 0,
          "ipg_file_read: at the limit read whole, NUL-terminated", err);
    free(bytes);
    check(ipg_file_read(NULL, 10, &bytes, &size, err, sizeof(err)) == IPG_ERR_INVALID_ARG && err[0],
          "ipg_file_read: NULL path refused", err);
    unlink(file);
    rmdir(dir);
}

// Reference values of IEEE half -> float, every class of encoding.
static void test_half(void) {
    static const struct {
        uint16_t h;
        float f;
    } cases[] = {
        { 0x0000, 0.0f },
        { 0x3c00, 1.0f },
        { 0xc000, -2.0f },
        { 0x3555, 0.333251953125f },
        { 0x7bff, 65504.0f },
        { 0x0400, 6.103515625e-05f },
        { 0x0001, 5.9604644775390625e-08f },
        { 0x03ff, 6.097555160522461e-05f },
        { 0x8001, -5.9604644775390625e-08f },
    };
    bool ok = true;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ok = ok && ipg_half_to_float(cases[i].h) == cases[i].f;
    }
    check(ok, "half -> float: zero, normals, max, subnormals", NULL);
    float nz = ipg_half_to_float(0x8000);
    check(nz == 0.0f && signbit(nz), "half -> float: -0", NULL);
    check(isinf(ipg_half_to_float(0x7c00)) && ipg_half_to_float(0xfc00) < 0 && isinf(ipg_half_to_float(0xfc00)),
          "half -> float: +-inf", NULL);
    check(isnan(ipg_half_to_float(0x7e00)) && isnan(ipg_half_to_float(0x7c01)), "half -> float: NaN", NULL);
}

// ---- large sparse files -------------------------------------------------------

#define SPARSE_BYTES ((uint64_t) 2 << 30)

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + 1e-9 * (double) ts.tv_nsec;
}

static long max_rss_kib(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

// The resident set now (VmRSS), in KiB; -1 if unknown.
static long rss_now_kib(void) {
    FILE * fp = fopen("/proc/self/status", "r");
    if (fp == NULL) {
        return -1;
    }
    char line[256];
    long kib = -1;
    while (fgets(line, sizeof(line), fp) != NULL) {
        if (strncmp(line, "VmRSS:", 6) == 0) {
            kib = strtol(line + 6, NULL, 10);
        }
    }
    fclose(fp);
    return kib;
}

static void on_slow_alarm(int sig) {
    (void) sig;
    static const char msg[] = "FAIL a 2 GB sparse file took more than 5 s (read whole?)\n";
    ssize_t n = write(STDOUT_FILENO, msg, sizeof(msg) - 1);
    (void) n;
    _exit(1);
}

// Writes `head` (size bytes) and extends the file, sparse, to `total` bytes.
static bool write_sparse(const char * path, const uint8_t * head, size_t size, uint64_t total) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) {
        return false;
    }
    bool ok = write(fd, head, size) == (ssize_t) size && ftruncate(fd, (off_t) total) == 0;
    return close(fd) == 0 && ok;
}

// Issue 18: a 2 GB file with a bad header was read whole (7.4 s, 2.11 GB RSS)
// before the header was looked at. Now the header is read and checked first
// and the data is mapped, so neither a bad nor a good 2 GB file costs its size
// in memory or time. The peak RSS (getrusage) may not grow by 64 MiB.
static void test_sparse_files(void) {
    char err[512] = "";
    char dir[] = "/tmp/ipg-test-sparse-XXXXXX";
    if (mkdtemp(dir) == NULL) {
        check(false, "mkdtemp", NULL);
        return;
    }
    char path[sizeof(dir) + 32];
    snprintf(path, sizeof(path), "%s/big.safetensors", dir);
    signal(SIGALRM, on_slow_alarm);
    ipg_st_file_t f;

    // A header that is not JSON, then 2 GB of holes.
    static const char bad[] = "\x10\0\0\0\0\0\0\0{\"a\": not JSON}";
    bool written = write_sparse(path, (const uint8_t *) bad, sizeof(bad) - 1, SPARSE_BYTES);
    check(written, "wrote a 2 GB sparse file with a bad header", path);
    long rss0 = max_rss_kib();
    double t0 = now_s();
    alarm(5);
    int rc = ipg_st_load(path, &f, err, sizeof(err));
    alarm(0);
    double dt = now_s() - t0;
    long rss = max_rss_kib() - rss0;
    char what[160];
    snprintf(what, sizeof(what), "2 GB sparse file, bad header -> 2 in %.3f s (< 1 s), peak RSS +%ld KiB (< 64 MiB)",
             dt, rss);
    check(written && rc == 2 && strstr(err, "header is not valid JSON") != NULL && dt < 1.0 && rss < 64 * 1024, what,
          err);

    // A good header whose one U8 tensor covers the 2 GB of holes: loaded
    // (mapped) without reading the data.
    int64_t shape[1] = { (int64_t) (SPARSE_BYTES - 4096) };
    ipg_st_entry_t e = { "big", "U8", 1, shape, 0, (uint64_t) shape[0] };
    size_t hsize = 0;
    uint8_t * head = ipg_st_write_header(NULL, 0, &e, 1, &hsize);
    written = head != NULL && write_sparse(path, head, hsize, hsize + (uint64_t) shape[0]);
    check(written, "wrote a 2 GB sparse file with a good header", path);
    rss0 = max_rss_kib();
    t0 = now_s();
    alarm(5);
    rc = ipg_st_load(path, &f, err, sizeof(err));
    alarm(0);
    dt = now_s() - t0;
    rss = max_rss_kib() - rss0;
    snprintf(what, sizeof(what), "2 GB sparse file, good header -> loaded (mapped) in %.3f s, peak RSS +%ld KiB", dt,
             rss);
    check(written && rc == 0 && f.mapped && f.n_tensors == 1 && f.tensors[0].nbytes == (size_t) shape[0] &&
              f.tensors[0].data == f.file + hsize && dt < 1.0 && rss < 64 * 1024,
          what, err);
    if (rc == 0) {
        check(f.tensors[0].data[0] == 0 && f.tensors[0].data[f.tensors[0].nbytes - 1] == 0,
              "the mapped data reads as the file's zeros", NULL);
        // Reading 64 MiB of the tensor makes its pages resident;
        // ipg_st_release_pages hands them back (the loader's peak memory
        // is one tensor's pages, not the file's), and the data still reads.
        const size_t touched = (size_t) 64 << 20;
        long before = rss_now_kib();
        unsigned sum = 0;
        for (size_t i = 0; i < touched; i += 4096) {
            sum += f.tensors[0].data[i];
        }
        long read_in = rss_now_kib() - before;
        ipg_st_release_pages(&f, &f.tensors[0]);
        long after = rss_now_kib() - before;
        snprintf(what, sizeof(what),
                 "64 MiB of a mapped tensor read: RSS +%ld KiB (>= 48 MiB); after ipg_st_release_pages +%ld KiB "
                 "(< 16 MiB)",
                 read_in, after);
        check(before >= 0 && sum == 0 && read_in >= 48 * 1024 && after < 16 * 1024, what, NULL);
        check(f.tensors[0].data[0] == 0 && f.tensors[0].data[touched] == 0, "the released tensor still reads", NULL);
        ipg_st_release_pages(NULL, &f.tensors[0]);   // no file: nothing happens
        ipg_st_free(&f);
    }
    free(head);
    signal(SIGALRM, SIG_DFL);
    unlink(path);
    rmdir(dir);
}

int main(void) {
    test_good_file();
    test_minimal_files();
    test_bad_files();
    test_bad_arguments();
    test_load();
    test_special_files();
    test_sparse_files();
    test_half();
    return check_summary();
}
