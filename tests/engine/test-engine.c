// SPDX-License-Identifier: LGPL-2.1-or-later
// test-engine.c: contexts sharing one engine, and frames of several streams
// run as one batch (ipg_ctx_run_batch). Two contexts on one engine borrow
// its weights and program (their own OpenCL objects are only their queue,
// kernels and buffers) and give a private context's detections, also when
// they run at the same time on two threads; a batch of K frames (odd K,
// odd frame sizes, packed and planar) gives each frame's single-frame
// detections, for a full and a partial batch and in any order; batching
// with tiling, too many frames and out-of-range sizes are refused.
// Usage: test-engine MODEL [--sequential] (--sequential: the two contexts'
// runs one after the other, for oclgrind, which cannot run kernels of two
// threads at once).
#include "ipg.h"
#include "cl-runtime.h"   // ipg_ctx_cl_objects_created
#include "engine.h"       // ipg_ctx_engine, ipg_engine_cl_objects_created, ipg_engine_weights

#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine-check.h"

#define MAXD 300
#define MAXK 5

typedef struct {
    ipg_detection_t d[MAXD];
    int32_t n;
} result_t;

// Detections equal to 1e-4 relative (the batch kernels may order float
// sums differently on other drivers; here they are equal bit for bit).
static bool close_results(const result_t * a, const result_t * b, char * why, size_t size) {
    if (a->n != b->n) {
        snprintf(why, size, "%d vs %d detections", a->n, b->n);
        return false;
    }
    for (int32_t i = 0; i < a->n; i++) {
        const ipg_detection_t *x = &a->d[i], *y = &b->d[i];
        const float v[5][2] = {
            { x->x1, y->x1 }, { x->y1, y->y1 }, { x->x2, y->x2 }, { x->y2, y->y2 }, { x->score, y->score }
        };
        for (int k = 0; k < 5; k++)
            if (fabsf(v[k][0] - v[k][1]) > 1e-4f * fmaxf(1.0f, fabsf(v[k][1]))) {
                snprintf(why, size, "detection %d field %d: %g vs %g", i, k, v[k][0], v[k][1]);
                return false;
            }
        if (x->label != y->label || x->tile != y->tile) {
            snprintf(why, size, "detection %d: label %d vs %d", i, x->label, y->label);
            return false;
        }
    }
    return true;
}

// A frame of random pixels: packed RGB (one plane, padded stride) or I420.
typedef struct {
    uint8_t * planes[3];
    ipg_frame_t frame;
} test_frame_t;

static void make_frame(test_frame_t * f, int w, int h, ipg_pixel_format_t format, unsigned seed) {
    memset(f, 0, sizeof *f);
    srand(seed);
    if (format == IPG_PIXEL_I420) {
        const int cw = (w + 1) / 2, ch = (h + 1) / 2;
        const int sizes[3][2] = { { w + 3, h }, { cw + 1, ch }, { cw + 1, ch } };
        for (int p = 0; p < 3; p++) {
            f->planes[p] = malloc((size_t) sizes[p][0] * sizes[p][1]);
            for (int i = 0; i < sizes[p][0] * sizes[p][1]; i++) f->planes[p][i] = (uint8_t) (rand() & 255);
            f->frame.planes[p] = f->planes[p];
            f->frame.strides[p] = sizes[p][0];
        }
    } else {
        const int stride = w * 3 + 5;
        f->planes[0] = malloc((size_t) stride * h);
        // Smooth blobs over noise: a random network finds boxes either way,
        // but blobs give it structure to score.
        for (int y = 0; y < h; y++)
            for (int x = 0; x < stride; x++)
                f->planes[0][y * stride + x] = (uint8_t) ((rand() & 63) + ((x / 17 + y / 13 + (int) seed) % 3) * 64);
        f->frame.data = f->planes[0];
        f->frame.stride = stride;
    }
}

static void free_frame(test_frame_t * f) {
    for (int p = 0; p < 3; p++) free(f->planes[p]);
}

// Each frame alone on a batch-1 context.
static void run_singles(ipg_ctx_t * ctx, test_frame_t * frames, int k, result_t * out) {
    for (int i = 0; i < k; i++) {
        ipg_status_t st = ipg_ctx_run(ctx, &frames[i].frame, out[i].d, MAXD, &out[i].n);
        CHECK(st == IPG_OK, "single run %d: %s", i, ipg_ctx_last_error(ctx));
    }
}

