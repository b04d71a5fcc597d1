// SPDX-License-Identifier: LGPL-2.1-or-later
// json.c: strict RFC 8259 parser producing an arena-allocated DOM (see json.h).
//
// Design: one recursive-descent pass. Children of the container being parsed
// are pushed on two parser-wide stacks (values, members); when the container
// closes, its segment is copied into the document arena and popped. Nested
// containers always close before their parent resumes, so the stack
// discipline holds and there is one growing buffer instead of a malloc per
// container. Every byte the DOM or the stacks take is charged against
// limits.max_memory, so a hostile document cannot make us allocate more than
// the caller allowed, whatever its size.
#include "json.h"
#include "error.h"

#include <errno.h>
#include <inttypes.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// ---- arena -----------------------------------------------------------------

typedef struct ipg_json_chunk {
    struct ipg_json_chunk * next;
    size_t cap;
    size_t used;
} ipg_json_chunk_t;

#define IPG_JSON_ALIGN       16
#define IPG_JSON_CHUNK_HDR   ((sizeof(ipg_json_chunk_t) + IPG_JSON_ALIGN - 1) & ~(size_t) (IPG_JSON_ALIGN - 1))
#define IPG_JSON_CHUNK_FIRST ((size_t) 512)
#define IPG_JSON_CHUNK_MAX   ((size_t) 16 << 10)

struct ipg_json_doc {
    ipg_json_chunk_t * chunks;
    ipg_json_value_t root;
};

typedef struct {
    const char * s;
    size_t len;
    size_t pos;
    int32_t depth;
    ipg_json_limits_t lim;
    size_t mem;   // bytes charged so far (arena + stacks)
    ipg_json_doc_t * doc;

    ipg_json_value_t * vals;   // stack of array items being built
    size_t n_vals;
    size_t cap_vals;
    ipg_json_member_t * mems;   // stack of object members being built
    size_t n_mems;
    size_t cap_mems;

    char * err;
    size_t err_size;
    bool failed;
} ipg_json_parser_t;

