// SPDX-License-Identifier: LGPL-2.1-or-later
// config.c: the network configuration JSON -> ipg_config_t, range-checked.
//
// Every check names the field and the offending value, because the usual
// reader of these messages is someone whose exporter wrote a bad file. Unknown
// keys are ignored so that a newer exporter's extra fields do not break an
// older library; missing required keys are errors.
#include "config.h"
#include "error.h"
#include "ipg.h"
#include "json.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// Messages carry no "config:" prefix: the caller (the model loader) says
// which metadata entry it was parsing.
typedef struct {
    char * err;
    size_t err_size;
} cfg_err_t;

static void cfg_error(cfg_err_t * e, const char * fmt, ...) __attribute__((format(printf, 2, 3)));

static void cfg_error(cfg_err_t * e, const char * fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    ipg_format_error_prefixed_v(e->err, e->err_size, NULL, fmt, ap);
    va_end(ap);
}

// Short rendering of a value for messages.
#define CFG_VAL(v) ipg_json_format((v), (char[80]){ 0 }, 80)

static const ipg_json_value_t * cfg_required(cfg_err_t * e, const ipg_json_value_t * root, const char * key) {
    const ipg_json_value_t * v = ipg_json_get(root, key);
    if (v == NULL) {
        cfg_error(e, "missing required field '%s'", key);
    }
    return v;
}

// A finite number in [lo, hi] (or (lo, hi] when lo_open).
static bool cfg_number(cfg_err_t * e, const ipg_json_value_t * v, const char * name, double lo, bool lo_open, double hi,
                       double * out) {
    if (v->type != IPG_JSON_NUMBER) {
        cfg_error(e, "'%s' must be a number, got %s", name, CFG_VAL(v));
        return false;
    }
    double x = v->u.number.value;
    if (!(lo_open ? x > lo : x >= lo) || !(x <= hi)) {
        cfg_error(e, "'%s' must be in %c%g, %g], got %s", name, lo_open ? '(' : '[', lo, hi, CFG_VAL(v));
        return false;
    }
    *out = x;
    return true;
}

// An integral number in [lo, hi]; 80 and 80.0 are both accepted.
static bool cfg_int(cfg_err_t * e, const ipg_json_value_t * v, const char * name, int64_t lo, int64_t hi,
                    int32_t * out) {
    if (v->type != IPG_JSON_NUMBER || v->u.number.value != floor(v->u.number.value)) {
        cfg_error(e, "'%s' must be an integer, got %s", name, CFG_VAL(v));
        return false;
    }
    double x = v->u.number.value;
    if (x < (double) lo || x > (double) hi) {
        cfg_error(e, "'%s' must be in [%lld, %lld], got %s", name, (long long) lo, (long long) hi, CFG_VAL(v));
        return false;
    }
    *out = (int32_t) x;
    return true;
}

// An array of n_min..n_max items; returns the count or -1.
static int32_t cfg_array(cfg_err_t * e, const ipg_json_value_t * v, const char * name, size_t n_min, size_t n_max) {
    if (v->type != IPG_JSON_ARRAY) {
        cfg_error(e, "'%s' must be an array, got %s", name, CFG_VAL(v));
        return -1;
    }
    size_t n = v->u.array.count;
    if (n < n_min || n > n_max) {
        if (n_min == n_max) {
            cfg_error(e, "'%s' must have %zu entries, got %zu: %s", name, n_min, n, CFG_VAL(v));
        } else {
            cfg_error(e, "'%s' must have %zu to %zu entries, got %zu: %s", name, n_min, n_max, n, CFG_VAL(v));
        }
        return -1;
    }
    return (int32_t) n;
}

// An array of n_min..n_max numbers, each in [lo, hi] or (lo, hi].
static int32_t cfg_floats(cfg_err_t * e, const ipg_json_value_t * v, const char * name, size_t n_min, size_t n_max,
                          double lo, bool lo_open, double hi, float * out) {
    int32_t n = cfg_array(e, v, name, n_min, n_max);
    if (n < 0) {
        return -1;
    }
    for (int32_t i = 0; i < n; i++) {
        char item[64];
        double x;
        snprintf(item, sizeof(item), "%s[%d]", name, (int) i);
        if (!cfg_number(e, &v->u.array.items[i], item, lo, lo_open, hi, &x)) {
            return -1;
        }
        out[i] = (float) x;
        // A positive double can still round to 0 as a float.
        if (lo_open && !(out[i] > (float) lo)) {
            cfg_error(e, "'%s' %s is zero as a float", item, CFG_VAL(&v->u.array.items[i]));
            return -1;
        }
    }
    return n;
}

