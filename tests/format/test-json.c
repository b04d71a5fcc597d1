// SPDX-License-Identifier: LGPL-2.1-or-later
// test-json.c: the strict JSON parser accepts RFC 8259 documents with the
// right DOM, and refuses everything else with a byte offset, without ever
// reading past the given length; the string writer escapes as documented.
#include "check.h"
#include "json.h"

#include <locale.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// Parses a copy of exactly `len` bytes (no terminator), so that ASan flags
// any read past the end.
static int parse_exact(const char * text, size_t len, ipg_json_doc_t ** doc, char * err, size_t err_size) {
    char * copy = malloc(len ? len : 1);
    memcpy(copy, text, len);
    int rc = ipg_json_parse(len ? copy : NULL, len, doc, err, err_size);
    free(copy);
    return rc;
}

// Valid documents: scalars and their DOM.
static void test_scalars(void) {
    char err[256];
    ipg_json_doc_t * doc = NULL;
    const ipg_json_value_t * r;

    check(parse_exact(" true ", 6, &doc, err, sizeof(err)) == 0 && ipg_json_root(doc)->type == IPG_JSON_BOOL &&
              ipg_json_root(doc)->u.boolean,
          "true", err);
    ipg_json_free(doc);
    check(parse_exact("false", 5, &doc, err, sizeof(err)) == 0 && !ipg_json_root(doc)->u.boolean, "false", err);
    ipg_json_free(doc);
    check(parse_exact("\t\r\nnull\n", 8, &doc, err, sizeof(err)) == 0 && ipg_json_root(doc)->type == IPG_JSON_NULL,
          "null with whitespace", err);
    r = ipg_json_root(doc);
    check(r->offset == 3, "value offset skips leading whitespace", NULL);
    ipg_json_free(doc);

    static const struct {
        const char * text;
        double value;
        bool is_int;
        long long i64;
    } nums[] = {
        { "0", 0.0, true, 0 },
        { "-0", -0.0, true, 0 },
        { "42", 42.0, true, 42 },
        { "-17", -17.0, true, -17 },
        { "1.5", 1.5, false, 0 },
        { "-1.5e-3", -1.5e-3, false, 0 },
        { "1E+2", 100.0, false, 0 },
        { "1e2", 100.0, false, 0 },
        { "0.1", 0.1, false, 0 },
        { "2.5E-1", 0.25, false, 0 },
        { "9223372036854775807", 9223372036854775807.0, true, 9223372036854775807LL },
        { "-9223372036854775808", -9223372036854775808.0, true, -9223372036854775807LL - 1 },
        { "9223372036854775808", 9223372036854775808.0, false, 0 },
        { "-9223372036854775809", -9223372036854775809.0, false, 0 },
        { "1e308", 1e308, false, 0 },
        { "1e-400", 0.0, false, 0 },
        { "123456789012345678901234567890", 123456789012345678901234567890.0, false, 0 },
    };
    for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
        char what[96];
        snprintf(what, sizeof(what), "number %s", nums[i].text);
        int rc = parse_exact(nums[i].text, strlen(nums[i].text), &doc, err, sizeof(err));
        r = ipg_json_root(doc);
        check(rc == 0 && r->type == IPG_JSON_NUMBER && r->u.number.value == nums[i].value &&
                  r->u.number.is_int == nums[i].is_int && (!nums[i].is_int || r->u.number.i64 == nums[i].i64),
              what, err);
        ipg_json_free(doc);
    }
    check(parse_exact("-0", 2, &doc, err, sizeof(err)) == 0 && signbit(ipg_json_root(doc)->u.number.value),
          "-0 keeps its sign", err);
    ipg_json_free(doc);

    // Empty containers as the first thing parsed (the parser's stacks are
    // still unallocated).
    check(parse_exact("{}", 2, &doc, err, sizeof(err)) == 0 && ipg_json_root(doc)->type == IPG_JSON_OBJECT &&
              ipg_json_count(ipg_json_root(doc)) == 0,
          "empty object", err);
    ipg_json_free(doc);
    check(parse_exact(" [ ] ", 5, &doc, err, sizeof(err)) == 0 && ipg_json_root(doc)->type == IPG_JSON_ARRAY &&
              ipg_json_count(ipg_json_root(doc)) == 0,
          "empty array", err);
    ipg_json_free(doc);

    // The text need not be NUL-terminated: only `len` bytes count.
    check(ipg_json_parse("1234", 3, &doc, err, sizeof(err)) == 0 && ipg_json_root(doc)->u.number.i64 == 123,
          "only len bytes are read", err);
    ipg_json_free(doc);
}