static void json_error_at(ipg_json_parser_t * p, size_t offset, const char * fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void json_error_at(ipg_json_parser_t * p, size_t offset, const char * fmt, ...) {
    if (p->failed) {
        return;   // keep the first, most precise message
    }
    p->failed = true;
    char where[48];
    snprintf(where, sizeof(where), "JSON error at byte %zu", offset);
    va_list ap;
    va_start(ap, fmt);
    ipg_format_error_prefixed_v(p->err, p->err_size, where, fmt, ap);
    va_end(ap);
}

static bool json_charge(ipg_json_parser_t * p, size_t n) {
    if (n > p->lim.max_memory || p->mem > p->lim.max_memory - n) {
        json_error_at(p, p->pos, "the document needs more than %zu bytes of memory", p->lim.max_memory);
        return false;
    }
    p->mem += n;
    return true;
}

static void * json_alloc(ipg_json_parser_t * p, size_t n) {
    if (n == 0) {
        n = 1;
    }
    if (n > SIZE_MAX - IPG_JSON_ALIGN) {
        json_error_at(p, p->pos, "out of memory");
        return NULL;
    }
    n = (n + IPG_JSON_ALIGN - 1) & ~(size_t) (IPG_JSON_ALIGN - 1);
    ipg_json_chunk_t * c = p->doc->chunks;
    if (c == NULL || c->cap - c->used < n) {
        // Chunks double from 512 bytes to 16 KiB, so that a small document
        // stays small; never beyond what the memory limit has left.
        size_t cap = c == NULL ? IPG_JSON_CHUNK_FIRST : c->cap * 2;
        if (cap > IPG_JSON_CHUNK_MAX) {
            cap = IPG_JSON_CHUNK_MAX;
        }
        if (p->lim.max_memory - p->mem < cap) {
            cap = p->lim.max_memory - p->mem;
        }
        if (cap < n) {
            cap = n;
        }
        if (cap > SIZE_MAX - IPG_JSON_CHUNK_HDR || !json_charge(p, cap)) {
            if (!p->failed) {
                json_error_at(p, p->pos, "out of memory");
            }
            return NULL;
        }
        c = malloc(IPG_JSON_CHUNK_HDR + cap);
        if (c == NULL) {
            json_error_at(p, p->pos, "out of memory");
            return NULL;
        }
        c->cap = cap;
        c->used = 0;
        // A big one-off block goes behind the current chunk so that the
        // current chunk's free space stays usable (and its size keeps
        // driving the doubling).
        if (p->doc->chunks != NULL && cap == n && n > IPG_JSON_CHUNK_MAX) {
            c->next = p->doc->chunks->next;
            p->doc->chunks->next = c;
        } else {
            c->next = p->doc->chunks;
            p->doc->chunks = c;
        }
    }
    void * ptr = (unsigned char *) c + IPG_JSON_CHUNK_HDR + c->used;
    c->used += n;
    return ptr;
}

// Grows a stack to hold at least `need` elements of `elem` bytes.
static bool json_stack_reserve(ipg_json_parser_t * p, void ** buf, size_t * cap, size_t need, size_t elem) {
    if (need <= *cap) {
        return true;
    }
    size_t new_cap = *cap ? *cap : 16;
    while (new_cap < need) {
        if (new_cap > SIZE_MAX / 2) {
            json_error_at(p, p->pos, "out of memory");
            return false;
        }
        new_cap *= 2;
    }
    if (new_cap > SIZE_MAX / elem) {
        json_error_at(p, p->pos, "out of memory");
        return false;
    }
    if (!json_charge(p, (new_cap - *cap) * elem)) {
        return false;
    }
    void * nb = realloc(*buf, new_cap * elem);
    if (nb == NULL) {
        json_error_at(p, p->pos, "out of memory");
        return false;
    }
    *buf = nb;
    *cap = new_cap;
    return true;
}

// ---- lexing helpers ----------------------------------------------------------

static void json_skip_ws(ipg_json_parser_t * p) {
    while (p->pos < p->len) {
        char c = p->s[p->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
            break;
        }
        p->pos++;
    }
}

static void json_error_unexpected(ipg_json_parser_t * p, const char * expected) {
    if (p->pos >= p->len) {
        json_error_at(p, p->pos, "unexpected end of input, expected %s", expected);
        return;
    }
    unsigned char c = (unsigned char) p->s[p->pos];
    if (c >= 0x20 && c < 0x7f) {
        json_error_at(p, p->pos, "unexpected character '%c', expected %s", c, expected);
    } else {
        json_error_at(p, p->pos, "unexpected byte 0x%02x, expected %s", c, expected);
    }
}

static int json_hex4(const char * s) {
    int v = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        int d;
        if (c >= '0' && c <= '9') {
            d = c - '0';
        } else if (c >= 'a' && c <= 'f') {
            d = c - 'a' + 10;
        } else if (c >= 'A' && c <= 'F') {
            d = c - 'A' + 10;
        } else {
            return -1;
        }
        v = v * 16 + d;
    }
    return v;
}

static size_t json_put_utf8(char * out, uint32_t cp) {
    if (cp < 0x80) {
        out[0] = (char) cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char) (0xc0 | (cp >> 6));
        out[1] = (char) (0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char) (0xe0 | (cp >> 12));
        out[1] = (char) (0x80 | ((cp >> 6) & 0x3f));
        out[2] = (char) (0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char) (0xf0 | (cp >> 18));
    out[1] = (char) (0x80 | ((cp >> 12) & 0x3f));
    out[2] = (char) (0x80 | ((cp >> 6) & 0x3f));
    out[3] = (char) (0x80 | (cp & 0x3f));
    return 4;
}

// Length of the well-formed UTF-8 sequence at s[0..n) (RFC 3629: no overlong
// forms, no surrogates, nothing above U+10FFFF), or 0 if it is not one.
static size_t json_utf8_seq(const unsigned char * s, size_t n) {
    unsigned char c = s[0];
    if (c < 0x80) {
        return 1;
    }
    size_t len;
    unsigned char lo = 0x80, hi = 0xbf;   // range of the second byte
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
    } else if (c == 0xe0) {
        len = 3;
        lo = 0xa0;
    } else if (c == 0xed) {
        len = 3;
        hi = 0x9f;
    } else if (c >= 0xe1 && c <= 0xef) {
        len = 3;
    } else if (c == 0xf0) {
        len = 4;
        lo = 0x90;
    } else if (c >= 0xf1 && c <= 0xf3) {
        len = 4;
    } else if (c == 0xf4) {
        len = 4;
        hi = 0x8f;
    } else {
        return 0;
    }
    if (n < len || s[1] < lo || s[1] > hi) {
        return 0;
    }
    for (size_t i = 2; i < len; i++) {
        if (s[i] < 0x80 || s[i] > 0xbf) {
            return 0;
        }
    }
    return len;
}

