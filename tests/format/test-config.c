// SPDX-License-Identifier: LGPL-2.1-or-later
// test-config.c: the config parser derives the right fields from a good
// config, fills defaults, and refuses each bad field with a message naming
// it; the labels parser returns one freeable block or a precise error.
#include "check.h"
#include "config.h"
#include "ipg.h"
#include "st-builder.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// The good config as (key, value) pairs, so that a case can replace or drop
// one field and keep the rest valid.
typedef struct {
    const char * key;
    const char * value;
} field_t;

static const field_t good_fields[] = {
    { "arch", "\"retinanet\"" },
    { "backbone", "\"resnet18\"" },
    { "width", "0.5" },
    { "ipg_levels", "[2, 3, 4, 5]" },
    { "ipg_channels", "[16, 32, 64, 128]" },
    { "fpn_channels", "64" },
    { "num_classes", "3" },
    { "input", "[352, 288]" },
    { "mean", "[0.485, 0.456, 0.406]" },
    { "std", "[0.229, 0.224, 0.225]" },
    { "anchor_sizes", "[[32, 40, 50], [64, 80, 101], [128, 161, 203], [256, 322, 406], [512, 645, 812]]" },
    { "aspect_ratios", "[0.5, 1.0, 2.0]" },
    { "bn_eps", "1e-3" },
    { "score_thresh", "0.25" },
    { "nms_thresh", "0.4" },
    { "detections_per_img", "100" },
    { "topk_candidates", "500" },
    { "box_weights", "[1, 1, 2, 2]" },
    { "unknown_future_key", "{\"anything\": [null]}" },
};
#define N_GOOD_FIELDS ((int) (sizeof(good_fields) / sizeof(good_fields[0])))

static const char * required_keys[] = {
    "arch",        "backbone", "width", "ipg_levels", "ipg_channels", "fpn_channels",
    "num_classes", "input",    "mean",  "std",        "anchor_sizes", "aspect_ratios",
};

// Good config with `key` set to `value` (NULL: removed; a new key: added).
// Up to two overrides.
static char * config_with2(const char * key, const char * value, const char * key2, const char * value2) {
    size_t cap = 4096, o = 0;
    char * s = malloc(cap);
    bool seen = false, seen2 = false;
    o += (size_t) snprintf(s + o, cap - o, "{");
    for (int i = 0; i < N_GOOD_FIELDS; i++) {
        const char * v = good_fields[i].value;
        if (key && strcmp(good_fields[i].key, key) == 0) {
            v = value;
            seen = true;
        }
        if (key2 && strcmp(good_fields[i].key, key2) == 0) {
            v = value2;
            seen2 = true;
        }
        if (v != NULL) {
            o += (size_t) snprintf(s + o, cap - o, "%s\"%s\": %s", o > 1 ? ", " : "", good_fields[i].key, v);
        }
    }
    if (key && !seen && value) {
        o += (size_t) snprintf(s + o, cap - o, ", \"%s\": %s", key, value);
    }
    if (key2 && !seen2 && value2) {
        o += (size_t) snprintf(s + o, cap - o, ", \"%s\": %s", key2, value2);
    }
    snprintf(s + o, cap - o, "}");
    return s;
}

static char * config_with(const char * key, const char * value) { return config_with2(key, value, NULL, NULL); }

static int parse(const char * json, ipg_config_t * c, char * err, size_t err_size) {
    return ipg_config_parse(json, strlen(json), c, err, err_size);
}

