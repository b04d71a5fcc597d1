// SPDX-License-Identifier: LGPL-2.1-or-later
// kernel-path.c: the kernel paths and the table that picks one per device.
//   cpu      gemm.cl + conv-pack.cl, conv-direct.cl: a 16 x 16 register tile
//            per work-item, local size 1 on CPU devices (PoCL's best shape)
//   gpu      conv-tiled.cl: work-groups tiled through local memory, 4 x 4
//            accumulators per work-item, the work-group from this table
//   clblast  CLBlast's Sgemm (1x1 stride 1) and Sconvgemm (the rest), then
//            conv-epilogue.cl (bias, residual, ReLU)
// The choice: ipg_ctx_params_t.device_path, else IPG_PATH, else the first
// row of the table matching the device's type and vendor.
#include "kernel-path.h"

#include "clblast-path.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    cl_device_type type;   // any of these type bits
    const char * vendor;   // a substring of CL_DEVICE_VENDOR or the device name; NULL: any
    ipg_kernel_path_t path;
    size_t lws[2];   // the GPU path's work-group (LX, LY), capped at run time
    const char * why;
} path_row_t;

// First match wins. Nothing here was measured on a GPU (docs/PERFORMANCE.md,
// "Kernel paths"): the GPU rows are the common 256-work-item shape on desktop
// GPUs and 64 on the others, to be replaced by measured rows.
static const path_row_t path_table[] = {
    // oclgrind reports itself as a GPU and a CPU: the CPU path, as before;
    // a small work-group keeps the simulator quick when the GPU path is asked for.
    { CL_DEVICE_TYPE_ALL, "Oclgrind", IPG_PATH_CPU, { 8, 4 }, "oclgrind (simulator)" },
    { CL_DEVICE_TYPE_CPU, NULL, IPG_PATH_CPU, { 16, 16 }, "CPU device: register tiles" },
    { CL_DEVICE_TYPE_GPU, "NVIDIA", IPG_PATH_GPU, { 16, 16 }, "NVIDIA GPU" },
    { CL_DEVICE_TYPE_GPU, "Advanced Micro Devices", IPG_PATH_GPU, { 16, 16 }, "AMD GPU" },
    { CL_DEVICE_TYPE_GPU, "AMD", IPG_PATH_GPU, { 16, 16 }, "AMD GPU" },
    { CL_DEVICE_TYPE_GPU, "Intel", IPG_PATH_GPU, { 8, 8 }, "Intel GPU" },
    { CL_DEVICE_TYPE_GPU, NULL, IPG_PATH_GPU, { 8, 8 }, "other GPU" },
    { CL_DEVICE_TYPE_ALL, NULL, IPG_PATH_CPU, { 8, 8 }, "other device" },
};

const char * ipg_kernel_path_name(ipg_kernel_path_t path) {
    switch (path) {
        case IPG_PATH_CPU: return "cpu";
        case IPG_PATH_GPU: return "gpu";
        case IPG_PATH_CLBLAST: return "clblast";
    }
    return "unknown";
}

// "cpu" | "gpu" | "clblast" -> 0, 1, 2; NULL, "" or "auto" -> -1; else -2.
static int parse_path(const char * s) {
    if (!s || !*s || strcmp(s, "auto") == 0) return -1;
    for (int i = IPG_PATH_CPU; i <= IPG_PATH_CLBLAST; i++)
        if (strcmp(s, ipg_kernel_path_name((ipg_kernel_path_t) i)) == 0) return i;
    return -2;
}

static const path_row_t * table_row(const ipg_cl_t * cl) {
    const size_t n = sizeof path_table / sizeof path_table[0];
    for (size_t i = 0; i < n; i++) {
        const path_row_t * r = &path_table[i];
        if (!(cl->type & r->type)) continue;
        if (r->vendor && !strstr(cl->vendor, r->vendor) && !strstr(cl->device_name, r->vendor)) continue;
        return r;
    }
    return &path_table[n - 1];
}

// CL_KERNEL_WORK_GROUP_SIZE and CL_KERNEL_PRIVATE_MEM_SIZE of one kernel of
// the program (the kernel object is released again).
static ipg_status_t kernel_limits(ipg_cl_t * cl, const char * name, size_t * wg, cl_ulong * priv, char * err,
                                  size_t err_size) {
    cl_int rc;
    cl_kernel k = clCreateKernel(cl->program, name, &rc);
    if (rc != CL_SUCCESS) {
        ipg_format_error(err, err_size, "clCreateKernel(%s) failed: %s", name, ipg_cl_error_name(rc));
        return IPG_ERR_OPENCL;
    }
    cl->objects_created++;
    rc = clGetKernelWorkGroupInfo(k, cl->device, CL_KERNEL_WORK_GROUP_SIZE, sizeof *wg, wg, NULL);
    if (rc != CL_SUCCESS || *wg == 0) {
        ipg_log(IPG_LOG_WARNING, "CL_KERNEL_WORK_GROUP_SIZE of %s unavailable (%s); using the device's limit", name,
                ipg_cl_error_name(rc));
        *wg = cl->max_wg_size;
    }
    rc = clGetKernelWorkGroupInfo(k, cl->device, CL_KERNEL_PRIVATE_MEM_SIZE, sizeof *priv, priv, NULL);
    if (rc != CL_SUCCESS) {
        ipg_log(IPG_LOG_WARNING, "CL_KERNEL_PRIVATE_MEM_SIZE of %s unavailable (%s)", name, ipg_cl_error_name(rc));
        *priv = 0;
    }
    clReleaseKernel(k);
    return IPG_OK;
}