// Strings: every escape, surrogate pairs, raw UTF-8, embedded NUL.
static void test_strings(void) {
    static const struct {
        const char * json;
        const char * expect;
        size_t expect_len;
    } cases[] = {
        { "\"\"", "", 0 },
        { "\"abc\"", "abc", 3 },
        { "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", "\"\\/\b\f\n\r\t", 8 },
        { "\"\\u0041\\u00e9\\u20AC\"", "A\xc3\xa9\xe2\x82\xac", 6 },
        { "\"\\ud83d\\ude00\"", "\xf0\x9f\x98\x80", 4 },
        { "\"\\uDBFF\\uDFFF\"", "\xf4\x8f\xbf\xbf", 4 },
        { "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14 },
        { "\"a\\u0000b\"", "a\0b", 3 },
        { "\"\xef\xbf\xbf\"", "\xef\xbf\xbf", 3 },
    };
    char err[256];
    ipg_json_doc_t * doc = NULL;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char what[96];
        snprintf(what, sizeof(what), "string case %zu decodes", i);
        int rc = parse_exact(cases[i].json, strlen(cases[i].json), &doc, err, sizeof(err));
        const ipg_json_value_t * r = ipg_json_root(doc);
        check(rc == 0 && r->type == IPG_JSON_STRING && r->u.string.len == cases[i].expect_len &&
                  memcmp(r->u.string.ptr, cases[i].expect, cases[i].expect_len) == 0 &&
                  r->u.string.ptr[cases[i].expect_len] == '\0',
              what, err);
        ipg_json_free(doc);
    }
}

// Containers: navigation, order, offsets, lookups.
static void test_containers(void) {
    const char * text = "{\"b\": [1, \"two\", [], {}, null], \"a\": {\"x\": true}, \"\": 3}";
    char err[256];
    ipg_json_doc_t * doc = NULL;
    int rc = parse_exact(text, strlen(text), &doc, err, sizeof(err));
    check(rc == 0, "nested document parses", err);
    if (rc != 0) {
        return;
    }
    const ipg_json_value_t * root = ipg_json_root(doc);
    check(root->type == IPG_JSON_OBJECT && ipg_json_count(root) == 3, "root object has 3 members", NULL);
    check(strcmp(root->u.object.members[0].key, "b") == 0 && strcmp(root->u.object.members[1].key, "a") == 0,
          "members keep document order", NULL);
    check(root->u.object.members[1].key_offset == 32, "key offset points at the quote", NULL);
    const ipg_json_value_t * b = ipg_json_get(root, "b");
    check(b && b->type == IPG_JSON_ARRAY && ipg_json_count(b) == 5, "array of 5", NULL);
    check(b && b->offset == 6, "array offset", NULL);
    check(ipg_json_at(b, 0)->u.number.i64 == 1 && strcmp(ipg_json_at(b, 1)->u.string.ptr, "two") == 0 &&
              ipg_json_at(b, 2)->type == IPG_JSON_ARRAY && ipg_json_count(ipg_json_at(b, 2)) == 0 &&
              ipg_json_at(b, 3)->type == IPG_JSON_OBJECT && ipg_json_count(ipg_json_at(b, 3)) == 0 &&
              ipg_json_at(b, 4)->type == IPG_JSON_NULL,
          "array items", NULL);
    check(ipg_json_at(b, 5) == NULL && ipg_json_at(root, 0) == NULL, "ipg_json_at out of range / not array -> NULL",
          NULL);
    check(ipg_json_get(ipg_json_get(root, "a"), "x")->u.boolean, "nested lookup", NULL);
    check(ipg_json_get(root, "")->u.number.i64 == 3, "empty key", NULL);
    check(ipg_json_get(root, "c") == NULL && ipg_json_get(b, "b") == NULL && ipg_json_get(NULL, "b") == NULL,
          "absent key / not an object -> NULL", NULL);
    check(ipg_json_count(NULL) == 0 && ipg_json_count(ipg_json_at(b, 0)) == 0, "count of scalar/NULL is 0", NULL);

    char buf[128];
    ipg_json_format(root, buf, sizeof(buf));
    check(strcmp(buf, "{\"b\": [1, \"two\", [], {}, null], \"a\": {\"x\": true}, \"\": 3}") == 0,
          "format renders compact JSON", buf);
    char small[16];
    ipg_json_format(root, small, sizeof(small));
    check(strlen(small) == sizeof(small) - 1 && strcmp(small + strlen(small) - 3, "...") == 0,
          "format shortens with '...'", small);
    ipg_json_free(doc);

    // Long arrays and objects grow the parser's stacks; many keys exercise
    // the sorted duplicate check.
    size_t cap = 1 << 20, o = 0;
    char * big = malloc(cap);
    o += (size_t) snprintf(big + o, cap - o, "{");
    for (int i = 0; i < 5000; i++) {
        o += (size_t) snprintf(big + o, cap - o, "%s\"k%d\": [%d, [%d]]", i ? ", " : "", i, i, i);
    }
    o += (size_t) snprintf(big + o, cap - o, "}");
    rc = parse_exact(big, o, &doc, err, sizeof(err));
    check(rc == 0 && ipg_json_count(ipg_json_root(doc)) == 5000 &&
              ipg_json_at(ipg_json_at(ipg_json_get(ipg_json_root(doc), "k4999"), 1), 0)->u.number.i64 == 4999,
          "object of 5000 members", err);
    ipg_json_free(doc);
    // Same with one duplicate far apart: found, and the later one reported.
    memcpy(big + 2, "k7", 2);   // "k0" -> "k7"
    rc = parse_exact(big, o, &doc, err, sizeof(err));
    check(rc != 0 && strstr(err, "duplicate key 'k7'") != NULL && strstr(err, "at byte 1:") == NULL,
          "duplicate among 5000 keys found at the second occurrence", err);
    free(big);
}