static void run_batch(ipg_ctx_t * ctx, test_frame_t * frames, const int * order, int k, result_t * out) {
    ipg_batch_item_t items[MAXK];
    for (int i = 0; i < k; i++)
        items[i] = (ipg_batch_item_t){ .frame = &frames[order[i]].frame, .dets = out[i].d, .max_dets = MAXD };
    ipg_status_t st = ipg_ctx_run_batch(ctx, items, k);
    CHECK(st == IPG_OK, "batch of %d: %s", k, ipg_ctx_last_error(ctx));
    for (int i = 0; i < k; i++) out[i].n = st == IPG_OK ? items[i].n_dets : -1;
}

// A batch of K (odd) frames = the K single runs; a partial batch and a
// reordered one too. Returns the number of detections seen (the test must
// not pass on empty results).
static int check_batch_parity(ipg_engine_t * engine, int w, int h, ipg_pixel_format_t format, int k) {
    ipg_ctx_params_t p = ipg_ctx_params_default();
    ipg_ctx_t *single = NULL, *batch = NULL;
    char err[1024];
    ipg_status_t st = ipg_ctx_init_shared(engine, &p, &single, err, sizeof err);
    CHECK(st == IPG_OK, "single ctx: %s", err);
    p.batch_frames = k;
    if (st == IPG_OK) st = ipg_ctx_init_shared(engine, &p, &batch, err, sizeof err);
    CHECK(st == IPG_OK, "batch ctx: %s", err);
    if (st != IPG_OK) {
        ipg_ctx_free(single);
        return 0;
    }
    CHECK(ipg_ctx_batch_frames(batch) == k, "batch_frames %d", ipg_ctx_batch_frames(batch));
    CHECK(ipg_ctx_prepare(single, w, h, format) == IPG_OK, "prepare single: %s", ipg_ctx_last_error(single));
    CHECK(ipg_ctx_prepare(batch, w, h, format) == IPG_OK, "prepare batch: %s", ipg_ctx_last_error(batch));
    CHECK(ipg_ctx_images_per_frame(batch) == 1, "images per frame %d", ipg_ctx_images_per_frame(batch));
    // A batch of K holds K frames' tensors (the weights are the engine's).
    // Faster R-CNN runs one image at a time: its batch adds only K frames and
    // letterboxed images, well under K times a single frame's memory (whose
    // tensors share buffers, plan-memory.c).
    const bool two_stage = strncmp(ipg_model_description(ipg_engine_model(engine)), "fasterrcnn", 10) == 0;
    const double bytes_ratio = (double) ipg_ctx_device_bytes(batch) / (double) ipg_ctx_device_bytes(single);
    printf("device bytes: single %llu, batch of %d %llu (x%.2f), engine %llu\n",
           (unsigned long long) ipg_ctx_device_bytes(single), k, (unsigned long long) ipg_ctx_device_bytes(batch),
           bytes_ratio, (unsigned long long) ipg_engine_device_bytes(engine));
    CHECK(ipg_ctx_device_bytes(single) > 0 && (two_stage ? bytes_ratio > 1.0 && bytes_ratio < 0.75 * k
                                                         : bytes_ratio > 0.9 * k && bytes_ratio < 1.1 * k),
          "a batch of %d holds %.2f x a single frame's device memory", k, bytes_ratio);
    const double g1 = ipg_ctx_gflop(single), gk = ipg_ctx_gflop(batch);
    CHECK(fabs(g1 - gk) <= 1e-9 * g1, "GFLOP per frame: single %g, batch %g", g1, gk);

    test_frame_t frames[MAXK];
    for (int i = 0; i < k; i++) make_frame(&frames[i], w, h, format, 100u + (unsigned) i * 7u + (unsigned) w);
    result_t want[MAXK], got[MAXK];
    run_singles(single, frames, k, want);
    int seen = 0;
    for (int i = 0; i < k; i++) seen += want[i].n;
    const uint64_t objects = ipg_ctx_cl_objects_created(batch);
    char why[256];

    int order[MAXK];
    for (int i = 0; i < k; i++) order[i] = i;
    run_batch(batch, frames, order, k, got);
    for (int i = 0; i < k; i++)
        CHECK(close_results(&got[i], &want[i], why, sizeof why), "%dx%d fmt %d: batch of %d, frame %d: %s", w, h,
              (int) format, k, i, why);
    // Reversed: each item still gets its own frame's detections.
    for (int i = 0; i < k; i++) order[i] = k - 1 - i;
    run_batch(batch, frames, order, k, got);
    for (int i = 0; i < k; i++)
        CHECK(close_results(&got[i], &want[order[i]], why, sizeof why), "reversed batch, item %d: %s", i, why);
    // A partial batch (a stream left): the images past it are not read back
    // nor computed (RetinaNet: the launches cover 2 of the k images; Faster
    // R-CNN runs its frames in turn anyway).
    const uint64_t items0 = ipg_ctx_work_items_launched(batch);
    run_batch(batch, frames, order, k, got);
    const uint64_t full_items = ipg_ctx_work_items_launched(batch) - items0;
    run_batch(batch, frames, (int[]){ 1, 0 }, 2, got);
    const uint64_t partial_items = ipg_ctx_work_items_launched(batch) - items0 - full_items;
    const double share = (double) partial_items / (double) full_items;
    printf("partial batch of 2 of %d: %.3f of the full batch's work-items\n", k, share);
    // IPG_FORCE_LWS rounds every grid up to its local size: then only less.
    const bool forced = getenv("IPG_FORCE_LWS") != NULL;
    CHECK(forced ? share > 0.0 && share < 1.0 : share > 0.9 * 2.0 / k && share < 1.1 * 2.0 / k,
          "a partial batch of 2 of %d launched %.3f of the work", k, share);
    CHECK(close_results(&got[0], &want[1], why, sizeof why), "partial batch, item 0: %s", why);
    CHECK(close_results(&got[1], &want[0], why, sizeof why), "partial batch, item 1: %s", why);
    // ipg_ctx_run on a batch context is a batch of one.
    result_t one;
    CHECK(ipg_ctx_run(batch, &frames[k - 1].frame, one.d, MAXD, &one.n) == IPG_OK, "run on a batch ctx: %s",
          ipg_ctx_last_error(batch));
    CHECK(close_results(&one, &want[k - 1], why, sizeof why), "ipg_ctx_run on a batch ctx: %s", why);
    CHECK(ipg_ctx_cl_objects_created(batch) == objects, "batch runs created %llu OpenCL objects",
          (unsigned long long) (ipg_ctx_cl_objects_created(batch) - objects));

    // More frames than the batch holds, and a frame missing.
    ipg_batch_item_t items[MAXK + 1];
    for (int i = 0; i <= k; i++)
        items[i] = (ipg_batch_item_t){ .frame = &frames[0].frame, .dets = got[0].d, .max_dets = MAXD };
    st = ipg_ctx_run_batch(batch, items, k + 1);
    CHECK(st == IPG_ERR_INVALID_ARG && strstr(ipg_ctx_last_error(batch), "batch_frames"), "%d frames: %s: %s", k + 1,
          ipg_status_name(st), ipg_ctx_last_error(batch));
    items[1].frame = NULL;
    CHECK(ipg_ctx_run_batch(batch, items, 2) == IPG_ERR_INVALID_ARG, "an item without a frame is refused");
    CHECK(ipg_ctx_run_batch(batch, items, 0) == IPG_ERR_INVALID_ARG, "an empty batch is refused");

    for (int i = 0; i < k; i++) free_frame(&frames[i]);
    ipg_ctx_free(single);
    ipg_ctx_free(batch);
    return seen;
}