// ---- values ------------------------------------------------------------------

static bool json_parse_value(ipg_json_parser_t * p, ipg_json_value_t * out);

// Parses the string starting at the opening quote at p->pos.
static bool json_parse_string(ipg_json_parser_t * p, const char ** out_ptr, size_t * out_len) {
    const size_t start = p->pos;
    p->pos++;   // opening quote

    // Find the closing quote first: the decoded string is never longer than
    // its source, so this bounds the allocation.
    size_t end = p->pos;
    while (end < p->len && p->s[end] != '"') {
        end += p->s[end] == '\\' ? 2 : 1;
    }
    if (end >= p->len) {
        json_error_at(p, start, "unterminated string");
        return false;
    }

    char * dst = json_alloc(p, end - p->pos + 1);
    if (dst == NULL) {
        return false;
    }
    size_t n = 0;
    const unsigned char * s = (const unsigned char *) p->s;
    while (p->pos < end) {
        unsigned char c = s[p->pos];
        if (c < 0x20) {
            json_error_at(p, p->pos, "control character 0x%02x in a string (must be escaped)", c);
            return false;
        }
        if (c != '\\') {
            size_t k = json_utf8_seq(s + p->pos, end - p->pos);
            if (k == 0) {
                json_error_at(p, p->pos, "invalid UTF-8 byte 0x%02x in a string", c);
                return false;
            }
            memcpy(dst + n, s + p->pos, k);
            n += k;
            p->pos += k;
            continue;
        }
        // Escape: the scan above guarantees that p->pos + 1 < end + 1.
        char e = (char) s[p->pos + 1];
        switch (e) {
            case '"':
                dst[n++] = '"';
                p->pos += 2;
                continue;
            case '\\':
                dst[n++] = '\\';
                p->pos += 2;
                continue;
            case '/':
                dst[n++] = '/';
                p->pos += 2;
                continue;
            case 'b':
                dst[n++] = '\b';
                p->pos += 2;
                continue;
            case 'f':
                dst[n++] = '\f';
                p->pos += 2;
                continue;
            case 'n':
                dst[n++] = '\n';
                p->pos += 2;
                continue;
            case 'r':
                dst[n++] = '\r';
                p->pos += 2;
                continue;
            case 't':
                dst[n++] = '\t';
                p->pos += 2;
                continue;
            case 'u': break;
            default: json_error_at(p, p->pos, "invalid escape sequence in a string"); return false;
        }
        int hi = end - p->pos >= 6 ? json_hex4(p->s + p->pos + 2) : -1;
        if (hi < 0) {
            json_error_at(p, p->pos, "invalid \\u escape (needs 4 hex digits)");
            return false;
        }
        uint32_t cp = (uint32_t) hi;
        if (hi >= 0xdc00 && hi <= 0xdfff) {
            json_error_at(p, p->pos, "lone low surrogate \\u%04X in a string", (unsigned) hi);
            return false;
        }
        if (hi >= 0xd800 && hi <= 0xdbff) {
            int lo = -1;
            if (end - p->pos >= 12 && s[p->pos + 6] == '\\' && s[p->pos + 7] == 'u') {
                lo = json_hex4(p->s + p->pos + 8);
            }
            if (lo < 0xdc00 || lo > 0xdfff) {
                json_error_at(p, p->pos, "high surrogate \\u%04X not followed by a low surrogate", (unsigned) hi);
                return false;
            }
            cp = 0x10000 + (((uint32_t) hi - 0xd800) << 10) + ((uint32_t) lo - 0xdc00);
            p->pos += 6;
        }
        p->pos += 6;
        n += json_put_utf8(dst + n, cp);
    }
    dst[n] = '\0';
    p->pos = end + 1;
    *out_ptr = dst;
    *out_len = n;
    return true;
}

static bool json_is_digit(char c) { return c >= '0' && c <= '9'; }