static int32_t cfg_ints(cfg_err_t * e, const ipg_json_value_t * v, const char * name, size_t n_min, size_t n_max,
                        int64_t lo, int64_t hi, int32_t * out) {
    int32_t n = cfg_array(e, v, name, n_min, n_max);
    if (n < 0) {
        return -1;
    }
    for (int32_t i = 0; i < n; i++) {
        char item[64];
        snprintf(item, sizeof(item), "%s[%d]", name, (int) i);
        if (!cfg_int(e, &v->u.array.items[i], item, lo, hi, &out[i])) {
            return -1;
        }
    }
    return n;
}

static bool cfg_string_is(const ipg_json_value_t * v, const char * s) {
    return v->type == IPG_JSON_STRING && v->u.string.len == strlen(s) &&
           memcmp(v->u.string.ptr, s, v->u.string.len) == 0;
}

static bool cfg_parse_backbone(cfg_err_t * e, const ipg_json_value_t * root, ipg_config_t * c) {
    static const struct {
        const char * name;
        ipg_block_t block;
        int32_t layers[4];
    } backbones[] = {
        { "resnet18", IPG_BLOCK_BASIC, { 2, 2, 2, 2 } },
        { "resnet34", IPG_BLOCK_BASIC, { 3, 4, 6, 3 } },
        { "resnet50", IPG_BLOCK_BOTTLENECK, { 3, 4, 6, 3 } },
        { "resnet101", IPG_BLOCK_BOTTLENECK, { 3, 4, 23, 3 } },
    };

    const ipg_json_value_t * v = cfg_required(e, root, "arch");
    if (v == NULL) {
        return false;
    }
    if (v->type != IPG_JSON_STRING) {
        cfg_error(e, "'arch' must be a string, got %s", CFG_VAL(v));
        return false;
    }
    if (cfg_string_is(v, "retinanet")) {
        c->arch = IPG_ARCH_RETINANET;
    } else if (cfg_string_is(v, "fasterrcnn")) {
        c->arch = IPG_ARCH_FASTERRCNN;
    } else {
        cfg_error(e, "'arch' %s is unknown (expected \"retinanet\" or \"fasterrcnn\")", CFG_VAL(v));
        return false;
    }

    if ((v = cfg_required(e, root, "backbone")) == NULL) {
        return false;
    }
    int found = -1;
    for (int i = 0; i < (int) (sizeof(backbones) / sizeof(backbones[0])); i++) {
        if (cfg_string_is(v, backbones[i].name)) {
            found = i;
        }
    }
    if (found < 0) {
        cfg_error(e, "'backbone' must be one of \"resnet18\", \"resnet34\", \"resnet50\", \"resnet101\", got %s",
                  CFG_VAL(v));
        return false;
    }
    snprintf(c->backbone, sizeof(c->backbone), "%s", backbones[found].name);
    c->block = backbones[found].block;
    memcpy(c->layers, backbones[found].layers, sizeof(c->layers));

    double w;
    if ((v = cfg_required(e, root, "width")) == NULL || !cfg_number(e, v, "width", 0.0, true, 4.0, &w)) {
        return false;
    }
    c->width = w;
    const int32_t expansion = c->block == IPG_BLOCK_BOTTLENECK ? 4 : 1;
    for (int i = 0; i < 4; i++) {
        long planes = (long) rint(64.0 * (double) (1 << i) * w);   // half to even, as Python's round()
        if (planes < 1) {
            cfg_error(e, "'width' %s leaves stage %d (layer%d) with %ld channels", CFG_VAL(v), i + 2, i + 1, planes);
            return false;
        }
        c->stage_planes[i] = (int32_t) planes;
        c->stage_channels[i] = (int32_t) planes * expansion;
    }
    c->stem_channels = c->stage_planes[0];
    return true;
}