static void test_depth(void) {
    char err[256];
    ipg_json_doc_t * doc = NULL;
    char text[256];
    memset(text, '[', 64);
    memset(text + 64, ']', 64);
    check(parse_exact(text, 128, &doc, err, sizeof(err)) == 0, "64 nested arrays accepted", err);
    ipg_json_free(doc);
    memset(text, '[', 65);
    memset(text + 65, ']', 65);
    check(parse_exact(text, 130, &doc, err, sizeof(err)) != 0 && strstr(err, "at byte 64: nesting deeper than 64"),
          "65 nested arrays refused", err);

    // A depth bomb of a million brackets: refused at the limit, no stack overflow.
    size_t n = 1000000;
    char * bomb = malloc(n);
    memset(bomb, '[', n);
    check(parse_exact(bomb, n, &doc, err, sizeof(err)) != 0 && strstr(err, "nesting deeper"), "depth bomb refused",
          err);
    // Alternating objects and arrays count the same.
    size_t o = 0;
    for (int i = 0; i < 70; i++) {
        memcpy(bomb + o, "{\"a\":[", 6);
        o += 6;
    }
    check(parse_exact(bomb, o, &doc, err, sizeof(err)) != 0 && strstr(err, "nesting deeper"),
          "mixed object/array nesting limited", err);
    free(bomb);

    // Custom limits.
    ipg_json_limits_t lim = ipg_json_limits_default();
    lim.max_depth = 2;
    check(ipg_json_parse_ex("[[1]]", 5, &lim, &doc, err, sizeof(err)) == 0, "max_depth 2 allows [[1]]", err);
    ipg_json_free(doc);
    check(ipg_json_parse_ex("[[[1]]]", 7, &lim, &doc, err, sizeof(err)) != 0, "max_depth 2 refuses [[[1]]]", err);
    lim = ipg_json_limits_default();
    lim.max_memory = 4096;
    char * arr = malloc(20001);
    arr[0] = '[';
    for (int i = 0; i < 10000; i++) {
        arr[1 + 2 * i] = '0';
        arr[2 + 2 * i] = i == 9999 ? ']' : ',';
    }
    check(ipg_json_parse_ex(arr, 20001, &lim, &doc, err, sizeof(err)) != 0 && strstr(err, "needs more than 4096 bytes"),
          "memory limit enforced", err);
    check(ipg_json_parse_ex("{\"a\": [1, 2, \"xyz\"]}", 20, &lim, &doc, err, sizeof(err)) == 0,
          "a small document fits a small memory limit", err);
    ipg_json_free(doc);
    check(ipg_json_parse(arr, 20001, &doc, err, sizeof(err)) == 0 && ipg_json_count(ipg_json_root(doc)) == 10000,
          "same document within the default limit", err);
    ipg_json_free(doc);
    free(arr);
}

