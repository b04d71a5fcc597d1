// SPDX-License-Identifier: LGPL-2.1-or-later
// fuzz-safetensors.c: a deterministic mutation fuzzer for the model-file
// layer. Each iteration mutates the good test file (bit flips, byte sets,
// truncations, length-field edits, splices, JSON-token edits in the header),
// or mutates the config/labels text and rebuilds a file around it, then runs
// ipg_st_parse -> ipg_config_parse -> ipg_labels_parse. Nothing may crash
// (run it under ASan/UBSan), every refusal must come with a message, and
// every acceptance must satisfy the documented invariants.
//
// usage: fuzz-safetensors [iterations [seed]]
#include "config.h"
#include "safetensors.h"
#include "st-builder.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FUZZ_MAX_SIZE (1 << 16)

typedef struct {
    uint8_t * b;
    size_t n;
} buf_t;

static uint64_t rng_state;

// xorshift64*: deterministic for a given seed on every platform.
static uint64_t rng_next(void) {
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dULL;
}

static size_t rng_below(size_t n) { return n ? (size_t) (rng_next() % n) : 0; }

static const char * const dict[] = {
    "0",
    "-1",
    "1",
    "4",
    "-0",
    "7",
    "1e999",
    "1.5",
    "2.5e-1",
    "18446744073709551616",
    "9223372036854775807",
    "-9223372036854775808",
    "4294967296",
    "100000001",
    "\"\"",
    "\"F16\"",
    "\"F32\"",
    "\"BOOL\"",
    "\"Q4\"",
    "\"__metadata__\"",
    "null",
    "true",
    "false",
    "[]",
    "{}",
    "[",
    "]",
    "{",
    "}",
    ",",
    ":",
    "\"",
    "\\",
    "\\u0000",
    "\\ud800",
    "\\udc00",
    "\\ud83d\\ude00",
    "[0, 0]",
    "[1, 2, 3, 4, 5, 6, 7, 8, 9]",
    "\"data_offsets\"",
    "\"shape\"",
    "\"dtype\"",
    "\xff",
    "\xc3\xa9",
    "\xed\xa0\x80",
    "  ",
    "\t",
    "\n",
    "\"retinanet\"",
    "\"fasterrcnn\"",
    "\"resnet50\"",
    "\"resnet101\"",
    "0.001",
    "32",
    "8192",
    "8224",
    "4096",
    "[[1], [2], [3], [4], [5]]",
    "[2, 3, 4, 5]",
    "[5, 4]",
    "[352, 288]",
    "\"config\"",
    "\"labels\"",
    "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
};
#define DICT_N (sizeof(dict) / sizeof(dict[0]))

static const uint8_t interesting[] = {
    0x00, 0x01, 0x7f, 0x80, 0xff, '{', '}', '[', ']', '"', '\\', ',', ':', '-', '0', '9', ' ', 'e', '.', 0xc3, 0xed,
};

// Replaces b[a, e) with `len` bytes of `with`; refuses to grow past the cap.
static void buf_replace(buf_t * b, size_t a, size_t e, const void * with, size_t len) {
    if (a > b->n || e > b->n || a > e || b->n - (e - a) + len > FUZZ_MAX_SIZE) {
        return;
    }
    memmove(b->b + a + len, b->b + e, b->n - e);
    memcpy(b->b + a, with, len);
    b->n = b->n - (e - a) + len;
}

static uint64_t get_len_field(const buf_t * b) {
    uint64_t n = 0;
    for (int i = 7; i >= 0 && b->n >= 8; i--) {
        n = (n << 8) | b->b[i];
    }
    return n;
}

static void set_len_field(buf_t * b, uint64_t v) {
    for (int i = 0; i < 8 && i < (int) b->n; i++) {
        b->b[i] = (uint8_t) (v >> (8 * i));
    }
}

static bool is_word(uint8_t c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '.' || c == '-' ||
           c == '+' || c == '_';
}