static void test_good(void) {
    char err[512];
    ipg_config_t c;
    char * json = config_with(NULL, NULL);
    int rc = parse(json, &c, err, sizeof(err));
    check(rc == 0, "good config parses", err);
    free(json);
    if (rc != 0) {
        return;
    }
    check(c.arch == IPG_ARCH_RETINANET && strcmp(c.backbone, "resnet18") == 0 && c.block == IPG_BLOCK_BASIC,
          "arch retinanet, resnet18, basic blocks", NULL);
    check(c.layers[0] == 2 && c.layers[1] == 2 && c.layers[2] == 2 && c.layers[3] == 2, "resnet18 layers 2,2,2,2",
          NULL);
    check(c.width == 0.5 && c.stem_channels == 32, "width 0.5 -> stem 32", NULL);
    check(c.stage_planes[0] == 32 && c.stage_planes[3] == 256, "width 0.5 -> planes 32..256", NULL);
    check(c.stage_channels[0] == 32 && c.stage_channels[1] == 64 && c.stage_channels[2] == 128 &&
              c.stage_channels[3] == 256,
          "resnet18 x0.5 stage_channels 32,64,128,256", NULL);
    check(c.num_ipg_levels == 4 && c.ipg_levels[0] == 2 && c.ipg_levels[3] == 5, "ipg_levels 2..5", NULL);
    check(c.ipg_channels[0] == 16 && c.ipg_channels[3] == 128, "ipg_channels", NULL);
    check(c.fpn_channels == 64 && c.num_classes == 3 && c.input_width == 352 && c.input_height == 288,
          "fpn_channels, num_classes, input", NULL);
    check(c.mean[0] == 0.485f && c.mean[2] == 0.406f && c.std[1] == 0.224f, "mean, std", NULL);
    check(c.bn_eps == 1e-3f, "bn_eps given", NULL);
    check(c.num_anchor_levels == 5 && c.num_anchor_sizes == 3 && c.anchor_sizes[4][2] == 812.0f &&
              c.anchor_sizes[0][0] == 32.0f,
          "anchor_sizes 5 x 3", NULL);
    check(c.num_aspect_ratios == 3 && c.aspect_ratios[0] == 0.5f && c.aspect_ratios[2] == 2.0f, "aspect_ratios", NULL);
    check(c.score_thresh == 0.25f && c.nms_thresh == 0.4f && c.detections_per_img == 100 && c.topk_candidates == 500,
          "post-processing fields given", NULL);
    check(c.box_weights[0] == 1.0f && c.box_weights[3] == 2.0f, "box_weights given", NULL);

    // Each optional field absent on its own -> parses.
    static const char * optional[] = {
        "bn_eps", "score_thresh", "nms_thresh", "detections_per_img", "topk_candidates", "box_weights",
    };
    for (size_t i = 0; i < sizeof(optional) / sizeof(optional[0]); i++) {
        char what[96];
        json = config_with(optional[i], NULL);
        rc = parse(json, &c, err, sizeof(err));
        free(json);
        snprintf(what, sizeof(what), "optional '%s' absent: parses", optional[i]);
        check(rc == 0, what, err);
    }
    char * j2 = NULL;
    {
        // Build a config with every optional field removed.
        size_t cap = 4096, o = 0;
        j2 = malloc(cap);
        o += (size_t) snprintf(j2 + o, cap - o, "{");
        for (int i = 0; i < 12; i++) {
            for (int k = 0; k < N_GOOD_FIELDS; k++) {
                if (strcmp(good_fields[k].key, required_keys[i]) == 0) {
                    o += (size_t) snprintf(j2 + o, cap - o, "%s\"%s\": %s", i ? ", " : "", good_fields[k].key,
                                           good_fields[k].value);
                }
            }
        }
        snprintf(j2 + o, cap - o, "}");
    }
    rc = parse(j2, &c, err, sizeof(err));
    free(j2);
    check(rc == 0 && c.bn_eps == 1e-5f && c.score_thresh == 0.05f && c.nms_thresh == 0.5f &&
              c.detections_per_img == 300 && c.topk_candidates == 1000 && c.box_weights[0] == 1.0f &&
              c.box_weights[3] == 1.0f,
          "only required fields: defaults 1e-5, 0.05, 0.5, 300, 1000, [1,1,1,1]", err);

    // The config stored in the test model file (st-builder.h) parses too.
    rc = parse(ST_GOOD_CONFIG, &c, err, sizeof(err));
    check(rc == 0 && c.num_anchor_levels == 5 && fabsf(c.anchor_sizes[0][1] - 40.3174736f) < 1e-4f,
          "the good model file's config parses", err);
}