// Invalid documents, each with the message (and offset) it must produce.
static void test_invalid(void) {
    static const struct {
        const char * text;
        const char * expect;
    } cases[] = {
        { "", "at byte 0: unexpected end of input" },
        { "   ", "at byte 3: unexpected end of input" },
        { "[", "at byte 1: unexpected end of input" },
        { "]", "at byte 0: unexpected character ']'" },
        { "{", "at byte 1: unexpected end of input, expected a string key" },
        { "{\"a\"}", "at byte 4: unexpected character '}', expected ':'" },
        { "{\"a\":}", "at byte 5: unexpected character '}', expected a value" },
        { "{\"a\":1,}", "at byte 7: trailing comma in an object" },
        { "[1,]", "at byte 3: trailing comma in an array" },
        { "[1 2]", "at byte 3: unexpected character '2', expected ',' or ']'" },
        { "{1:2}", "at byte 1: unexpected character '1', expected a string key" },
        { "{'a':2}", "unexpected character '''" },
        { "{\"a\" 1}", "expected ':'" },
        { "01", "at byte 0: number with a leading zero" },
        { "-01", "number with a leading zero" },
        { "1.", "at byte 2: unexpected end of input, expected a digit after the decimal point" },
        { ".5", "unexpected character '.'" },
        { "-", "expected a digit" },
        { "-a", "expected a digit" },
        { "+1", "unexpected character '+'" },
        { "1e", "expected a digit in the exponent" },
        { "1e+", "expected a digit in the exponent" },
        { "1e999", "at byte 0: number out of range" },
        { "-1e999", "number out of range" },
        { "NaN", "unexpected character 'N'" },
        { "Infinity", "unexpected character 'I'" },
        { "tru", "invalid literal (expected 'true')" },
        { "nul", "invalid literal (expected 'null')" },
        { "True", "unexpected character 'T'" },
        { "fals e", "invalid literal (expected 'false')" },
        { "\"abc", "at byte 0: unterminated string" },
        { "\"abc\\\"", "unterminated string" },
        { "\"\\x\"", "at byte 1: invalid escape sequence" },
        { "\"\\u12\"", "invalid \\u escape" },
        { "\"\\u12G4\"", "invalid \\u escape" },
        { "\"\\ud800\"", "high surrogate \\uD800 not followed by a low surrogate" },
        { "\"\\ud800\\u0041\"", "high surrogate \\uD800 not followed" },
        { "\"\\ud800\\n\"", "high surrogate \\uD800 not followed" },
        { "\"\\udc00\"", "lone low surrogate \\uDC00" },
        { "\"\\ude00\\ud83d\"", "lone low surrogate" },
        { "\"a\tb\"", "at byte 2: control character 0x09 in a string" },
        { "\"a\nb\"", "control character 0x0a" },
        { "\"\xff\"", "at byte 1: invalid UTF-8 byte 0xff" },
        { "\"\xc0\xaf\"", "invalid UTF-8 byte 0xc0" },           // overlong '/'
        { "\"\xe0\x80\xaf\"", "invalid UTF-8 byte 0xe0" },       // overlong 3-byte
        { "\"\xed\xa0\x80\"", "invalid UTF-8 byte 0xed" },       // UTF-8-encoded surrogate
        { "\"\xf4\x90\x80\x80\"", "invalid UTF-8 byte 0xf4" },   // above U+10FFFF
        { "\"\xf8\x88\x80\x80\x80\"", "invalid UTF-8 byte 0xf8" },
        { "\"\xe2\x82\"", "invalid UTF-8 byte 0xe2" },   // cut sequence
        { "\"\x80\"", "invalid UTF-8 byte 0x80" },       // stray continuation
        { "[1]x", "at byte 3: trailing characters after the JSON value" },
        { "1 2", "at byte 2: trailing characters" },
        { "{} {}", "trailing characters" },
        { "// c\n1", "unexpected character '/'" },
        { "[1,/*c*/2]", "unexpected character '/'" },
        { "{\"a\":1,\"a\":2}", "at byte 7: duplicate key 'a' in an object" },
        { "{\"a\":{\"b\":1,\"b\":2}}", "duplicate key 'b'" },
        { "{\"a\\u0000\":1,\"a\\u0000\":2}", "duplicate key 'a\\x00'" },
        { "[\x01]", "unexpected byte 0x01" },
        { "\xef\xbb\xbf{}", "unexpected byte 0xef" },   // BOM is not JSON
    };
    char err[256];
    // Any non-NULL value: a failed parse must reset it to NULL.
    ipg_json_doc_t * doc = (ipg_json_doc_t *) &err;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char what[128];
        snprintf(what, sizeof(what), "invalid #%zu refused", i);
        err[0] = '\0';
        int rc = parse_exact(cases[i].text, strlen(cases[i].text), &doc, err, sizeof(err));
        bool ok = rc != 0 && doc == NULL && strstr(err, cases[i].expect) != NULL;
        check(ok, what, err);
        if (!ok) {
            printf("     expected: %s\n", cases[i].expect);
        }
        if (rc == 0) {
            ipg_json_free(doc);
        }
    }
    // A NUL byte inside the given length is data, not an end.
    check(parse_exact("\"a\"\0", 4, &doc, err, sizeof(err)) != 0 && strstr(err, "at byte 3: trailing"),
          "embedded NUL after the value refused", err);
    check(parse_exact("\"a\0b\"", 5, &doc, err, sizeof(err)) != 0 && strstr(err, "control character 0x00"),
          "raw NUL in a string refused", err);
    // Tiny and absent error buffers.
    char tiny[8];
    check(parse_exact("[", 1, &doc, tiny, sizeof(tiny)) != 0 && strlen(tiny) < sizeof(tiny), "tiny err buffer", tiny);
    check(parse_exact("[", 1, &doc, NULL, 0) != 0, "NULL err buffer", NULL);
    check(ipg_json_parse("1", 1, NULL, err, sizeof(err)) != 0, "NULL out pointer refused", err);
}