static bool json_parse_number(ipg_json_parser_t * p, ipg_json_value_t * out) {
    const size_t start = p->pos;
    const char * s = p->s;
    size_t i = p->pos;
    bool is_int = true;

    if (i < p->len && s[i] == '-') {
        i++;
    }
    if (i >= p->len || !json_is_digit(s[i])) {
        p->pos = i;
        json_error_unexpected(p, "a digit");
        return false;
    }
    if (s[i] == '0') {
        i++;
        if (i < p->len && json_is_digit(s[i])) {
            json_error_at(p, start, "number with a leading zero");
            return false;
        }
    } else {
        while (i < p->len && json_is_digit(s[i])) {
            i++;
        }
    }
    if (i < p->len && s[i] == '.') {
        is_int = false;
        i++;
        if (i >= p->len || !json_is_digit(s[i])) {
            p->pos = i;
            json_error_unexpected(p, "a digit after the decimal point");
            return false;
        }
        while (i < p->len && json_is_digit(s[i])) {
            i++;
        }
    }
    if (i < p->len && (s[i] == 'e' || s[i] == 'E')) {
        is_int = false;
        i++;
        if (i < p->len && (s[i] == '+' || s[i] == '-')) {
            i++;
        }
        if (i >= p->len || !json_is_digit(s[i])) {
            p->pos = i;
            json_error_unexpected(p, "a digit in the exponent");
            return false;
        }
        while (i < p->len && json_is_digit(s[i])) {
            i++;
        }
    }
    const size_t n = i - start;

    // Exact integer value, when it fits int64 (accumulated negatively so
    // that INT64_MIN fits too).
    int64_t i64 = 0;
    if (is_int) {
        bool neg = s[start] == '-';
        size_t k = start + (neg ? 1 : 0);
        for (; k < i; k++) {
            int d = s[k] - '0';
            if (i64 < (INT64_MIN + d) / 10) {
                is_int = false;
                break;
            }
            i64 = i64 * 10 - d;
        }
        if (is_int && !neg) {
            if (i64 == INT64_MIN) {
                is_int = false;
            } else {
                i64 = -i64;
            }
        }
        if (!is_int) {
            i64 = 0;
        }
    }

    // strtod needs a NUL-terminated copy and honours LC_NUMERIC, which a host
    // application may have changed: swap '.' for the locale's radix.
    char small[64];
    char * buf = small;
    if (n >= sizeof(small)) {
        buf = malloc(n + 1);
        if (buf == NULL) {
            json_error_at(p, start, "out of memory");
            return false;
        }
    }
    memcpy(buf, s + start, n);
    buf[n] = '\0';
    const struct lconv * lc = localeconv();
    if (lc != NULL && lc->decimal_point != NULL && lc->decimal_point[0] != '\0' && lc->decimal_point[0] != '.' &&
        lc->decimal_point[1] == '\0') {
        char * dot = strchr(buf, '.');
        if (dot != NULL) {
            *dot = lc->decimal_point[0];
        }
    }
    char * endp = NULL;
    errno = 0;
    double v = strtod(buf, &endp);
    bool ok = endp == buf + n;
    if (buf != small) {
        free(buf);
    }
    if (!ok) {
        json_error_at(p, start, "malformed number");
        return false;
    }
    if (!isfinite(v)) {
        json_error_at(p, start, "number out of range");
        return false;
    }
    out->type = IPG_JSON_NUMBER;
    out->u.number.value = v;
    out->u.number.i64 = i64;
    out->u.number.is_int = is_int;
    p->pos = i;
    return true;
}

static bool json_parse_literal(ipg_json_parser_t * p, const char * word, ipg_json_value_t * out) {
    size_t n = strlen(word);
    if (p->len - p->pos < n || memcmp(p->s + p->pos, word, n) != 0) {
        json_error_at(p, p->pos, "invalid literal (expected '%s')", word);
        return false;
    }
    p->pos += n;
    if (word[0] == 'n') {
        out->type = IPG_JSON_NULL;
    } else {
        out->type = IPG_JSON_BOOL;
        out->u.boolean = word[0] == 't';
    }
    return true;
}

static bool json_enter(ipg_json_parser_t * p) {
    if (p->depth >= p->lim.max_depth) {
        json_error_at(p, p->pos, "nesting deeper than %d levels", (int) p->lim.max_depth);
        return false;
    }
    p->depth++;
    return true;
}