static bool cfg_parse_levels(cfg_err_t * e, const ipg_json_value_t * root, ipg_config_t * c) {
    const ipg_json_value_t * v = cfg_required(e, root, "ipg_levels");
    if (v == NULL) {
        return false;
    }
    int32_t n = cfg_ints(e, v, "ipg_levels", 0, 4, 2, 5, c->ipg_levels);
    if (n < 0) {
        return false;
    }
    for (int32_t i = 1; i < n; i++) {
        if (c->ipg_levels[i] <= c->ipg_levels[i - 1]) {
            cfg_error(e, "'ipg_levels' %s must be strictly increasing", CFG_VAL(v));
            return false;
        }
    }
    c->num_ipg_levels = n;

    // Per-level widths beyond 65536 are no real network and would overflow
    // buffer sizes downstream.
    if ((v = cfg_required(e, root, "ipg_channels")) == NULL ||
        cfg_ints(e, v, "ipg_channels", 4, 4, 1, 65536, c->ipg_channels) < 0) {
        return false;
    }
    if ((v = cfg_required(e, root, "fpn_channels")) == NULL ||
        !cfg_int(e, v, "fpn_channels", 1, 4096, &c->fpn_channels)) {
        return false;
    }
    if ((v = cfg_required(e, root, "num_classes")) == NULL ||
        !cfg_int(e, v, "num_classes", 1, IPG_MAX_CLASSES, &c->num_classes)) {
        return false;
    }
    return true;
}

// The network input's sides: multiples of the backbone's total stride (32),
// from one stride up to IPG_MAX_INPUT_SIDE. The one statement of the rule.
#define IPG_INPUT_SIDE_STEP 32

static bool ipg_input_side_ok(int32_t side) {
    return side >= IPG_INPUT_SIDE_STEP && side <= IPG_MAX_INPUT_SIDE && side % IPG_INPUT_SIDE_STEP == 0;
}

ipg_status_t ipg_check_input_size(int32_t width, int32_t height, char * err, size_t err_size) {
    if (!ipg_input_side_ok(width) || !ipg_input_side_ok(height)) {
        ipg_format_error(err, err_size, "input size %dx%d: both sides must be multiples of %d in %d..%d", (int) width,
                         (int) height, IPG_INPUT_SIDE_STEP, IPG_INPUT_SIDE_STEP, IPG_MAX_INPUT_SIDE);
        return IPG_ERR_INVALID_ARG;
    }
    return IPG_OK;
}

static bool cfg_parse_input(cfg_err_t * e, const ipg_json_value_t * root, ipg_config_t * c) {
    const ipg_json_value_t * v = cfg_required(e, root, "input");
    int32_t wh[2];
    if (v == NULL || cfg_ints(e, v, "input", 2, 2, IPG_INPUT_SIDE_STEP, IPG_MAX_INPUT_SIDE, wh) < 0) {
        return false;
    }
    for (int i = 0; i < 2; i++) {
        if (!ipg_input_side_ok(wh[i])) {   // in range: only the multiple can be wrong
            cfg_error(e, "'input' %s: the %s %d is not a multiple of 32", CFG_VAL(v), i ? "height" : "width",
                      (int) wh[i]);
            return false;
        }
    }
    c->input_width = wh[0];
    c->input_height = wh[1];

    if ((v = cfg_required(e, root, "mean")) == NULL || cfg_floats(e, v, "mean", 3, 3, -1e6, false, 1e6, c->mean) < 0) {
        return false;
    }
    if ((v = cfg_required(e, root, "std")) == NULL || cfg_floats(e, v, "std", 3, 3, 0.0, true, 1e6, c->std) < 0) {
        return false;
    }
    c->bn_eps = 1e-5f;
    if ((v = ipg_json_get(root, "bn_eps")) != NULL) {
        double x;
        if (!cfg_number(e, v, "bn_eps", 0.0, true, 1.0, &x)) {
            return false;
        }
        c->bn_eps = (float) x;
        if (!(c->bn_eps > 0.0f)) {
            cfg_error(e, "'bn_eps' %s is zero as a float", CFG_VAL(v));
            return false;
        }
    }
    return true;
}

static bool cfg_parse_anchors(cfg_err_t * e, const ipg_json_value_t * root, ipg_config_t * c) {
    const ipg_json_value_t * v = cfg_required(e, root, "anchor_sizes");
    if (v == NULL) {
        return false;
    }
    int32_t n_levels = cfg_array(e, v, "anchor_sizes", 1, IPG_MAX_LEVELS);
    if (n_levels < 0) {
        return false;
    }
    if (n_levels != 5) {
        cfg_error(e, "'anchor_sizes' has %d levels but %s", (int) n_levels,
                  c->arch == IPG_ARCH_RETINANET ? "RetinaNet needs 5 (P3..P7)" : "Faster R-CNN needs 5 (P2..P6)");
        return false;
    }
    for (int32_t l = 0; l < n_levels; l++) {
        char name[32];
        snprintf(name, sizeof(name), "anchor_sizes[%d]", (int) l);
        int32_t n =
            cfg_floats(e, &v->u.array.items[l], name, 1, IPG_MAX_ANCHOR_SIZES, 0.0, true, 1e5, c->anchor_sizes[l]);
        if (n < 0) {
            return false;
        }
        if (l > 0 && n != c->num_anchor_sizes) {
            cfg_error(e,
                      "'anchor_sizes[%d]' has %d sizes but anchor_sizes[0] has %d (every level needs the same count)",
                      (int) l, (int) n, (int) c->num_anchor_sizes);
            return false;
        }
        c->num_anchor_sizes = n;
    }
    c->num_anchor_levels = n_levels;

    if ((v = cfg_required(e, root, "aspect_ratios")) == NULL) {
        return false;
    }
    c->num_aspect_ratios = cfg_floats(e, v, "aspect_ratios", 1, IPG_MAX_RATIOS, 0.0, true, 1e3, c->aspect_ratios);
    if (c->num_aspect_ratios < 0) {
        return false;
    }
    return true;
}