// The token around b[p] within [lo, hi): a quoted string, a run of word
// characters, or a single other byte.
static void find_token(const buf_t * b, size_t lo, size_t hi, size_t p, size_t * ta, size_t * te) {
    if (b->b[p] == '"') {
        size_t e = p + 1;
        while (e < hi && b->b[e] != '"') {
            e += b->b[e] == '\\' ? 2 : 1;
        }
        *ta = p;
        *te = e < hi ? e + 1 : hi;
        return;
    }
    if (is_word(b->b[p])) {
        size_t a = p, e = p;
        while (a > lo && is_word(b->b[a - 1])) {
            a--;
        }
        while (e < hi && is_word(b->b[e])) {
            e++;
        }
        *ta = a;
        *te = e;
        return;
    }
    *ta = p;
    *te = p + 1;
}

// Edits one JSON token of text region [lo, hi) of the buffer; returns the
// change in the region's length.
static long json_token_edit(buf_t * b, size_t lo, size_t hi) {
    if (hi <= lo) {
        return 0;
    }
    size_t p = lo + rng_below(hi - lo);
    size_t ta, te;
    find_token(b, lo, hi, p, &ta, &te);
    size_t before = b->n;
    switch (rng_below(4)) {
        case 0: {   // replace with a dictionary token
            const char * t = dict[rng_below(DICT_N)];
            buf_replace(b, ta, te, t, strlen(t));
            break;
        }
        case 1:   // delete the token
            buf_replace(b, ta, te, "", 0);
            break;
        case 2: {   // insert a dictionary token before it
            const char * t = dict[rng_below(DICT_N)];
            buf_replace(b, ta, ta, t, strlen(t));
            break;
        }
        default: {   // duplicate the token (duplicate keys, doubled commas)
            size_t len = te - ta;
            uint8_t tmp[256];
            if (len <= sizeof(tmp)) {
                memcpy(tmp, b->b + ta, len);
                buf_replace(b, te, te, tmp, len);
            }
            break;
        }
    }
    return (long) b->n - (long) before;
}

static void mutate_bytes(buf_t * b, size_t lo, size_t hi) {
    if (hi <= lo) {
        return;
    }
    size_t p = lo + rng_below(hi - lo);
    switch (rng_below(6)) {
        case 0: b->b[p] ^= (uint8_t) (1u << rng_below(8)); break;
        case 1: b->b[p] = interesting[rng_below(sizeof(interesting))]; break;
        case 2: b->b[p] = (uint8_t) rng_next(); break;
        case 3: {   // splice: copy a chunk from elsewhere over this position
            size_t src = lo + rng_below(hi - lo);
            size_t len = 1 + rng_below(32);
            if (src + len <= b->n && p + len <= b->n) {
                memmove(b->b + p, b->b + src, len);
            }
            break;
        }
        case 4: {   // insert a chunk from elsewhere
            size_t src = rng_below(b->n);
            size_t len = 1 + rng_below(64);
            uint8_t tmp[64];
            if (src + len <= b->n) {
                memcpy(tmp, b->b + src, len);
                buf_replace(b, p, p, tmp, len);
            }
            break;
        }
        default: {   // delete a range
            size_t len = 1 + rng_below(16);
            buf_replace(b, p, p + len <= b->n ? p + len : b->n, "", 0);
            break;
        }
    }
}