static void test_backbones(void) {
    static const struct {
        const char * backbone;
        const char * width;
        ipg_block_t block;
        int32_t layers[4];
        int32_t channels[4];
        int32_t stem;
    } cases[] = {
        { "\"resnet18\"", "0.5", IPG_BLOCK_BASIC, { 2, 2, 2, 2 }, { 32, 64, 128, 256 }, 32 },
        { "\"resnet18\"", "0.25", IPG_BLOCK_BASIC, { 2, 2, 2, 2 }, { 16, 32, 64, 128 }, 16 },
        { "\"resnet34\"", "1", IPG_BLOCK_BASIC, { 3, 4, 6, 3 }, { 64, 128, 256, 512 }, 64 },
        { "\"resnet50\"", "1", IPG_BLOCK_BOTTLENECK, { 3, 4, 6, 3 }, { 256, 512, 1024, 2048 }, 64 },
        { "\"resnet50\"", "0.5", IPG_BLOCK_BOTTLENECK, { 3, 4, 6, 3 }, { 128, 256, 512, 1024 }, 32 },
        { "\"resnet101\"", "1.0", IPG_BLOCK_BOTTLENECK, { 3, 4, 23, 3 }, { 256, 512, 1024, 2048 }, 64 },
        { "\"resnet18\"", "4", IPG_BLOCK_BASIC, { 2, 2, 2, 2 }, { 256, 512, 1024, 2048 }, 256 },
        // round half to even (Python's round): 64 * 0.3 = 19.2 -> 19, 128 * 0.3 = 38.4 -> 38, 76.8 -> 77, 153.6 -> 154
        { "\"resnet18\"", "0.3", IPG_BLOCK_BASIC, { 2, 2, 2, 2 }, { 19, 38, 77, 154 }, 19 },
        // Halves round to even, as in the Python reference: 64 * w = 1.5 -> 2, 3, 6, 12.
        { "\"resnet18\"", "0.0234375", IPG_BLOCK_BASIC, { 2, 2, 2, 2 }, { 2, 3, 6, 12 }, 2 },
        // 64 * w = 2.5 -> 2 (not 3), 5, 10, 20.
        { "\"resnet18\"", "0.0390625", IPG_BLOCK_BASIC, { 2, 2, 2, 2 }, { 2, 5, 10, 20 }, 2 },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char err[512], what[128];
        ipg_config_t c;
        char * json = config_with2("backbone", cases[i].backbone, "width", cases[i].width);
        int rc = parse(json, &c, err, sizeof(err));
        free(json);
        snprintf(what, sizeof(what), "%s width %s -> stage_channels %d,%d,%d,%d", cases[i].backbone, cases[i].width,
                 cases[i].channels[0], cases[i].channels[1], cases[i].channels[2], cases[i].channels[3]);
        bool ok = rc == 0 && c.block == cases[i].block && c.stem_channels == cases[i].stem;
        for (int k = 0; k < 4 && ok; k++) {
            ok = c.layers[k] == cases[i].layers[k] && c.stage_channels[k] == cases[i].channels[k];
        }
        check(ok, what, err);
        if (!ok && rc == 0) {
            printf("     got stem %d channels %d,%d,%d,%d\n", c.stem_channels, c.stage_channels[0], c.stage_channels[1],
                   c.stage_channels[2], c.stage_channels[3]);
        }
    }
}