static bool json_parse_array(ipg_json_parser_t * p, ipg_json_value_t * out) {
    if (!json_enter(p)) {
        return false;
    }
    p->pos++;   // '['
    const size_t base = p->n_vals;
    json_skip_ws(p);
    if (p->pos < p->len && p->s[p->pos] == ']') {
        p->pos++;
    } else {
        for (;;) {
            ipg_json_value_t item;
            if (!json_parse_value(p, &item)) {
                return false;
            }
            if (!json_stack_reserve(p, (void **) &p->vals, &p->cap_vals, p->n_vals + 1, sizeof(*p->vals))) {
                return false;
            }
            p->vals[p->n_vals++] = item;
            json_skip_ws(p);
            if (p->pos < p->len && p->s[p->pos] == ',') {
                p->pos++;
                json_skip_ws(p);
                if (p->pos < p->len && p->s[p->pos] == ']') {
                    json_error_at(p, p->pos, "trailing comma in an array");
                    return false;
                }
                continue;
            }
            if (p->pos < p->len && p->s[p->pos] == ']') {
                p->pos++;
                break;
            }
            json_error_unexpected(p, "',' or ']'");
            return false;
        }
    }
    const size_t count = p->n_vals - base;
    ipg_json_value_t * items = NULL;
    if (count > 0) {
        items = json_alloc(p, count * sizeof(*items));   // count * size fits: the stack holds it
        if (items == NULL) {
            return false;
        }
        memcpy(items, p->vals + base, count * sizeof(*items));
    }
    p->n_vals = base;
    out->type = IPG_JSON_ARRAY;
    out->u.array.items = items;
    out->u.array.count = count;
    p->depth--;
    return true;
}

static int json_member_cmp(const void * a, const void * b) {
    const ipg_json_member_t * ma = *(const ipg_json_member_t * const *) a;
    const ipg_json_member_t * mb = *(const ipg_json_member_t * const *) b;
    size_t n = ma->key_len < mb->key_len ? ma->key_len : mb->key_len;
    int c = memcmp(ma->key, mb->key, n);
    if (c != 0) {
        return c;
    }
    if (ma->key_len != mb->key_len) {
        return ma->key_len < mb->key_len ? -1 : 1;
    }
    return ma->key_offset < mb->key_offset ? -1 : (ma->key_offset > mb->key_offset ? 1 : 0);
}

// Writes a key for an error message: printable ASCII as is, other bytes as
// \xNN, cut to fit.
static void json_quote_key(char * buf, size_t size, const char * key, size_t len) {
    size_t o = 0;
    size_t i = 0;
    for (; i < len; i++) {
        unsigned char c = (unsigned char) key[i];
        size_t need = (c >= 0x20 && c < 0x7f) ? 1 : 4;
        if (o + need + 4 > size) {
            break;   // keep room for "..." and the terminator
        }
        if (need == 1) {
            buf[o++] = (char) c;
        } else {
            snprintf(buf + o, size - o, "\\x%02x", c);
            o += 4;
        }
    }
    if (i < len && o + 4 <= size) {
        memcpy(buf + o, "...", 3);
        o += 3;
    }
    buf[o] = '\0';
}

// Sorting a pointer array makes duplicate detection O(n log n), so a huge
// hostile object cannot make this quadratic.
static bool json_check_duplicates(ipg_json_parser_t * p, const ipg_json_member_t * m, size_t count) {
    if (count < 2) {
        return true;
    }
    if (count > SIZE_MAX / sizeof(void *) || !json_charge(p, count * sizeof(void *))) {
        return false;
    }
    const ipg_json_member_t ** idx = malloc(count * sizeof(*idx));
    if (idx == NULL) {
        json_error_at(p, p->pos, "out of memory");
        return false;
    }
    for (size_t i = 0; i < count; i++) {
        idx[i] = &m[i];
    }
    qsort(idx, count, sizeof(*idx), json_member_cmp);
    // Report the earliest repeated occurrence in document order.
    const ipg_json_member_t * dup = NULL;
    for (size_t i = 1; i < count; i++) {
        const ipg_json_member_t * a = idx[i - 1];
        const ipg_json_member_t * b = idx[i];
        if (a->key_len == b->key_len && memcmp(a->key, b->key, a->key_len) == 0 &&
            (dup == NULL || b->key_offset < dup->key_offset)) {
            // Within an equal run, sorted by offset: b is a repeat of the first.
            dup = b;
        }
    }
    free(idx);
    p->mem -= count * sizeof(void *);
    if (dup != NULL) {
        char name[96];
        json_quote_key(name, sizeof(name), dup->key, dup->key_len);
        json_error_at(p, dup->key_offset, "duplicate key '%s' in an object", name);
        return false;
    }
    return true;
}

