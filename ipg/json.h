// SPDX-License-Identifier: LGPL-2.1-or-later
// json.h: a small, strict JSON (RFC 8259) parser that produces a read-only DOM.
//
// It exists to read the safetensors header and the model's config/labels
// metadata, all of which come from an untrusted file, so it:
//   - never reads past `len` (the text need not be NUL-terminated);
//   - rejects everything RFC 8259 does not allow: trailing commas, comments,
//     leading zeros, lone surrogates, invalid UTF-8, control characters in
//     strings, trailing garbage after the value (whitespace is fine);
//   - rejects duplicate keys in an object (the RFC leaves them undefined, and
//     a second "data_offsets" must not silently win);
//   - limits nesting depth (recursion) and the memory the DOM may take;
//   - reports errors as "JSON error at byte N: <what>".
//
// Usage
//
//     ipg_json_doc_t * doc = NULL;
//     if (ipg_json_parse(text, len, &doc, err, sizeof err) != 0) { ... }
//     const ipg_json_value_t * v = ipg_json_get(ipg_json_root(doc), "width");
//     if (v && v->type == IPG_JSON_NUMBER) use(v->u.number.value);
//     ipg_json_free(doc);
//
// Every pointer handed out points into the document and lives until
// ipg_json_free(). Strings are decoded to UTF-8 and NUL-terminated; a string
// may contain "\u0000", so `len` is authoritative.
#ifndef IPG_JSON_H
#define IPG_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IPG_JSON_MAX_DEPTH_DEFAULT  64
#define IPG_JSON_MAX_MEMORY_DEFAULT ((size_t) 256 << 20)   // DOM bytes, input excluded

typedef enum {
    IPG_JSON_NULL = 0,
    IPG_JSON_BOOL,
    IPG_JSON_NUMBER,
    IPG_JSON_STRING,
    IPG_JSON_ARRAY,
    IPG_JSON_OBJECT,
} ipg_json_type_t;

typedef struct ipg_json_value ipg_json_value_t;
typedef struct ipg_json_member ipg_json_member_t;
typedef struct ipg_json_doc ipg_json_doc_t;

struct ipg_json_value {
    ipg_json_type_t type;
    size_t offset;   // byte offset of the value in the source text
    union {
        bool boolean;
        struct {
            double value;   // nearest double (finite: overflow is an error)
            int64_t i64;    // exact value when is_int
            bool is_int;    // an integer literal (no fraction/exponent) that fits int64
        } number;
        struct {
            const char * ptr;   // UTF-8, NUL-terminated
            size_t len;         // bytes, without the terminator
        } string;
        struct {
            const ipg_json_value_t * items;
            size_t count;
        } array;
        struct {
            const ipg_json_member_t * members;   // in document order
            size_t count;
        } object;
    } u;
};

struct ipg_json_member {
    const char * key;   // UTF-8, NUL-terminated
    size_t key_len;
    size_t key_offset;   // byte offset of the key's opening quote
    ipg_json_value_t value;
};

typedef struct {
    int32_t max_depth;   // arrays/objects nested deeper are refused (>= 1)
    size_t max_memory;   // the DOM may not need more than this many bytes
} ipg_json_limits_t;

ipg_json_limits_t ipg_json_limits_default(void);

// Parses exactly `len` bytes holding one JSON value (surrounding whitespace
// allowed). Returns 0 and sets *out, or returns non-zero with *out = NULL and
// a message in `err` (which may be NULL).
int ipg_json_parse(const char * text, size_t len, ipg_json_doc_t ** out, char * err, size_t err_size);
int ipg_json_parse_ex(const char * text, size_t len, const ipg_json_limits_t * limits, ipg_json_doc_t ** out,
                      char * err, size_t err_size);
void ipg_json_free(ipg_json_doc_t * doc);

const ipg_json_value_t * ipg_json_root(const ipg_json_doc_t * doc);

// Object member by key (exact byte comparison); NULL if `obj` is not an
// object or has no such key.
const ipg_json_value_t * ipg_json_get(const ipg_json_value_t * obj, const char * key);

// Number of items (array) or members (object); 0 for anything else.
size_t ipg_json_count(const ipg_json_value_t * v);
// Array item; NULL if `arr` is not an array or `i` is out of range.
const ipg_json_value_t * ipg_json_at(const ipg_json_value_t * arr, size_t i);

// "null", "boolean", "number", "string", "array", "object".
const char * ipg_json_type_name(ipg_json_type_t type);

// Receives the bytes of a JSON text being written, in order.
typedef void (*ipg_json_sink_fn)(void * ud, const char * bytes, size_t n);

// Writes the `len` bytes at `s` as a JSON string literal, quotes included,
// through `sink` (the one JSON string writer of the library and its tools).
// Quote, backslash, \b \f \n \r \t get their short escapes; the other control
// characters and DEL become \u00XX (lower-case hex). Then:
//   ascii_only false: UTF-8 is copied; each byte that does not start a
//     well-formed sequence becomes U+FFFD, as GLib's g_utf8_make_valid()
//     does (the GStreamer element's output);
//   ascii_only true: Python's json.dumps() of os.fsdecode(s) (ensure_ascii):
//     all but printable ASCII as \uXXXX, surrogate pairs above U+FFFF, and
//     each byte that is not UTF-8 as the lone surrogate \udc80..\udcff (the
//     CLI's output, equal to the Python reference's).
void ipg_json_write_string(const char * s, size_t len, bool ascii_only, ipg_json_sink_fn sink, void * ud);

// Writes a compact, single-line JSON rendering of `v` for error messages,
// shortened with "..." to fit `size` (always NUL-terminated when size > 0).
// Returns `buf`.
char * ipg_json_format(const ipg_json_value_t * v, char * buf, size_t size);

#endif   // IPG_JSON_H