// Every proper prefix of a valid document is invalid and must be refused
// cleanly (parse_exact puts each prefix in an exactly-sized buffer).
static void test_truncations(void) {
    const char * text = "{\"__metadata__\": {\"format\": \"ipgnet\", \"u\": \"caf\\u00e9 \\ud83d\\ude00 \xc3\xa9\"}, "
                        "\"w\": {\"dtype\": \"F32\", \"shape\": [2, 3], \"data_offsets\": [0, 24]}, "
                        "\"n\": [-1.5e-3, 0, true, false, null, [], {}]}";
    const size_t len = strlen(text);
    char err[256];
    ipg_json_doc_t * doc = NULL;
    int rc = parse_exact(text, len, &doc, err, sizeof(err));
    ipg_json_free(doc);
    check(rc == 0, "truncation base document parses", err);
    size_t refused = 0;
    for (size_t n = 0; n < len; n++) {
        if (parse_exact(text, n, &doc, err, sizeof(err)) != 0 && doc == NULL && strstr(err, "JSON error at byte")) {
            refused++;
        } else {
            ipg_json_free(doc);
            printf("     prefix of %zu bytes accepted\n", n);
        }
    }
    char what[96];
    snprintf(what, sizeof(what), "all %zu proper prefixes refused", len);
    check(refused == len, what, NULL);
}

// Numbers do not depend on LC_NUMERIC (a host application may set a locale
// whose radix is ',').
static void test_locale(void) {
    static const char * names[] = { "de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", "fr_FR.utf8", "ru_RU.UTF-8", "de_DE" };
    const char * set = NULL;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]) && set == NULL; i++) {
        set = setlocale(LC_NUMERIC, names[i]);
    }
    if (set == NULL || strcmp(localeconv()->decimal_point, ".") == 0) {
        printf("skip numbers under a ',' locale: no such locale installed\n");
        setlocale(LC_NUMERIC, "C");
        return;
    }
    char err[256];
    ipg_json_doc_t * doc = NULL;
    int rc = ipg_json_parse("[1.5, 2.5e-1]", 13, &doc, err, sizeof(err));
    check(rc == 0 && ipg_json_at(ipg_json_root(doc), 0)->u.number.value == 1.5 &&
              ipg_json_at(ipg_json_root(doc), 1)->u.number.value == 0.25,
          "numbers parse under a ',' locale", err);
    ipg_json_free(doc);
    setlocale(LC_NUMERIC, "C");
}

