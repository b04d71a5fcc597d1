// SPDX-License-Identifier: LGPL-2.1-or-later
// bench-conv: device time of one convolution's launches, each path in turn
// (direct: conv-direct.cl for 3x3/1, conv-direct-s2.cl for stride 2;
// Winograd, 3x3/1 only, and the direct kernel reading its weights U;
// im2col + GEMM), alternating over rounds so that a
// shared machine's load falls on all of them. A benchmark, not a test: it
// prints milliseconds per launch and per conv.
//   bench-conv CIN COUT H W [ROUNDS] [BATCH] [K STRIDE]   (default 3 1; pad K / 2)
#include "error.h"
#include "ops.h"
#include "winograd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

// The winograd paths: the plan's own choice, then each form forced.
static const char * const PATHS[] = { "direct", "winograd", "wg-fused", "wg-split", "im2col", "direct-u" };
#define N_PATHS 6

int main(int argc, char ** argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: bench-conv CIN COUT H W [ROUNDS] [BATCH]\n");
        return 2;
    }
    const int cin = atoi(argv[1]), cout = atoi(argv[2]), h = atoi(argv[3]), w = atoi(argv[4]);
    const int rounds = argc > 5 ? atoi(argv[5]) : 5, batch = argc > 6 ? atoi(argv[6]) : 1;
    const int ksize = argc > 8 ? atoi(argv[7]) : 3, stride = argc > 8 ? atoi(argv[8]) : 1;
    if (cin < 1 || cout < 1 || h < 1 || w < 1 || rounds < 1 || batch < 1 || ksize < 1 || ksize % 2 == 0 || stride < 1 ||
        stride > 2) {
        fprintf(stderr, "bench-conv: sizes, rounds, batch positive; K odd; stride 1 or 2\n");
        return 2;
    }
    const bool winograd = ksize == 3 && stride == 1;
    char err[IPG_ERR_LEN];
    ipg_cl_t cl;
    if (ipg_cl_init(&cl, getenv("IPG_TEST_DEVICE"), false, err, sizeof err) != IPG_OK) {
        fprintf(stderr, "bench-conv: %s\n", err);
        return 1;
    }
    ipg_conv_host_t cv = { .name = "bench", .cout = cout, .cin = cin, .kh = ksize, .kw = ksize, .stride = stride, .pad = ksize / 2 };
    cv.w = calloc((size_t) cout * cin * ksize * ksize, sizeof(float));
    cv.b = calloc((size_t) cout, sizeof(float));
    for (size_t i = 0; i < (size_t) cout * cin * ksize * ksize; i++) cv.w[i] = (float) ((i * 7919) % 1000) / 1000.0f - 0.5f;
    ipg_conv_dev_t dev;
    // Both weight copies, whatever ipg_winograd_only says (IPG_CONV=pack).
    setenv("IPG_CONV", "pack", 1);
    const ipg_status_t up = ipg_conv_upload(&cl, &cv, 0, cin, true, &dev, err, sizeof err);
    unsetenv("IPG_CONV");
    if (up != IPG_OK) {
        fprintf(stderr, "bench-conv: %s\n", err);
        return 1;
    }
    if (winograd && !dev.w_winograd) dev.w_winograd = ipg_winograd_upload(&cl, &cv, 0, cin, err, sizeof err);
    ipg_plan_t plans[N_PATHS];
    ipg_tensor_t in[N_PATHS], out[N_PATHS];
    const int n_paths = winograd ? 6 : 2;
    static const int path_of[2][N_PATHS] = { { 0, 4 }, { 0, 5, 1, 2, 3, 4 } };   // index into PATHS
    ipg_conv_dev_t u_only = dev;   // direct-u: the weights U only
    u_only.w_packed = NULL;
    for (int q = 0; q < n_paths; q++) {
        const int k = path_of[winograd][q];
        ipg_plan_t * p = &plans[k];
        memset(p, 0, sizeof *p);
        p->cl = &cl;
        p->err = err;
        p->err_size = sizeof err;
        p->batch = batch;
        p->no_winograd = k == 0 || k == 4 || k == 5;
        p->pack_all_convs = k == 4;
        p->winograd_form = k == 2 ? IPG_WINOGRAD_FORM_FUSED : k == 3 ? IPG_WINOGRAD_FORM_SPLIT : IPG_WINOGRAD_FORM_AUTO;
        memset(&in[k], 0, sizeof in[k]);
        memset(&out[k], 0, sizeof out[k]);
        ipg_status_t st = ipg_plan_tensor(p, &in[k], cin, h, w);
        if (st == IPG_OK) st = ipg_op_conv(p, k == 5 ? &u_only : &dev, &in[k], NULL, true, &out[k]);
        if (st == IPG_OK) st = ipg_plan_finalize(p);
        if (st != IPG_OK) {
            fprintf(stderr, "bench-conv: %s: %s\n", PATHS[k], err);
            return 1;
        }
        ipg_plan_run(p);   // warm: kernels compiled, pages touched
    }
    double best[N_PATHS][4], sum[N_PATHS] = { 0 };
    for (int k = 0; k < N_PATHS; k++)
        for (int s = 0; s < 4; s++) best[k][s] = 1e30;
    for (int r = 0; r < rounds; r++)
        for (int q = 0; q < n_paths; q++) {
            const int k = path_of[winograd][q];
            ipg_plan_t * p = &plans[k];
            double total = 0;
            for (int s = 0; s < p->n_steps && s < 4; s++) {
                double t0 = now_ms();
                for (int i = 0; i < 5; i++) ipg_plan_enqueue_range(p, s, s + 1, NULL, NULL, NULL);
                clFinish(cl.queue);
                double dt = (now_ms() - t0) / 5;
                if (dt < best[k][s]) best[k][s] = dt;
                total += dt;
            }
            sum[k] += total;
        }
    const int oh = (h + 2 * (ksize / 2) - ksize) / stride + 1, ow = (w + 2 * (ksize / 2) - ksize) / stride + 1;
    printf("conv %dx%d/%d %d -> %d, %dx%d, batch %d, %.3f GFLOP; best of %d rounds (x5 launches) per launch, ms\n",
           ksize, ksize, stride, cin, cout, h, w, batch, 2.0 * cout * cin * ksize * ksize * oh * ow * batch / 1e9, rounds);
    for (int q = 0; q < n_paths; q++) {
        const int k = path_of[winograd][q];
        double b = 0;
        printf("%-9s", PATHS[k]);
        for (int s = 0; s < plans[k].n_steps && s < 4; s++) {
            printf("  %s %.3f", plans[k].steps[s].kernel_name, best[k][s]);
            b += best[k][s];
        }
        printf("  | best total %.3f, mean total %.3f\n", b, sum[k] / rounds);
    }
    for (int q = 0; q < n_paths; q++) ipg_plan_free(&plans[path_of[winograd][q]]);
    ipg_conv_dev_free(&dev);
    free(cv.w);
    free(cv.b);
    ipg_cl_free(&cl);
    return 0;
}