static bool json_parse_object(ipg_json_parser_t * p, ipg_json_value_t * out) {
    if (!json_enter(p)) {
        return false;
    }
    p->pos++;   // '{'
    const size_t base = p->n_mems;
    json_skip_ws(p);
    if (p->pos < p->len && p->s[p->pos] == '}') {
        p->pos++;
    } else {
        for (;;) {
            if (p->pos >= p->len || p->s[p->pos] != '"') {
                json_error_unexpected(p, "a string key");
                return false;
            }
            ipg_json_member_t m;
            m.key_offset = p->pos;
            if (!json_parse_string(p, &m.key, &m.key_len)) {
                return false;
            }
            json_skip_ws(p);
            if (p->pos >= p->len || p->s[p->pos] != ':') {
                json_error_unexpected(p, "':'");
                return false;
            }
            p->pos++;
            if (!json_parse_value(p, &m.value)) {
                return false;
            }
            if (!json_stack_reserve(p, (void **) &p->mems, &p->cap_mems, p->n_mems + 1, sizeof(*p->mems))) {
                return false;
            }
            p->mems[p->n_mems++] = m;
            json_skip_ws(p);
            if (p->pos < p->len && p->s[p->pos] == ',') {
                p->pos++;
                json_skip_ws(p);
                if (p->pos < p->len && p->s[p->pos] == '}') {
                    json_error_at(p, p->pos, "trailing comma in an object");
                    return false;
                }
                continue;
            }
            if (p->pos < p->len && p->s[p->pos] == '}') {
                p->pos++;
                break;
            }
            json_error_unexpected(p, "',' or '}'");
            return false;
        }
    }
    const size_t count = p->n_mems - base;
    // (p->mems may still be NULL for an empty object: no pointer arithmetic.)
    if (count >= 2 && !json_check_duplicates(p, p->mems + base, count)) {
        return false;
    }
    ipg_json_member_t * members = NULL;
    if (count > 0) {
        members = json_alloc(p, count * sizeof(*members));
        if (members == NULL) {
            return false;
        }
        memcpy(members, p->mems + base, count * sizeof(*members));
    }
    p->n_mems = base;
    out->type = IPG_JSON_OBJECT;
    out->u.object.members = members;
    out->u.object.count = count;
    p->depth--;
    return true;
}

static bool json_parse_value(ipg_json_parser_t * p, ipg_json_value_t * out) {
    json_skip_ws(p);
    memset(out, 0, sizeof(*out));
    out->offset = p->pos;
    if (p->pos >= p->len) {
        json_error_unexpected(p, "a value");
        return false;
    }
    char c = p->s[p->pos];
    switch (c) {
        case '{': return json_parse_object(p, out);
        case '[': return json_parse_array(p, out);
        case '"': out->type = IPG_JSON_STRING; return json_parse_string(p, &out->u.string.ptr, &out->u.string.len);
        case 't': return json_parse_literal(p, "true", out);
        case 'f': return json_parse_literal(p, "false", out);
        case 'n': return json_parse_literal(p, "null", out);
        default:
            if (c == '-' || json_is_digit(c)) {
                return json_parse_number(p, out);
            }
            json_error_unexpected(p, "a value");
            return false;
    }
}

// ---- public API ----------------------------------------------------------------

ipg_json_limits_t ipg_json_limits_default(void) {
    ipg_json_limits_t lim = { IPG_JSON_MAX_DEPTH_DEFAULT, IPG_JSON_MAX_MEMORY_DEFAULT };
    return lim;
}

void ipg_json_free(ipg_json_doc_t * doc) {
    if (doc == NULL) {
        return;
    }
    ipg_json_chunk_t * c = doc->chunks;
    while (c != NULL) {
        ipg_json_chunk_t * next = c->next;
        free(c);
        c = next;
    }
    free(doc);
}