typedef struct {
    ipg_ctx_t * ctx;
    test_frame_t * frames;
    int n_frames;
    result_t * out;
    ipg_status_t st;
} thread_job_t;

static void * run_thread(void * arg) {
    thread_job_t * j = arg;
    j->st = IPG_OK;
    for (int i = 0; i < j->n_frames && j->st == IPG_OK; i++)
        j->st = ipg_ctx_run(j->ctx, &j->frames[i].frame, j->out[i].d, MAXD, &j->out[i].n);
    return NULL;
}

// Two contexts on one engine: nothing of the engine's made twice, the same
// weights, a private context's results, and the same on two threads at once.
static void check_shared(const ipg_model_t * model, ipg_engine_t * engine, bool sequential) {
    char err[1024];
    ipg_ctx_params_t p = ipg_ctx_params_default();
    p.device = "no-such-device";   // ignored: the engine's device
    ipg_ctx_t *a = NULL, *b = NULL, *priv = NULL;
    CHECK(ipg_ctx_init_shared(engine, &p, &a, err, sizeof err) == IPG_OK, "shared ctx a: %s", err);
    CHECK(ipg_ctx_init_shared(engine, &p, &b, err, sizeof err) == IPG_OK, "shared ctx b: %s", err);
    p.device = NULL;
    CHECK(ipg_ctx_init(model, &p, &priv, err, sizeof err) == IPG_OK, "private ctx: %s", err);
    if (!a || !b || !priv) goto done;
    CHECK(ipg_ctx_engine(a) == engine && ipg_ctx_engine(b) == engine, "both contexts borrow the engine");
    CHECK(ipg_ctx_engine(priv) != engine, "a private context has its own engine");
    CHECK(strcmp(ipg_ctx_device_name(a), ipg_engine_device_name(engine)) == 0, "device %s", ipg_ctx_device_name(a));
    // The engine built the program and uploaded the weights; a borrowing
    // context made none of those (a private one counts them in its engine).
    const uint64_t engine_objects = ipg_engine_cl_objects_created(engine);
    CHECK(engine_objects > 1, "the engine made %llu objects", (unsigned long long) engine_objects);
    CHECK(ipg_ctx_cl_objects_created(a) == 0 && ipg_ctx_cl_objects_created(b) == 0,
          "shared contexts made %llu and %llu OpenCL objects at init",
          (unsigned long long) ipg_ctx_cl_objects_created(a), (unsigned long long) ipg_ctx_cl_objects_created(b));
    CHECK(ipg_engine_cl_objects_created(ipg_ctx_engine(priv)) == engine_objects,
          "a private engine makes the same %llu objects", (unsigned long long) engine_objects);
    CHECK(ipg_engine_device_bytes(engine) > 0 &&
              ipg_engine_device_bytes(engine) == ipg_engine_device_bytes(ipg_ctx_engine(priv)),
          "weights: %llu bytes", (unsigned long long) ipg_engine_device_bytes(engine));
    CHECK(ipg_ctx_device_bytes(a) == 0, "nothing allocated before prepare");
    const ipg_weights_dev_t * wd = ipg_engine_weights(engine);
    CHECK(wd->convs && wd->convs[0].w_packed != NULL, "weights uploaded");

    enum { W = 131, H = 77, N = 3 };
    test_frame_t frames[N];
    for (int i = 0; i < N; i++) make_frame(&frames[i], W, H, IPG_PIXEL_RGB, 7u + (unsigned) i);
    result_t want[N], ra[N], rb[N];
    CHECK(ipg_ctx_prepare(priv, W, H, IPG_PIXEL_RGB) == IPG_OK, "prepare: %s", ipg_ctx_last_error(priv));
    CHECK(ipg_ctx_prepare(a, W, H, IPG_PIXEL_RGB) == IPG_OK, "prepare: %s", ipg_ctx_last_error(a));
    CHECK(ipg_ctx_prepare(b, W, H, IPG_PIXEL_RGB) == IPG_OK, "prepare: %s", ipg_ctx_last_error(b));
    run_singles(priv, frames, N, want);
    int seen = 0;
    for (int i = 0; i < N; i++) seen += want[i].n;
    CHECK(seen > 0, "the frames give detections (else parity proves nothing)");
    // Two threads, one context each, at the same time.
    thread_job_t ja = { a, frames, N, ra, IPG_OK }, jb = { b, frames, N, rb, IPG_OK };
    pthread_t ta, tb;
    for (int round = 0; round < 3; round++) {
        if (sequential) {
            run_thread(&ja);
            run_thread(&jb);
        } else {
            CHECK(pthread_create(&ta, NULL, run_thread, &ja) == 0, "thread a");
            CHECK(pthread_create(&tb, NULL, run_thread, &jb) == 0, "thread b");
            pthread_join(ta, NULL);
            pthread_join(tb, NULL);
        }
        CHECK(ja.st == IPG_OK && jb.st == IPG_OK, "threaded runs: %s / %s", ipg_ctx_last_error(a),
              ipg_ctx_last_error(b));
        char why[256];
        for (int i = 0; i < N; i++) {
            CHECK(close_results(&ra[i], &want[i], why, sizeof why), "thread a frame %d: %s", i, why);
            CHECK(close_results(&rb[i], &want[i], why, sizeof why), "thread b frame %d: %s", i, why);
        }
    }
    for (int i = 0; i < N; i++) free_frame(&frames[i]);
done:
    // Freed in any order: the engine lives while a context holds it.
    ipg_ctx_free(a);
    ipg_ctx_free(priv);
    ipg_ctx_free(b);
}