static void mutate_file(buf_t * b) {
    int n_mut = 1 + (int) rng_below(4);
    for (int m = 0; m < n_mut && b->n > 0; m++) {
        uint64_t hl = get_len_field(b);
        size_t hhi = b->n >= 8 && hl <= b->n - 8 ? 8 + (size_t) hl : b->n;
        switch (rng_below(8)) {
            case 0:
            case 1:   // bytes anywhere, mostly the header
                if (rng_below(4) == 0 || hhi <= 8) {
                    mutate_bytes(b, 0, b->n);
                } else {
                    mutate_bytes(b, 8, hhi);
                }
                break;
            case 2:   // truncate
                b->n = rng_below(b->n + 1);
                break;
            case 3: {   // length-field edit
                static const uint64_t vals[] = {
                    0, 1, 2, 7, 8, 100000000, 100000001, UINT64_MAX, (uint64_t) 1 << 63, (uint64_t) 1 << 32
                };
                uint64_t v;
                switch (rng_below(4)) {
                    case 0: v = vals[rng_below(sizeof(vals) / sizeof(vals[0]))]; break;
                    case 1: v = hl + (uint64_t) rng_below(17) - 8; break;
                    case 2: v = b->n - (b->n >= 8 ? 8 : 0) - rng_below(4); break;
                    default: v = rng_next(); break;
                }
                set_len_field(b, v);
                break;
            }
            default: {   // JSON-token edit in the header, usually keeping the length field right
                if (hhi <= 8) {
                    break;
                }
                long d = json_token_edit(b, 8, hhi);
                if (rng_below(8) != 0) {
                    set_len_field(b, hl + (uint64_t) d);   // wraps on purpose
                }
                break;
            }
        }
    }
}

// Mutates a JSON text (config or labels) in place, 1..3 edits.
static void mutate_text(buf_t * t) {
    int n_mut = 1 + (int) rng_below(3);
    for (int m = 0; m < n_mut; m++) {
        if (rng_below(3) == 0) {
            mutate_bytes(t, 0, t->n);
        } else {
            json_token_edit(t, 0, t->n);
        }
    }
}

static int fail(long iter, const char * what) {
    printf("FAIL iteration %ld: %s\n", iter, what);
    return 1;
}

typedef struct {
    long st_ok, st_bad, cfg_ok, cfg_bad, lab_ok, lab_bad;
} stats_t;

// Checks the invariants of an accepted file.
static bool st_invariants(const ipg_st_file_t * f) {
    static const size_t esize[] = { 4, 2, 2, 8, 8, 4, 2, 1, 1, 1 };
    if (f->n_tensors < 0 || f->n_meta < 0 || f->file_size < 8) {
        return false;
    }
    const uint8_t * end = f->file + f->file_size;
    const uint8_t * at = NULL;
    for (int32_t i = 0; i < f->n_tensors; i++) {
        const ipg_st_tensor_t * t = &f->tensors[i];
        if ((int) t->dtype < 0 || (int) t->dtype > IPG_ST_BOOL || t->n_dims < 0 || t->n_dims > IPG_ST_MAX_DIMS ||
            t->name == NULL || t->name[0] == '\0') {
            return false;
        }
        int64_t numel = 1;
        for (int32_t d = 0; d < t->n_dims; d++) {
            if (t->shape[d] < 0) {
                return false;
            }
            numel *= t->shape[d];   // cannot overflow: the parser bounded the byte size
        }
        if (numel != t->numel || (uint64_t) numel * esize[t->dtype] != t->nbytes) {
            return false;
        }
        if (t->data < f->file + 8 || t->data > end || t->nbytes > (size_t) (end - t->data)) {
            return false;
        }
        if (at != NULL && t->data != at) {
            return false;   // sorted and contiguous
        }
        at = t->data + t->nbytes;
    }
    if (f->n_tensors > 0 && at != end) {
        return false;   // covers the buffer exactly
    }
    for (int32_t i = 0; i < f->n_meta; i++) {
        if (f->meta[i].key == NULL || f->meta[i].value == NULL) {
            return false;
        }
    }
    return true;
}