static bool cfg_parse_post(cfg_err_t * e, const ipg_json_value_t * root, ipg_config_t * c) {
    const ipg_json_value_t * v;
    double x;
    const bool two_stage = c->arch == IPG_ARCH_FASTERRCNN;
    c->score_thresh = 0.05f;
    c->nms_thresh = 0.5f;
    c->detections_per_img = two_stage ? 100 : 300;
    c->topk_candidates = 1000;
    for (int i = 0; i < 4; i++) {
        c->box_weights[i] = two_stage ? (i < 2 ? 10.0f : 5.0f) : 1.0f;
    }
    if ((v = ipg_json_get(root, "score_thresh")) != NULL) {
        if (!cfg_number(e, v, "score_thresh", 0.0, false, 1.0, &x)) {
            return false;
        }
        c->score_thresh = (float) x;
    }
    if ((v = ipg_json_get(root, "nms_thresh")) != NULL) {
        if (!cfg_number(e, v, "nms_thresh", 0.0, false, 1.0, &x)) {
            return false;
        }
        c->nms_thresh = (float) x;
    }
    if ((v = ipg_json_get(root, "detections_per_img")) != NULL &&
        !cfg_int(e, v, "detections_per_img", 1, 100000, &c->detections_per_img)) {
        return false;
    }
    if ((v = ipg_json_get(root, "topk_candidates")) != NULL &&
        !cfg_int(e, v, "topk_candidates", 1, 100000, &c->topk_candidates)) {
        return false;
    }
    if ((v = ipg_json_get(root, "box_weights")) != NULL &&
        cfg_floats(e, v, "box_weights", 4, 4, 0.0, true, 1e6, c->box_weights) < 0) {
        return false;
    }
    return true;
}

// The two-stage fields; ignored (like any unknown key) for RetinaNet. The
// upper bounds keep prepare-time buffers (proposals x classes) sane.
static bool cfg_parse_two_stage(cfg_err_t * e, const ipg_json_value_t * root, ipg_config_t * c) {
    const ipg_json_value_t * v;
    double x;
    c->rpn_pre_nms_top_n = 1000;
    c->rpn_post_nms_top_n = 1000;
    c->rpn_nms_thresh = 0.7f;
    c->rpn_score_thresh = 0.0f;
    c->roi_output_size = 7;
    c->roi_sampling_ratio = 2;
    c->representation_size = 1024;
    if (c->arch != IPG_ARCH_FASTERRCNN) {
        return true;
    }
    if ((v = ipg_json_get(root, "rpn_pre_nms_top_n")) != NULL &&
        !cfg_int(e, v, "rpn_pre_nms_top_n", 1, 10000, &c->rpn_pre_nms_top_n)) {
        return false;
    }
    if ((v = ipg_json_get(root, "rpn_post_nms_top_n")) != NULL &&
        !cfg_int(e, v, "rpn_post_nms_top_n", 1, 10000, &c->rpn_post_nms_top_n)) {
        return false;
    }
    if ((v = ipg_json_get(root, "rpn_nms_thresh")) != NULL) {
        if (!cfg_number(e, v, "rpn_nms_thresh", 0.0, false, 1.0, &x)) {
            return false;
        }
        c->rpn_nms_thresh = (float) x;
    }
    if ((v = ipg_json_get(root, "rpn_score_thresh")) != NULL) {
        if (!cfg_number(e, v, "rpn_score_thresh", 0.0, false, 1.0, &x)) {
            return false;
        }
        c->rpn_score_thresh = (float) x;
    }
    if ((v = ipg_json_get(root, "roi_output_size")) != NULL &&
        !cfg_int(e, v, "roi_output_size", 1, 64, &c->roi_output_size)) {
        return false;
    }
    if ((v = ipg_json_get(root, "roi_sampling_ratio")) != NULL &&
        !cfg_int(e, v, "roi_sampling_ratio", 1, 64, &c->roi_sampling_ratio)) {
        return false;
    }
    if ((v = ipg_json_get(root, "representation_size")) != NULL &&
        !cfg_int(e, v, "representation_size", 1, 65536, &c->representation_size)) {
        return false;
    }
    return true;
}