// The one JSON string writer, in both of its modes, byte for byte.
typedef struct {
    char buf[256];
    size_t len;
} sink_buf_t;

static void sink_into(void * ud, const char * bytes, size_t n) {
    sink_buf_t * b = ud;
    if (b->len + n < sizeof(b->buf)) {
        memcpy(b->buf + b->len, bytes, n);
        b->len += n;
        b->buf[b->len] = '\0';
    }
}

static void test_write_string(void) {
    static const struct {
        const char * in;
        size_t len;
        bool ascii_only;
        const char * out;
        const char * what;
    } cases[] = {
        { "plain", 5, false, "\"plain\"", "printable ASCII is copied" },
        { "", 0, true, "\"\"", "empty string" },
        { "q\"b\\", 4, false, "\"q\\\"b\\\\\"", "quote and backslash" },
        { "\b\f\n\r\t", 5, true, "\"\\b\\f\\n\\r\\t\"", "short escapes" },
        { "\x01\x1f\x7f", 3, false, "\"\\u0001\\u001f\\u007f\"", "other controls and DEL as \\u00XX" },
        { "a\0b", 3, false, "\"a\\u0000b\"", "an embedded NUL (the length rules)" },
        { "caf\xc3\xa9 \xe2\x82\xac", 9, false, "\"caf\xc3\xa9 \xe2\x82\xac\"", "UTF-8 copied" },
        { "caf\xc3\xa9 \xe2\x82\xac", 9, true, "\"caf\\u00e9 \\u20ac\"", "ascii_only: \\uXXXX, lower-case" },
        { "\xf0\x9f\x98\x80", 4, true, "\"\\ud83d\\ude00\"", "ascii_only: a surrogate pair above U+FFFF" },
        { "\xf0\x9f\x98\x80", 4, false, "\"\xf0\x9f\x98\x80\"", "four-byte UTF-8 copied" },
        { "a\xff"
          "b",
          3, true, "\"a\\udcffb\"", "ascii_only: an invalid byte as a lone surrogate" },
        { "a\xff"
          "b",
          3, false,
          "\"a\xef\xbf\xbd"
          "b\"",
          "invalid byte -> U+FFFD" },
        { "\xe2\x82", 2, false, "\"\xef\xbf\xbd\xef\xbf\xbd\"", "truncated sequence: one U+FFFD per byte" },
        { "\xed\xa0\x80", 3, true, "\"\\udced\\udca0\\udc80\"", "encoded surrogate is not UTF-8" },
        { "\xc0\xaf", 2, true, "\"\\udcc0\\udcaf\"", "overlong form is not UTF-8" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        sink_buf_t b = { { 0 }, 0 };
        ipg_json_write_string(cases[i].in, cases[i].len, cases[i].ascii_only, sink_into, &b);
        check(b.len == strlen(cases[i].out) && memcmp(b.buf, cases[i].out, b.len) == 0, cases[i].what, b.buf);
    }

    // What the writer writes, the parser reads back to the same bytes.
    const char text[] = "k\"\\\n\x01\x7f caf\xc3\xa9 \xf0\x9f\x98\x80";
    const size_t len = sizeof(text) - 1;
    for (int ascii_only = 0; ascii_only < 2; ascii_only++) {
        sink_buf_t b = { { 0 }, 0 };
        ipg_json_write_string(text, len, ascii_only, sink_into, &b);
        ipg_json_doc_t * doc = NULL;
        char err[256] = "";
        int rc = ipg_json_parse(b.buf, b.len, &doc, err, sizeof(err));
        const ipg_json_value_t * r = rc == 0 ? ipg_json_root(doc) : NULL;
        check(r != NULL && r->type == IPG_JSON_STRING && r->u.string.len == len &&
                  memcmp(r->u.string.ptr, text, len) == 0,
              ascii_only ? "round trip, ascii_only" : "round trip, UTF-8", err);
        ipg_json_free(doc);
    }
}

int main(void) {
    test_locale();
    test_scalars();
    test_strings();
    test_containers();
    test_depth();
    test_invalid();
    test_truncations();
    test_write_string();
    check(strcmp(ipg_json_type_name(IPG_JSON_OBJECT), "object") == 0 &&
              strcmp(ipg_json_type_name((ipg_json_type_t) 42), "unknown") == 0,
          "type names", NULL);
    return check_summary();
}
