// SPDX-License-Identifier: LGPL-2.1-or-later
// bench-small: device time of the demo model's small kernels on their demo
// sizes -- the letterbox (an RGB frame to a 512 x 512 input), the stem's 3x3/2
// max pool (32 x 256 x 256) and the image pyramid (3 x 512 x 512 halved four
// times) -- alternating over rounds so that a shared machine's load falls on
// all of them. A benchmark, not a test: it prints the best milliseconds per
// launch of each.
//   bench-small [ROUNDS] [FRAME_W FRAME_H]   (default 20, 512 512)
#include "error.h"
#include "ops.h"
#include "preprocess.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { LETTERBOX, MAXPOOL, PYRAMID, N_CASES };
static const char * const NAMES[N_CASES] = { "letterbox", "maxpool3x3s2", "pyramid" };

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static ipg_status_t plan_case(ipg_plan_t * p, int which, int frame_w, int frame_h) {
    ipg_tensor_t in = { 0 }, out[4] = { { 0 } };
    if (which == LETTERBOX) {
        const int32_t W = 512, H = 512;
        const ipg_letterbox_t lb = { .frame_w = frame_w, .frame_h = frame_h, .format = IPG_PIXEL_RGB };
        const size_t bytes = ipg_frame_bytes(frame_w, frame_h, IPG_PIXEL_RGB);
        unsigned char * frame = malloc(bytes);
        if (!frame) return IPG_ERR_NO_MEMORY;
        for (size_t i = 0; i < bytes; i++) frame[i] = (unsigned char) (i * 7919 >> 3);
        cl_mem frame_buf = ipg_plan_buffer(p, bytes, frame);
        free(frame);
        cl_mem images = ipg_plan_buffer(p, (size_t) 3 * W * H * sizeof(float), NULL);
        if (!frame_buf || !images) return IPG_ERR_NO_MEMORY;
        ipg_config_t cfg = { .mean = { 0.485f, 0.456f, 0.406f }, .std = { 0.229f, 0.224f, 0.225f } };
        const ipg_view_t v = ipg_view_make(-1, 0, 0, frame_w, frame_h, W, H);
        return ipg_preprocess_plan(p, &lb, &cfg, frame_buf, &v, 1, images, 0, W, H);
    }
    if (which == MAXPOOL) {
        ipg_status_t st = ipg_plan_tensor(p, &in, 32, 256, 256);
        return st == IPG_OK ? ipg_op_maxpool3x3s2(p, &in, &out[0]) : st;
    }
    ipg_status_t st = ipg_plan_tensor(p, &in, 3, 512, 512);
    for (int i = 0; i < 4 && st == IPG_OK; i++) st = ipg_op_downsample2x(p, i ? &out[i - 1] : &in, &out[i]);
    return st;
}

int main(int argc, char ** argv) {
    const int rounds = argc > 1 ? atoi(argv[1]) : 20;
    const int frame_w = argc > 3 ? atoi(argv[2]) : 512, frame_h = argc > 3 ? atoi(argv[3]) : 512;
    if (rounds < 1 || frame_w < 1 || frame_h < 1) {
        fprintf(stderr, "usage: bench-small [ROUNDS] [FRAME_W FRAME_H]\n");
        return 2;
    }
    char err[IPG_ERR_LEN];
    ipg_cl_t cl;
    if (ipg_cl_init(&cl, getenv("IPG_TEST_DEVICE"), false, err, sizeof err) != IPG_OK) {
        fprintf(stderr, "bench-small: %s\n", err);
        return 1;
    }
    ipg_plan_t plans[N_CASES];
    for (int k = 0; k < N_CASES; k++) {
        ipg_plan_t * p = &plans[k];
        memset(p, 0, sizeof *p);
        p->cl = &cl;
        p->err = err;
        p->err_size = sizeof err;
        p->batch = 1;
        ipg_status_t st = plan_case(p, k, frame_w, frame_h);
        if (st == IPG_OK) st = ipg_plan_finalize(p);
        if (st == IPG_OK) st = ipg_plan_run(p);   // warm: kernels compiled, pages touched
        if (st != IPG_OK) {
            fprintf(stderr, "bench-small: %s: %s\n", NAMES[k], err);
            return 1;
        }
    }
    double best[N_CASES];
    for (int k = 0; k < N_CASES; k++) best[k] = 1e30;
    for (int r = 0; r < rounds; r++)
        for (int k = 0; k < N_CASES; k++) {
            const double t0 = now_ms();
            for (int i = 0; i < 5; i++) ipg_plan_enqueue_range(&plans[k], 0, plans[k].n_steps, NULL, NULL, NULL);
            clFinish(cl.queue);
            const double dt = (now_ms() - t0) / 5;
            if (dt < best[k]) best[k] = dt;
        }
    printf("best of %d rounds (x5 launches), ms per run, frame %dx%d:", rounds, frame_w, frame_h);
    for (int k = 0; k < N_CASES; k++) printf("  %s %.3f", NAMES[k], best[k]);
    printf("\n");
    for (int k = 0; k < N_CASES; k++) ipg_plan_free(&plans[k]);
    ipg_cl_free(&cl);
    return 0;
}