static void test_variants(void) {
    char err[512];
    ipg_config_t c;
    char * json = config_with("ipg_levels", "[]");
    int rc = parse(json, &c, err, sizeof(err));
    check(rc == 0 && c.num_ipg_levels == 0, "ipg_levels [] (plain FPN baseline) accepted", err);
    free(json);
    json = config_with("ipg_levels", "[3, 5]");
    rc = parse(json, &c, err, sizeof(err));
    check(rc == 0 && c.num_ipg_levels == 2 && c.ipg_levels[0] == 3 && c.ipg_levels[1] == 5, "ipg_levels [3, 5]", err);
    free(json);
    json = config_with("num_classes", "80.0");
    rc = parse(json, &c, err, sizeof(err));
    check(rc == 0 && c.num_classes == 80, "integer written as 80.0 accepted", err);
    free(json);
    json = config_with("input", "[32, 8192]");
    rc = parse(json, &c, err, sizeof(err));
    check(rc == 0 && c.input_width == 32 && c.input_height == 8192, "input at the limits [32, 8192]", err);
    free(json);
    json = config_with("anchor_sizes", "[[32], [64], [128], [256], [512]]");
    rc = parse(json, &c, err, sizeof(err));
    check(rc == 0 && c.num_anchor_sizes == 1, "one anchor size per level", err);
    free(json);
    json = config_with2("score_thresh", "0", "nms_thresh", "1");
    rc = parse(json, &c, err, sizeof(err));
    check(rc == 0 && c.score_thresh == 0.0f && c.nms_thresh == 1.0f, "thresholds at 0 and 1 accepted", err);
    free(json);
    // Whitespace and key order do not matter.
    const char * reordered = " {\n\"aspect_ratios\": [1], \"anchor_sizes\": [[1],[2],[3],[4],[5]], \"std\": [1,1,1],"
                             " \"mean\": [0,0,0], \"input\": [64, 64], \"num_classes\": 1, \"fpn_channels\": 8,"
                             " \"ipg_channels\": [1,1,1,1], \"ipg_levels\": [5], \"width\": 0.125,"
                             " \"backbone\": \"resnet34\", \"arch\": \"retinanet\"}\n";
    rc = parse(reordered, &c, err, sizeof(err));
    check(rc == 0 && c.stage_channels[3] == 64 && c.ipg_levels[0] == 5, "reordered minimal config", err);
}

// A two-stage config: its own defaults, its own fields read and checked; the
// same fields are ignored for RetinaNet (like unknown keys).
static void test_fasterrcnn(void) {
    char err[512];
    ipg_config_t c;
    char * json =
        strdup("{\"arch\": \"fasterrcnn\", \"backbone\": \"resnet18\", \"width\": 0.5, \"ipg_levels\": [2, 3],"
               " \"ipg_channels\": [16, 32, 64, 128], \"fpn_channels\": 64, \"num_classes\": 3,"
               " \"input\": [352, 288], \"mean\": [0, 0, 0], \"std\": [1, 1, 1],"
               " \"anchor_sizes\": [[32], [64], [128], [256], [512]], \"aspect_ratios\": [0.5, 1, 2]}");
    int rc = parse(json, &c, err, sizeof(err));
    check(rc == 0 && c.arch == IPG_ARCH_FASTERRCNN, "fasterrcnn config parses", err);
    free(json);
    if (rc != 0) {
        return;
    }
    check(c.detections_per_img == 100 && c.box_weights[0] == 10.0f && c.box_weights[1] == 10.0f &&
              c.box_weights[2] == 5.0f && c.box_weights[3] == 5.0f,
          "fasterrcnn defaults: 100 detections, weights 10,10,5,5", NULL);
    check(c.rpn_pre_nms_top_n == 1000 && c.rpn_post_nms_top_n == 1000 && c.rpn_nms_thresh == 0.7f &&
              c.rpn_score_thresh == 0.0f && c.roi_output_size == 7 && c.roi_sampling_ratio == 2 &&
              c.representation_size == 1024,
          "torchvision's test-time RPN and box-head defaults", NULL);
    json = config_with2("arch", "\"fasterrcnn\"", "rpn_pre_nms_top_n", "300");
    rc = parse(json, &c, err, sizeof(err));
    check(rc == 0 && c.rpn_pre_nms_top_n == 300, "rpn_pre_nms_top_n given", err);
    free(json);
    json = config_with("rpn_pre_nms_top_n", "0");
    rc = parse(json, &c, err, sizeof(err));
    check(rc == 0 && c.arch == IPG_ARCH_RETINANET, "two-stage fields are ignored for retinanet", err);
    free(json);
    static const struct {
        const char *key, *value, *expect;
    } bad[] = {
        { "rpn_pre_nms_top_n", "0", "'rpn_pre_nms_top_n' must be in [1, 10000], got 0" },
        { "rpn_post_nms_top_n", "10001", "'rpn_post_nms_top_n' must be in [1, 10000], got 10001" },
        { "rpn_nms_thresh", "1.5", "'rpn_nms_thresh' must be in [0, 1], got 1.5" },
        { "rpn_score_thresh", "-1", "'rpn_score_thresh' must be in [0, 1], got -1" },
        { "roi_output_size", "0", "'roi_output_size' must be in [1, 64], got 0" },
        { "roi_sampling_ratio", "0", "'roi_sampling_ratio' must be in [1, 64], got 0" },
        { "representation_size", "2.5", "'representation_size' must be an integer, got 2.5" },
        { "anchor_sizes", "[[32], [64]]", "'anchor_sizes' has 2 levels but Faster R-CNN needs 5 (P2..P6)" },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json = config_with2("arch", "\"fasterrcnn\"", bad[i].key, bad[i].value);
        err[0] = '\0';
        rc = parse(json, &c, err, sizeof(err));
        char what[160];
        snprintf(what, sizeof what, "fasterrcnn %s = %s refused", bad[i].key, bad[i].value);
        check(rc != 0 && strstr(err, bad[i].expect) != NULL, what, err);
        free(json);
    }
}