static bool cfg_invariants(const ipg_config_t * c) {
    if (c->arch != IPG_ARCH_RETINANET || c->width <= 0 || c->width > 4 || c->input_width % 32 || c->input_height % 32 ||
        c->input_width < 32 || c->input_width > 8192 || c->input_height < 32 || c->input_height > 8192 ||
        c->num_ipg_levels < 0 || c->num_ipg_levels > 4 || c->num_anchor_levels != 5 || c->num_anchor_sizes < 1 ||
        c->num_anchor_sizes > IPG_MAX_ANCHOR_SIZES || c->num_aspect_ratios < 1 ||
        c->num_aspect_ratios > IPG_MAX_RATIOS || c->num_classes < 1 || c->num_classes > IPG_MAX_CLASSES ||
        c->fpn_channels < 1 || c->fpn_channels > 4096 || !(c->bn_eps > 0) || !(c->score_thresh >= 0) ||
        !(c->score_thresh <= 1) || !(c->nms_thresh >= 0) || !(c->nms_thresh <= 1) || c->detections_per_img < 1 ||
        c->topk_candidates < 1) {
        return false;
    }
    for (int i = 0; i < 4; i++) {
        if (c->stage_planes[i] < 1 || c->stage_channels[i] < c->stage_planes[i] || c->ipg_channels[i] < 1 ||
            !(c->std[i < 3 ? i : 0] > 0) || !(c->box_weights[i] > 0)) {
            return false;
        }
    }
    for (int i = 1; i < c->num_ipg_levels; i++) {
        if (c->ipg_levels[i] <= c->ipg_levels[i - 1] || c->ipg_levels[i] > 5) {
            return false;
        }
    }
    for (int l = 0; l < c->num_anchor_levels; l++) {
        for (int k = 0; k < c->num_anchor_sizes; k++) {
            if (!(c->anchor_sizes[l][k] > 0)) {
                return false;
            }
        }
    }
    return true;
}

static bool labels_invariants(char ** labels, int32_t n) {
    if (n < 1 || n > IPG_MAX_LABELS || labels == NULL || labels[n] != NULL) {
        return false;
    }
    for (int32_t i = 0; i < n; i++) {
        size_t len = strlen(labels[i]);
        if (len < 1 || len > 255) {
            return false;
        }
    }
    return true;
}

// Parses a config text given by pointer and length; exact-size copy so that
// ASan sees reads past the end.
static int run_config(long iter, const char * text, size_t len, stats_t * st) {
    char * copy = malloc(len ? len : 1);
    char err[512];
    ipg_config_t c;
    memcpy(copy, text, len);
    int rc = ipg_config_parse(copy, len, &c, err, sizeof(err));
    free(copy);
    if (rc == 0) {
        st->cfg_ok++;
        if (!cfg_invariants(&c)) {
            printf("     config: %.*s\n", (int) (len < 2000 ? len : 2000), text);
            return fail(iter, "accepted config breaks an invariant");
        }
    } else {
        st->cfg_bad++;
        if (strlen(err) < 12) {
            return fail(iter, "config refused without a message");
        }
    }
    return 0;
}

static int run_labels(long iter, const char * text, size_t len, stats_t * st) {
    char * copy = malloc(len ? len : 1);
    char err[512];
    char ** labels = NULL;
    memcpy(copy, text, len);
    int32_t n = ipg_labels_parse(copy, len, &labels, err, sizeof(err));
    free(copy);
    if (n >= 0) {
        st->lab_ok++;
        bool ok = labels_invariants(labels, n);
        free(labels);
        if (!ok) {
            return fail(iter, "accepted labels break an invariant");
        }
    } else {
        st->lab_bad++;
        if (labels != NULL || strlen(err) < 12) {
            return fail(iter, "labels refused without a message or with output");
        }
    }
    return 0;
}

static int run_file(long iter, const buf_t * b, stats_t * st) {
    ipg_st_file_t f;
    char err[1024] = "";
    int rc = ipg_st_parse(b->b, b->n, &f, err, sizeof(err));
    if (rc != 0) {
        st->st_bad++;
        if (rc != 2 || err[0] == '\0' || f.file != NULL || f.tensors != NULL) {
            return fail(iter, "file refused without a message, or with output");
        }
        return 0;
    }
    st->st_ok++;
    if (!st_invariants(&f)) {
        ipg_st_free(&f);
        return fail(iter, "accepted file breaks an invariant");
    }
    int res = 0;
    const char * cfg = ipg_st_meta(&f, "config");
    const char * lab = ipg_st_meta(&f, "labels");
    if (cfg != NULL) {
        res |= run_config(iter, cfg, strlen(cfg), st);
    }
    if (lab != NULL) {
        res |= run_labels(iter, lab, strlen(lab), st);
    }
    ipg_st_free(&f);
    return res;
}