ipg_status_t ipg_kernel_path_set_tile(ipg_cl_t * cl, size_t lx, size_t ly, char * err, size_t err_size) {
    if (lx == 0 || ly == 0) {
        ipg_format_error(err, err_size, "the GPU path's work-group %zu x %zu is empty", lx, ly);
        return IPG_ERR_INVALID_ARG;
    }
    size_t wg = 0;
    cl_ulong priv = 0;
    ipg_status_t st = kernel_limits(cl, "ipg_conv_tiled", &wg, &priv, err, err_size);
    if (st != IPG_OK) return st;
    if (lx > cl->max_item_sizes[0]) lx = cl->max_item_sizes[0];
    if (ly > cl->max_item_sizes[1]) ly = cl->max_item_sizes[1];
    // Halve the larger side until the group fits the kernel and its two
    // K-slices (TK x TM and TK x TN floats) fit the local memory.
    for (;;) {
        const size_t local_bytes = (size_t) IPG_TILE_K * (IPG_TILE_WM * ly + IPG_TILE_WN * lx) * sizeof(float);
        if (lx * ly <= wg && local_bytes <= cl->local_mem) break;
        if (lx == 1 && ly == 1) {
            ipg_format_error(err, err_size,
                             "ipg_conv_tiled does not fit %s even with one work-item per group (work-group limit "
                             "%zu, local memory %llu bytes)",
                             cl->device_name, wg, (unsigned long long) cl->local_mem);
            return IPG_ERR_OPENCL;
        }
        if (lx >= ly)
            lx = (lx + 1) / 2;
        else
            ly = (ly + 1) / 2;
    }
    cl->tile_lws[0] = lx;
    cl->tile_lws[1] = ly;
    // Said at info level only when the GPU path runs (the others keep the tile for a later switch).
    ipg_log(cl->path == IPG_PATH_GPU ? IPG_LOG_INFO : IPG_LOG_DEBUG,
            "GPU path: work-group %zu x %zu (kernel limit %zu), tile %zu x %zu, %llu bytes of private memory per "
            "work-item",
            lx, ly, wg, IPG_TILE_WM * ly, IPG_TILE_WN * lx, (unsigned long long) priv);
    return IPG_OK;
}

ipg_status_t ipg_kernel_path_select(ipg_cl_t * cl, const char * request, char * err, size_t err_size) {
    const path_row_t * row = table_row(cl);
    int want = parse_path(request);
    const char * from = "device-path";
    if (want == -2) {
        ipg_format_error(err, err_size, "device-path \"%s\" is not one of auto, cpu, gpu, clblast", request);
        return IPG_ERR_INVALID_ARG;
    }
    if (want == -1) {
        const char * env = getenv("IPG_PATH");
        want = parse_path(env);
        from = "IPG_PATH";
        if (want == -2) {
            ipg_format_error(err, err_size, "IPG_PATH=%s is not one of auto, cpu, gpu, clblast", env);
            return IPG_ERR_INVALID_ARG;
        }
    }
    if (want == -1) {
        want = (int) row->path;
        from = row->why;
    }
    cl->path = (ipg_kernel_path_t) want;
    // Every path's work-group is set, so a test can switch paths on one device.
    ipg_status_t st = ipg_kernel_path_set_tile(cl, row->lws[0], row->lws[1], err, err_size);
    if (st != IPG_OK) return st;
    if (cl->path == IPG_PATH_CPU) {
        size_t wg = 0;
        cl_ulong priv = 0;
        st = kernel_limits(cl, "ipg_gemm_packed", &wg, &priv, err, err_size);
        if (st != IPG_OK) return st;
        ipg_log(IPG_LOG_INFO, "CPU path: ipg_gemm_packed has %llu bytes of private memory per work-item",
                (unsigned long long) priv);
    }
    if (cl->path == IPG_PATH_CLBLAST) {
        cl->clblast_used = true;
        st = ipg_clblast_tune(cl, err, err_size);
        if (st != IPG_OK) return st;
    }
    ipg_log(IPG_LOG_INFO, "kernel path: %s (%s)", ipg_kernel_path_name(cl->path), from);
    return IPG_OK;
}