int ipg_config_parse(const char * json, size_t len, ipg_config_t * cfg, char * err, size_t err_size) {
    cfg_err_t e = { err, err_size };
    if (err != NULL && err_size > 0) {
        err[0] = '\0';
    }
    if (cfg == NULL || (json == NULL && len > 0)) {
        cfg_error(&e, "invalid arguments");
        return 1;
    }
    memset(cfg, 0, sizeof(*cfg));

    char jerr[256];
    ipg_json_doc_t * doc = NULL;
    if (ipg_json_parse(json, len, &doc, jerr, sizeof(jerr)) != 0) {
        cfg_error(&e, "%s", jerr);
        return 1;
    }
    const ipg_json_value_t * root = ipg_json_root(doc);
    ipg_config_t c;
    memset(&c, 0, sizeof(c));
    bool ok;
    if (root->type != IPG_JSON_OBJECT) {
        cfg_error(&e, "the config must be a JSON object, got %s", CFG_VAL(root));
        ok = false;
    } else {
        ok = cfg_parse_backbone(&e, root, &c) && cfg_parse_levels(&e, root, &c) && cfg_parse_input(&e, root, &c) &&
             cfg_parse_anchors(&e, root, &c) && cfg_parse_post(&e, root, &c) && cfg_parse_two_stage(&e, root, &c);
    }
    ipg_json_free(doc);
    if (!ok) {
        return 1;
    }
    *cfg = c;
    return 0;
}

#define IPG_LABEL_MAX_BYTES 255

int32_t ipg_labels_parse(const char * json, size_t len, char *** labels, char * err, size_t err_size) {
    if (err != NULL && err_size > 0) {
        err[0] = '\0';
    }
    cfg_err_t e = { err, err_size };
    if (labels == NULL || (json == NULL && len > 0)) {
        cfg_error(&e, "invalid arguments");
        return -1;
    }
    *labels = NULL;

    char jerr[256];
    ipg_json_doc_t * doc = NULL;
    if (ipg_json_parse(json, len, &doc, jerr, sizeof(jerr)) != 0) {
        cfg_error(&e, "%s", jerr);
        return -1;
    }
    const ipg_json_value_t * root = ipg_json_root(doc);
    int32_t n = -1;
    size_t bytes = 0;
    if (root->type != IPG_JSON_ARRAY) {
        cfg_error(&e, "the labels must be a JSON array of strings, got %s", CFG_VAL(root));
        goto done;
    }
    if (root->u.array.count < 1 || root->u.array.count > IPG_MAX_LABELS) {
        cfg_error(&e, "%zu labels, expected 1 to %d", root->u.array.count, IPG_MAX_LABELS);
        goto done;
    }
    for (size_t i = 0; i < root->u.array.count; i++) {
        const ipg_json_value_t * s = &root->u.array.items[i];
        const char * why = NULL;
        if (s->type != IPG_JSON_STRING) {
            why = "is not a string";
        } else if (s->u.string.len == 0) {
            why = "is empty";
        } else if (s->u.string.len > IPG_LABEL_MAX_BYTES) {
            why = "is longer than 255 bytes";
        } else if (memchr(s->u.string.ptr, '\0', s->u.string.len) != NULL) {
            why = "contains a NUL character";
        }
        if (why != NULL) {
            cfg_error(&e, "label %zu %s %s", i, CFG_VAL(s), why);
            goto done;
        }
        bytes += s->u.string.len + 1;   // at most 4096 * 256: no overflow
    }

    {
        const size_t count = root->u.array.count;
        const size_t ptrs = (count + 1) * sizeof(char *);   // NULL-terminated as a convenience
        char ** block = malloc(ptrs + bytes);
        if (block == NULL) {
            cfg_error(&e, "out of memory");
            goto done;
        }
        char * dst = (char *) block + ptrs;
        for (size_t i = 0; i < count; i++) {
            const ipg_json_value_t * s = &root->u.array.items[i];
            block[i] = dst;
            memcpy(dst, s->u.string.ptr, s->u.string.len + 1);
            dst += s->u.string.len + 1;
        }
        block[count] = NULL;
        *labels = block;
        n = (int32_t) count;
    }

done:
    ipg_json_free(doc);
    return n;
}