int main(int argc, char ** argv) {
    long iterations = argc > 1 ? strtol(argv[1], NULL, 10) : 20000;
    uint64_t seed = argc > 2 ? strtoull(argv[2], NULL, 10) : 0x1d9e7a11ULL;
    rng_state = seed ? seed : 1;

    size_t good_size, good_hl;
    uint8_t * good = st_build_good(&good_size, &good_hl);
    buf_t b = { malloc(FUZZ_MAX_SIZE), 0 };
    buf_t t = { malloc(FUZZ_MAX_SIZE), 0 };
    if (good == NULL || b.b == NULL || t.b == NULL) {
        printf("FAIL out of memory\n");
        return 1;
    }
    stats_t st = { 0, 0, 0, 0, 0, 0 };
    clock_t t0 = clock();
    int res = 0;

    // The unmutated inputs must pass all three stages.
    memcpy(b.b, good, good_size);
    b.n = good_size;
    stats_t st0 = { 0, 0, 0, 0, 0, 0 };
    res |= run_file(-1, &b, &st0);
    bool good_ok = res == 0 && st0.st_ok == 1 && st0.cfg_ok == 1 && st0.lab_ok == 1;
    printf("%s the good file passes container, config and labels\n", good_ok ? "ok  " : "FAIL");
    if (!good_ok) {
        return 1;
    }

    for (long it = 0; it < iterations && res == 0; it++) {
        size_t mode = rng_below(20);
        if (mode < 12) {
            // Mutated container.
            memcpy(b.b, good, good_size);
            b.n = good_size;
            mutate_file(&b);
            res |= run_file(it, &b, &st);
        } else {
            // Mutated config (mode < 17) or labels text, parsed on its own and
            // inside a rebuilt, otherwise valid file.
            const char * src = mode < 17 ? ST_GOOD_CONFIG : ST_GOOD_LABELS;
            t.n = strlen(src);
            memcpy(t.b, src, t.n);
            mutate_text(&t);
            if (mode < 17) {
                res |= run_config(it, (const char *) t.b, t.n, &st);
            } else {
                res |= run_labels(it, (const char *) t.b, t.n, &st);
            }
            // The file carries metadata as C strings: cut at a NUL byte.
            char * s = malloc(t.n + 1);
            memcpy(s, t.b, t.n);
            s[t.n] = '\0';
            size_t fs, fhl;
            uint8_t * file = mode < 17 ? st_build_good_meta(s, ST_GOOD_LABELS, &fs, &fhl)
                                       : st_build_good_meta(ST_GOOD_CONFIG, s, &fs, &fhl);
            free(s);
            if (file != NULL && fs <= FUZZ_MAX_SIZE) {
                memcpy(b.b, file, fs);
                b.n = fs;
                res |= run_file(it, &b, &st);
            }
            free(file);
        }
    }
    double secs = (double) (clock() - t0) / CLOCKS_PER_SEC;

    printf("%s %ld iterations (seed %" PRIu64 ") in %.1f s without a crash or a broken invariant\n",
           res == 0 ? "ok  " : "FAIL", iterations, seed, secs);
    printf("     container: %ld accepted, %ld refused; config: %ld accepted, %ld refused; "
           "labels: %ld accepted, %ld refused\n",
           st.st_ok, st.st_bad, st.cfg_ok, st.cfg_bad, st.lab_ok, st.lab_bad);
    // A fuzzer that never gets past the first check tests nothing.
    bool deep = iterations < 1000 ||
                (st.st_ok > 0 && st.st_bad > 0 && st.cfg_ok > 0 && st.cfg_bad > 0 && st.lab_ok > 0 && st.lab_bad > 0);
    printf("%s every stage both accepted and refused some inputs\n", deep ? "ok  " : "FAIL");
    free(good);
    free(b.b);
    free(t.b);
    return res == 0 && deep ? 0 : 1;
}