static void check_refused(const ipg_model_t * model, ipg_engine_t * engine) {
    char err[1024] = "";
    ipg_ctx_params_t p = ipg_ctx_params_default();
    ipg_ctx_t * ctx = NULL;
    p.batch_frames = 3;
    p.tiling.tile_width = p.tiling.tile_height = 64;
    ipg_status_t st = ipg_ctx_init_shared(engine, &p, &ctx, err, sizeof err);
    CHECK(st == IPG_ERR_INVALID_ARG && !ctx && strstr(err, "cannot be combined"), "batch + tiling: %s: %s",
          ipg_status_name(st), err);
    st = ipg_ctx_init(model, &p, &ctx, err, sizeof err);
    CHECK(st == IPG_ERR_INVALID_ARG && !ctx, "batch + tiling (private): %s", ipg_status_name(st));
    p = ipg_ctx_params_default();
    p.batch_frames = IPG_MAX_BATCH_FRAMES + 1;
    st = ipg_ctx_init_shared(engine, &p, &ctx, err, sizeof err);
    CHECK(st == IPG_ERR_INVALID_ARG && strstr(err, "batch_frames"), "batch_frames too big: %s", err);
    p.batch_frames = -1;
    CHECK(ipg_ctx_init_shared(engine, &p, &ctx, err, sizeof err) == IPG_ERR_INVALID_ARG, "negative batch_frames");
    CHECK(ipg_ctx_init_shared(NULL, &p, &ctx, err, sizeof err) == IPG_ERR_INVALID_ARG, "NULL engine");
    ipg_engine_t * e = NULL;
    st = ipg_engine_create(model, "no-such-device", NULL, &e, err, sizeof err);
    CHECK(st == IPG_ERR_NO_DEVICE && !e && strstr(err, "no-such-device"), "bad device: %s: %s", ipg_status_name(st),
          err);
    // Run before prepare.
    p = ipg_ctx_params_default();
    p.batch_frames = 2;
    CHECK(ipg_ctx_init_shared(engine, &p, &ctx, err, sizeof err) == IPG_OK, "batch ctx: %s", err);
    uint8_t px[3] = { 0 };
    ipg_frame_t f = { .data = px, .stride = 3 };
    ipg_detection_t d[1];
    ipg_batch_item_t item = { .frame = &f, .dets = d, .max_dets = 1 };
    CHECK(ipg_ctx_run_batch(ctx, &item, 1) == IPG_ERR_STATE, "run_batch before prepare");
    ipg_ctx_free(ctx);
}