int ipg_json_parse_ex(const char * text, size_t len, const ipg_json_limits_t * limits, ipg_json_doc_t ** out,
                      char * err, size_t err_size) {
    ipg_json_parser_t p;
    memset(&p, 0, sizeof(p));
    p.s = text;
    p.len = len;
    p.lim = limits ? *limits : ipg_json_limits_default();
    p.err = err;
    p.err_size = err_size;
    if (err != NULL && err_size > 0) {
        err[0] = '\0';
    }
    if (out == NULL) {
        json_error_at(&p, 0, "no output pointer");
        return 1;
    }
    *out = NULL;
    if (text == NULL && len > 0) {
        json_error_at(&p, 0, "no input text");
        return 1;
    }
    if (p.lim.max_depth < 1) {
        p.lim.max_depth = 1;
    }
    p.doc = calloc(1, sizeof(*p.doc));
    if (p.doc == NULL) {
        json_error_at(&p, 0, "out of memory");
        return 1;
    }

    bool ok = json_parse_value(&p, &p.doc->root);
    if (ok) {
        json_skip_ws(&p);
        if (p.pos != p.len) {
            json_error_at(&p, p.pos, "trailing characters after the JSON value");
            ok = false;
        }
    }
    free(p.vals);
    free(p.mems);
    if (!ok) {
        ipg_json_free(p.doc);
        return 1;
    }
    *out = p.doc;
    return 0;
}

int ipg_json_parse(const char * text, size_t len, ipg_json_doc_t ** out, char * err, size_t err_size) {
    return ipg_json_parse_ex(text, len, NULL, out, err, err_size);
}

const ipg_json_value_t * ipg_json_root(const ipg_json_doc_t * doc) { return doc ? &doc->root : NULL; }

const ipg_json_value_t * ipg_json_get(const ipg_json_value_t * obj, const char * key) {
    if (obj == NULL || obj->type != IPG_JSON_OBJECT || key == NULL) {
        return NULL;
    }
    size_t n = strlen(key);
    for (size_t i = 0; i < obj->u.object.count; i++) {
        const ipg_json_member_t * m = &obj->u.object.members[i];
        if (m->key_len == n && memcmp(m->key, key, n) == 0) {
            return &m->value;
        }
    }
    return NULL;
}

size_t ipg_json_count(const ipg_json_value_t * v) {
    if (v == NULL) {
        return 0;
    }
    if (v->type == IPG_JSON_ARRAY) {
        return v->u.array.count;
    }
    if (v->type == IPG_JSON_OBJECT) {
        return v->u.object.count;
    }
    return 0;
}

const ipg_json_value_t * ipg_json_at(const ipg_json_value_t * arr, size_t i) {
    if (arr == NULL || arr->type != IPG_JSON_ARRAY || i >= arr->u.array.count) {
        return NULL;
    }
    return &arr->u.array.items[i];
}

const char * ipg_json_type_name(ipg_json_type_t type) {
    switch (type) {
        case IPG_JSON_NULL: return "null";
        case IPG_JSON_BOOL: return "boolean";
        case IPG_JSON_NUMBER: return "number";
        case IPG_JSON_STRING: return "string";
        case IPG_JSON_ARRAY: return "array";
        case IPG_JSON_OBJECT: return "object";
    }
    return "unknown";
}

// ---- writing strings ---------------------------------------------------------

// Decodes the well-formed sequence of `len` bytes at s (see json_utf8_seq).
static uint32_t json_utf8_code_point(const unsigned char * s, size_t len) {
    static const unsigned char lead_mask[5] = { 0, 0x7f, 0x1f, 0x0f, 0x07 };
    uint32_t cp = s[0] & lead_mask[len];
    for (size_t i = 1; i < len; i++) {
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    return cp;
}

static void json_sink_u_escape(ipg_json_sink_fn sink, void * ud, uint32_t unit) {
    char esc[8];
    snprintf(esc, sizeof(esc), "\\u%04x", (unsigned) (unit & 0xffffu));
    sink(ud, esc, 6);
}

void ipg_json_write_string(const char * s, size_t len, bool ascii_only, ipg_json_sink_fn sink, void * ud) {
    const unsigned char * b = (const unsigned char *) s;
    sink(ud, "\"", 1);
    size_t i = 0;
    while (i < len) {
        size_t n = json_utf8_seq(b + i, len - i);
        if (n == 0) {
            // Not UTF-8: what Python's surrogateescape decoding gives, or the
            // replacement character (as GLib's g_utf8_make_valid()).
            if (ascii_only) {
                json_sink_u_escape(sink, ud, 0xdc00u | b[i]);
            } else {
                sink(ud, "\xef\xbf\xbd", 3);
            }
            i++;
            continue;
        }
        uint32_t cp = json_utf8_code_point(b + i, n);
        const char * short_esc = NULL;
        switch (cp) {
            case '"': short_esc = "\\\""; break;
            case '\\': short_esc = "\\\\"; break;
            case '\n': short_esc = "\\n"; break;
            case '\r': short_esc = "\\r"; break;
            case '\t': short_esc = "\\t"; break;
            case '\b': short_esc = "\\b"; break;
            case '\f': short_esc = "\\f"; break;
            default: break;
        }
        if (short_esc != NULL) {
            sink(ud, short_esc, 2);
        } else if (cp < 0x20 || cp == 0x7f) {
            json_sink_u_escape(sink, ud, cp);
        } else if (cp < 0x80 || !ascii_only) {
            sink(ud, s + i, n);
        } else if (cp < 0x10000) {
            json_sink_u_escape(sink, ud, cp);
        } else {
            json_sink_u_escape(sink, ud, 0xd800u | ((cp - 0x10000) >> 10));
            json_sink_u_escape(sink, ud, 0xdc00u | ((cp - 0x10000) & 0x3ff));
        }
        i += n;
    }
    sink(ud, "\"", 1);
}

// ---- formatting for messages -----------------------------------------------

typedef struct {
    char * buf;
    size_t size;
    size_t pos;
    bool full;
} ipg_json_writer_t;

static void json_w_bytes(ipg_json_writer_t * w, const char * s, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (w->pos + 1 >= w->size) {
            w->full = true;
            return;
        }
        w->buf[w->pos++] = s[i];
    }
}

