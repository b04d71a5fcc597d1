// SPDX-License-Identifier: LGPL-2.1-or-later
// bench-peak: the OpenCL device's fp32 FMA peak, measured: every work-item
// runs 20 independent float16 FMA chains (enough to hide the FMA latency on
// an AVX-512 CPU or a GPU) for a fixed count, no memory traffic. The
// ceiling that the convolutions' GFLOP/s are compared with (bench.py), where
// an SGEMM library may not use the device's widest vectors (Debian's
// OpenBLAS on this AVX-512 CPU: 237 GFLOP/s, this: ~510). A benchmark, not
// a test.
//   bench-peak [ROUNDS]   (IPG_TEST_DEVICE picks the device, as for bench-conv)
#include "error.h"
#include "ops.h"

#include <stdio.h>
#include <stdlib.h>

static const char * SOURCE =
    "__kernel void peak(__global float * out, float x, float y, int n) {\n"
    "    float16 acc[20];\n"
    "    for (int i = 0; i < 20; i++) acc[i] = (float16) (get_global_id(0) + i);\n"
    "    for (int it = 0; it < n; it++) {\n"
    "        #pragma unroll\n"
    "        for (int i = 0; i < 20; i++) acc[i] = fma(acc[i], (float16) x, (float16) y);\n"
    "    }\n"
    "    float16 s = 0.0f;\n"
    "    for (int i = 0; i < 20; i++) s += acc[i];\n"
    "    out[get_global_id(0)] = s.s0 + s.s7 + s.sf;   // keeps the chains live\n"
    "}\n";

#define CHECK_CL(call, what)                                                      \
    do {                                                                          \
        cl_int rc_ = (call);                                                      \
        if (rc_ != CL_SUCCESS) {                                                  \
            fprintf(stderr, "bench-peak: %s: %s\n", what, ipg_cl_error_name(rc_)); \
            return 1;                                                             \
        }                                                                         \
    } while (0)

int main(int argc, char ** argv) {
    const int rounds = argc > 1 ? atoi(argv[1]) : 10;
    if (rounds < 1) {
        fprintf(stderr, "usage: bench-peak [ROUNDS >= 1]\n");
        return 2;
    }
    char err[IPG_ERR_LEN];
    ipg_cl_t cl;
    if (ipg_cl_init(&cl, getenv("IPG_TEST_DEVICE"), true, err, sizeof err) != IPG_OK) {
        fprintf(stderr, "bench-peak: %s\n", err);
        return 1;
    }
    cl_int rc;
    cl_program prog = clCreateProgramWithSource(cl.context, 1, &SOURCE, NULL, &rc);
    CHECK_CL(rc, "clCreateProgramWithSource");
    CHECK_CL(clBuildProgram(prog, 1, &cl.device, "-cl-std=CL1.2", NULL, NULL), "clBuildProgram");
    cl_kernel k = clCreateKernel(prog, "peak", &rc);
    CHECK_CL(rc, "clCreateKernel");
    // Work-items: 64 per compute unit, 4096 FMA steps each.
    cl_uint units = 1;
    CHECK_CL(clGetDeviceInfo(cl.device, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof units, &units, NULL), "compute units");
    const size_t items = (size_t) units * 64;
    const int n = 4096;
    const float x = 0.999f, y = 0.001f;
    cl_mem out = clCreateBuffer(cl.context, CL_MEM_WRITE_ONLY, items * sizeof(float), NULL, &rc);
    CHECK_CL(rc, "clCreateBuffer");
    CHECK_CL(clSetKernelArg(k, 0, sizeof out, &out), "arg 0");
    CHECK_CL(clSetKernelArg(k, 1, sizeof x, &x), "arg 1");
    CHECK_CL(clSetKernelArg(k, 2, sizeof y, &y), "arg 2");
    CHECK_CL(clSetKernelArg(k, 3, sizeof n, &n), "arg 3");
    double best = 0;
    for (int r = 0; r < rounds + 1; r++) {   // round 0 warms up
        cl_event ev;
        CHECK_CL(clEnqueueNDRangeKernel(cl.queue, k, 1, NULL, &items, NULL, 0, NULL, &ev), "launch");
        CHECK_CL(clWaitForEvents(1, &ev), "wait");
        cl_ulong t0 = 0, t1 = 0;
        CHECK_CL(clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_START, sizeof t0, &t0, NULL), "profile");
        CHECK_CL(clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_END, sizeof t1, &t1, NULL), "profile");
        clReleaseEvent(ev);
        const double gflops = 2.0 * 16 * 20 * (double) n * (double) items / (double) (t1 - t0);
        if (r > 0 && gflops > best) best = gflops;
    }
    printf("device=%s\n", cl.device_name);
    printf("fma_peak_gflops=%.1f\n", best);
    clReleaseMemObject(out);
    clReleaseKernel(k);
    clReleaseProgram(prog);
    ipg_cl_free(&cl);
    return 0;
}