int main(int argc, char ** argv) {
    const bool sequential = argc > 2 && strcmp(argv[2], "--sequential") == 0;
    if (argc < 2 || (argc > 2 && !sequential)) {
        fprintf(stderr, "usage: %s MODEL [--sequential]\n", argv[0]);
        return 2;
    }
    char err[1024];
    ipg_model_t * model = NULL;
    if (ipg_model_load_file(argv[1], &model, err, sizeof err) != IPG_OK) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    ipg_engine_t * engine = NULL;
    if (ipg_engine_create(model, NULL, NULL, &engine, err, sizeof err) != IPG_OK) {
        fprintf(stderr, "%s\n", err);
        ipg_model_free(model);
        return 1;
    }
    CHECK(ipg_engine_model(engine) == model, "engine model");
    check_shared(model, engine, sequential);
    check_refused(model, engine);
    int seen = check_batch_parity(engine, 97, 61, IPG_PIXEL_RGB, 3);
    seen += check_batch_parity(engine, 75, 53, IPG_PIXEL_I420, 3);
    seen += check_batch_parity(engine, 64, 64, IPG_PIXEL_RGB, 5);
    CHECK(seen > 0, "the batch frames give detections");
    // Our reference dropped; contexts made after still work until the last unref.
    ipg_engine_unref(engine);
    ipg_model_free(model);
    printf("%d passed, %d failed\n", g_passed, g_failed);
    return g_failed ? 1 : 0;
}