static void json_w_str(ipg_json_writer_t * w, const char * s) { json_w_bytes(w, s, strlen(s)); }

static void json_w_sink(void * ud, const char * bytes, size_t n) { json_w_bytes(ud, bytes, n); }

static void json_w_string(ipg_json_writer_t * w, const char * s, size_t n) {
    ipg_json_write_string(s, n, false, json_w_sink, w);
}

static void json_w_value(ipg_json_writer_t * w, const ipg_json_value_t * v) {
    char num[40];
    switch (v->type) {
        case IPG_JSON_NULL: json_w_str(w, "null"); break;
        case IPG_JSON_BOOL: json_w_str(w, v->u.boolean ? "true" : "false"); break;
        case IPG_JSON_NUMBER:
            if (v->u.number.is_int) {
                snprintf(num, sizeof(num), "%" PRId64, v->u.number.i64);
            } else {
                // Shortest of the usual precisions that reads back exactly.
                snprintf(num, sizeof(num), "%.15g", v->u.number.value);
                if (strtod(num, NULL) != v->u.number.value) {
                    snprintf(num, sizeof(num), "%.17g", v->u.number.value);
                }
            }
            json_w_str(w, num);
            break;
        case IPG_JSON_STRING: json_w_string(w, v->u.string.ptr, v->u.string.len); break;
        case IPG_JSON_ARRAY:
            json_w_bytes(w, "[", 1);
            for (size_t i = 0; i < v->u.array.count && !w->full; i++) {
                if (i > 0) {
                    json_w_bytes(w, ", ", 2);
                }
                json_w_value(w, &v->u.array.items[i]);
            }
            json_w_bytes(w, "]", 1);
            break;
        case IPG_JSON_OBJECT:
            json_w_bytes(w, "{", 1);
            for (size_t i = 0; i < v->u.object.count && !w->full; i++) {
                const ipg_json_member_t * m = &v->u.object.members[i];
                if (i > 0) {
                    json_w_bytes(w, ", ", 2);
                }
                json_w_string(w, m->key, m->key_len);
                json_w_bytes(w, ": ", 2);
                json_w_value(w, &m->value);
            }
            json_w_bytes(w, "}", 1);
            break;
    }
}

char * ipg_json_format(const ipg_json_value_t * v, char * buf, size_t size) {
    if (buf == NULL || size == 0) {
        return buf;
    }
    ipg_json_writer_t w = { buf, size, 0, false };
    if (v == NULL) {
        json_w_str(&w, "(none)");
    } else {
        json_w_value(&w, v);
    }
    if (w.full && size >= 4) {
        // Cut on a UTF-8 character boundary, then mark the cut.
        size_t p = size - 4;
        while (p > 0 && ((unsigned char) buf[p] & 0xc0) == 0x80) {
            p--;
        }
        memcpy(buf + p, "...", 3);
        w.pos = p + 3;
    }
    buf[w.pos < size ? w.pos : size - 1] = '\0';
    return buf;
}