// Each bad field, with the substring its message must contain.
static void test_bad(void) {
    static const struct {
        const char * key;     // NULL: the whole document is `value`
        const char * value;   // NULL: key removed
        const char * expect;
    } cases[] = {
        { NULL, "", "JSON error at byte 0" },
        { NULL, "{\"arch\": ", "JSON error at byte 9" },
        { NULL, "[1, 2]", "the config must be a JSON object, got [1, 2]" },
        { NULL, "\"retinanet\"", "the config must be a JSON object" },
        { NULL, "{\"arch\": \"retinanet\", \"arch\": \"x\"}", "duplicate key 'arch'" },
        { "arch", "5", "'arch' must be a string, got 5" },
        { "arch", "\"yolo\"", "'arch' \"yolo\" is unknown (expected \"retinanet\" or \"fasterrcnn\")" },
        { "arch", "\"RetinaNet\"", "'arch' \"RetinaNet\" is unknown" },
        { "backbone", "\"resnet152\"", "'backbone' must be one of" },
        { "backbone", "18",
          "'backbone' must be one of \"resnet18\", \"resnet34\", \"resnet50\", \"resnet101\", got 18" },
        { "width", "0", "'width' must be in (0, 4], got 0" },
        { "width", "-1", "'width' must be in (0, 4], got -1" },
        { "width", "4.5", "'width' must be in (0, 4], got 4.5" },
        { "width", "\"1\"", "'width' must be a number, got \"1\"" },
        { "width", "null", "'width' must be a number, got null" },
        { "width", "0.001", "'width' 0.001 leaves stage 2 (layer1) with 0 channels" },
        { "ipg_levels", "[3, 2]", "'ipg_levels' [3, 2] must be strictly increasing" },
        { "ipg_levels", "[2, 2]", "'ipg_levels' [2, 2] must be strictly increasing" },
        { "ipg_levels", "[1]", "'ipg_levels[0]' must be in [2, 5], got 1" },
        { "ipg_levels", "[2, 6]", "'ipg_levels[1]' must be in [2, 5], got 6" },
        { "ipg_levels", "[2.5]", "'ipg_levels[0]' must be an integer, got 2.5" },
        { "ipg_levels", "[2, 3, 4, 5, 5]", "'ipg_levels' must have 0 to 4 entries, got 5" },
        { "ipg_levels", "\"2,3\"", "'ipg_levels' must be an array, got \"2,3\"" },
        { "ipg_channels", "[16, 32, 64]", "'ipg_channels' must have 4 entries, got 3" },
        { "ipg_channels", "[16, 32, 0, 128]", "'ipg_channels[2]' must be in [1, 65536], got 0" },
        { "ipg_channels", "[16, 32, 64, 1e9]", "'ipg_channels[3]' must be in [1, 65536], got 1000000000" },
        { "fpn_channels", "0", "'fpn_channels' must be in [1, 4096], got 0" },
        { "fpn_channels", "5000", "'fpn_channels' must be in [1, 4096], got 5000" },
        { "fpn_channels", "\"64\"", "'fpn_channels' must be an integer, got \"64\"" },
        { "num_classes", "0", "'num_classes' must be in [1, 4096], got 0" },
        { "num_classes", "4097", "'num_classes' must be in [1, 4096], got 4097" },
        { "num_classes", "true", "'num_classes' must be an integer, got true" },
        { "num_classes", "1e300", "'num_classes' must be in [1, 4096], got 1e+300" },
        { "input", "[350, 288]", "'input' [350, 288]: the width 350 is not a multiple of 32" },
        { "input", "[352, 300]", "'input' [352, 300]: the height 300 is not a multiple of 32" },
        { "input", "[0, 288]", "'input[0]' must be in [32, 8192], got 0" },
        { "input", "[352, 8224]", "'input[1]' must be in [32, 8192], got 8224" },
        { "input", "[352]", "'input' must have 2 entries, got 1" },
        { "input", "{\"w\": 352}", "'input' must be an array, got {\"w\": 352}" },
        { "mean", "[0.5, 0.5]", "'mean' must have 3 entries, got 2" },
        { "mean", "[0.5, \"a\", 0.5]", "'mean[1]' must be a number, got \"a\"" },
        { "std", "[0.2, 0, 0.2]", "'std[1]' must be in (0, 1e+06], got 0" },
        { "std", "[0.2, 0.2, -1]", "'std[2]' must be in (0, 1e+06], got -1" },
        { "std", "[1e-300, 1, 1]", "'std[0]' 1e-300 is zero as a float" },
        { "bn_eps", "0", "'bn_eps' must be in (0, 1], got 0" },
        { "bn_eps", "\"1e-5\"", "'bn_eps' must be a number" },
        { "anchor_sizes", "[[32], [64], [128], [256]]", "'anchor_sizes' has 4 levels but RetinaNet needs 5" },
        { "anchor_sizes", "[]", "'anchor_sizes' must have 1 to 8 entries, got 0" },
        { "anchor_sizes", "[[32, 40, 50], [64, 80, 101], [128, 161], [256, 322, 406], [512, 645, 812]]",
          "'anchor_sizes[2]' has 2 sizes but anchor_sizes[0] has 3" },
        { "anchor_sizes", "[[1,2,3,4,5,6,7,8,9], [1], [1], [1], [1]]",
          "'anchor_sizes[0]' must have 1 to 8 entries, got 9" },
        { "anchor_sizes", "[[32], [], [128], [256], [512]]", "'anchor_sizes[1]' must have 1 to 8 entries, got 0" },
        { "anchor_sizes", "[[32], [-64], [128], [256], [512]]",
          "'anchor_sizes[1][0]' must be in (0, 100000], got -64" },
        { "anchor_sizes", "[32, 64, 128, 256, 512]", "'anchor_sizes[0]' must be an array, got 32" },
        { "aspect_ratios", "[]", "'aspect_ratios' must have 1 to 8 entries, got 0" },
        { "aspect_ratios", "[0.5, 0, 2]", "'aspect_ratios[1]' must be in (0, 1000], got 0" },
        { "aspect_ratios", "[1e-60]", "'aspect_ratios[0]' 1e-60 is zero as a float" },
        { "anchor_sizes", "[[32], [64], [1e-50], [256], [512]]", "'anchor_sizes[2][0]' 1e-50 is zero as a float" },
        { "box_weights", "[1, 1e-46, 1, 1]", "'box_weights[1]' 1e-46 is zero as a float" },
        { "aspect_ratios", "0.5", "'aspect_ratios' must be an array, got 0.5" },
        { "score_thresh", "1.5", "'score_thresh' must be in [0, 1], got 1.5" },
        { "score_thresh", "-0.1", "'score_thresh' must be in [0, 1], got -0.1" },
        { "nms_thresh", "2", "'nms_thresh' must be in [0, 1], got 2" },
        { "detections_per_img", "0", "'detections_per_img' must be in [1, 100000], got 0" },
        { "detections_per_img", "300.5", "'detections_per_img' must be an integer, got 300.5" },
        { "topk_candidates", "100001", "'topk_candidates' must be in [1, 100000], got 100001" },
        { "box_weights", "[1, 1, 1]", "'box_weights' must have 4 entries, got 3" },
        { "box_weights", "[1, 1, 0, 1]", "'box_weights[2]' must be in (0, 1e+06], got 0" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char err[512] = "";
        char what[160];
        ipg_config_t c;
        memset(&c, 0x5a, sizeof(c));
        char * json = cases[i].key ? config_with(cases[i].key, cases[i].value) : NULL;
        const char * text = json ? json : cases[i].value;
        int rc = parse(text, &c, err, sizeof(err));
        snprintf(what, sizeof(what), "bad %s = %s refused", cases[i].key ? cases[i].key : "document",
                 cases[i].value ? cases[i].value : "(absent)");
        bool ok = rc != 0 && strstr(err, cases[i].expect) != NULL && err[0] != '\0' &&
                  c.num_classes == 0;   // *cfg is zeroed, not half-filled
        check(ok, what, err);
        if (!ok) {
            printf("     expected: %s\n", cases[i].expect);
        }
        free(json);
    }
    // Every required key, removed.
    for (size_t i = 0; i < sizeof(required_keys) / sizeof(required_keys[0]); i++) {
        char err[512] = "", what[96], expect[96];
        ipg_config_t c;
        char * json = config_with(required_keys[i], NULL);
        int rc = parse(json, &c, err, sizeof(err));
        snprintf(what, sizeof(what), "missing '%s' refused", required_keys[i]);
        snprintf(expect, sizeof(expect), "missing required field '%s'", required_keys[i]);
        check(rc != 0 && strcmp(err, expect) == 0, what, err);
        free(json);
    }
    char err[64];
    ipg_config_t c;
    check(ipg_config_parse(NULL, 5, &c, err, sizeof(err)) != 0, "NULL text refused", err);
    check(ipg_config_parse("{}", 2, NULL, err, sizeof(err)) != 0, "NULL cfg refused", err);
    check(ipg_config_parse("{}", 2, &c, NULL, 0) != 0, "no error buffer is fine", NULL);
    char tiny[12];
    check(ipg_config_parse("{}", 2, &c, tiny, sizeof(tiny)) != 0 && strlen(tiny) == sizeof(tiny) - 1,
          "message truncated to a tiny buffer", tiny);
}

static void test_labels(void) {
    char err[512];
    char ** labels = NULL;
    int32_t n = ipg_labels_parse(ST_GOOD_LABELS, strlen(ST_GOOD_LABELS), &labels, err, sizeof(err));
    check(n == 3 && labels != NULL, "good labels parse: 3", err);
    if (n == 3) {
        check(strcmp(labels[0], "person") == 0 && strcmp(labels[1], "bicycle") == 0 &&
                  strcmp(labels[2], "caf\xc3\xa9") == 0 && labels[3] == NULL,
              "labels decoded (\\u00e9 -> UTF-8), NULL-terminated", NULL);
    }
    free(labels);   // one block

    // 255 bytes is the longest label; 4096 the most labels.
    char * s = malloc(8 + 300 * 6 * 4097);
    size_t o = 0;
    s[o++] = '[';
    s[o++] = '"';
    memset(s + o, 'x', 255);
    o += 255;
    s[o++] = '"';
    s[o++] = ']';
    n = ipg_labels_parse(s, o, &labels, err, sizeof(err));
    check(n == 1 && strlen(labels[0]) == 255, "255-byte label accepted", err);
    free(labels);
    s[1 + 1 + 255] = 'x';
    s[1 + 1 + 256] = '"';
    s[1 + 1 + 257] = ']';
    n = ipg_labels_parse(s, o + 1, &labels, err, sizeof(err));
    check(n == -1 && labels == NULL && strstr(err, "label 0 ") && strstr(err, "is longer than 255 bytes"),
          "256-byte label refused", err);

    for (int count = 4096; count <= 4097; count++) {
        o = 0;
        s[o++] = '[';
        for (int i = 0; i < count; i++) {
            o += (size_t) sprintf(s + o, "%s\"c%d\"", i ? "," : "", i);
        }
        s[o++] = ']';
        n = ipg_labels_parse(s, o, &labels, err, sizeof(err));
        if (count == 4096) {
            check(n == 4096 && strcmp(labels[4095], "c4095") == 0 && labels[4096] == NULL, "4096 labels accepted", err);
            free(labels);
        } else {
            check(n == -1 && strstr(err, "4097 labels, expected 1 to 4096"), "4097 labels refused", err);
        }
    }
    free(s);

    static const struct {
        const char * json;
        const char * expect;
    } bad[] = {
        { "[]", "0 labels, expected 1 to 4096" },
        { "[1]", "label 0 1 is not a string" },
        { "[\"a\", null]", "label 1 null is not a string" },
        { "[\"a\", \"\"]", "label 1 \"\" is empty" },
        { "[\"a\\u0000b\"]", "label 0 \"a\\u0000b\" contains a NUL character" },
        { "{\"a\": 1}", "the labels must be a JSON array of strings, got {\"a\": 1}" },
        { "\"person\"", "the labels must be a JSON array of strings" },
        { "[\"a\",]", "JSON error at byte 5: trailing comma" },
        { "[\"\xff\"]", "JSON error at byte 2: invalid UTF-8" },
        { "", "JSON error at byte 0" },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char what[96];
        labels = (char **) &n;   // must be reset to NULL
        n = ipg_labels_parse(bad[i].json, strlen(bad[i].json), &labels, err, sizeof(err));
        snprintf(what, sizeof(what), "bad labels #%zu refused", i);
        bool ok = n == -1 && labels == NULL && strstr(err, bad[i].expect) != NULL;
        check(ok, what, err);
        if (!ok) {
            printf("     expected: %s\n", bad[i].expect);
        }
    }
    check(ipg_labels_parse("[\"a\"]", 5, NULL, err, sizeof(err)) == -1, "NULL labels pointer refused", err);
    check(ipg_labels_parse("[1]", 3, &labels, NULL, 0) == -1, "no error buffer is fine", NULL);
}

// The input-size rule that the config, the context and the tools share.
static void test_input_size(void) {
    static const struct {
        int32_t w, h;
        bool ok;
    } cases[] = {
        { 32, 32, true },    { 8192, 8192, true }, { 640, 384, true }, { 0, 32, false },
        { 32, 0, false },    { 16, 32, false },    { 100, 96, false }, { 96, 100, false },
        { 8224, 32, false }, { 32, 8224, false },  { -32, 32, false }, { INT32_MAX, 32, false },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char err[128] = "";
        char what[96];
        snprintf(what, sizeof(what), "input size %dx%d %s", (int) cases[i].w, (int) cases[i].h,
                 cases[i].ok ? "accepted" : "refused");
        ipg_status_t st = ipg_check_input_size(cases[i].w, cases[i].h, err, sizeof(err));
        check(cases[i].ok ? st == IPG_OK && err[0] == '\0' : st == IPG_ERR_INVALID_ARG, what, err);
    }
    char err[128] = "";
    ipg_check_input_size(100, 96, err, sizeof(err));
    check(strcmp(err, "input size 100x96: both sides must be multiples of 32 in 32..8192") == 0,
          "input size message names the size and the rule", err);
    check(ipg_check_input_size(100, 96, NULL, 0) == IPG_ERR_INVALID_ARG, "no error buffer is fine", NULL);
}

int main(void) {
    test_good();
    test_backbones();
    test_variants();
    test_bad();
    test_fasterrcnn();
    test_labels();
    test_input_size();
    return check_summary();
}
