// SPDX-License-Identifier: LGPL-2.1-or-later
// cl-runtime.h: the OpenCL device of a context (cl-runtime.c): device choice,
// context, queue and the one program holding every kernel of kernels/, and
// the constants the host and the kernels must agree on. Not installed.
#ifndef IPG_CL_RUNTIME_H
#define IPG_CL_RUNTIME_H

#include "ipg.h"

#include <CL/cl.h>

#include <stdbool.h>
#include <stdint.h>

// ---- constants shared with kernels/ ---------------------------------------
// Passed to the program with -D at build time (ipg_cl_init); each .cl file
// keeps an #ifndef default for reading on its own.

// The GEMM register tile: output channels x output pixels per work-item.
// Weights are packed [ceil(M / MR)][K][MR] at upload, activations
// [ceil(N / NR)][K][NR] by conv-pack.cl.
#define IPG_GEMM_MR 16
#define IPG_GEMM_NR 16
// Channels per work-item of the Winograd transforms (winograd.cl).
#define IPG_WINOGRAD_CHANNELS 8
// Bins of one radix pass of the exact top-k select (common.cl: four 8-bit
// passes over 32-bit keys); the select kernels take that many uints of local
// memory, and their work-group is at most this size (one bin per work-item
// when it is cleared).
#define IPG_RADIX_BINS 256
// The GPU path's per-work-item tile (conv-tiled.cl): WM x WN accumulators,
// and the K-slice staged in local memory per barrier. The work-group, and so
// the work-group tile (WM * LY) x (WN * LX), is chosen per device at run
// time (kernel-path.c).
#define IPG_TILE_WM 4
#define IPG_TILE_WN 4
#define IPG_TILE_K  16

// ---- kernel paths ---------------------------------------------------------
// Which convolution kernels a context runs (kernel-path.c chooses, per device
// or by override; docs/PERFORMANCE.md "Kernel paths").
typedef enum {
    IPG_PATH_CPU,       // register tiles, one work-item per group (gemm.cl, conv-direct.cl)
    IPG_PATH_GPU,       // work-groups tiled through local memory (conv-tiled.cl)
    IPG_PATH_CLBLAST,   // CLBlast's Sgemm / Sconvgemm + conv-epilogue.cl
} ipg_kernel_path_t;

// ---- the device -----------------------------------------------------------

typedef struct {
    cl_device_id device;
    cl_context context;
    cl_command_queue queue;
    cl_program program;   // all embedded kernels, one program
    char device_name[256];
    bool is_cpu;
    cl_device_type type;
    char vendor[128];         // CL_DEVICE_VENDOR
    ipg_kernel_path_t path;   // the convolution kernels (kernel-path.c)
    size_t tile_lws[2];       // the GPU path's work-group (LX, LY): its tile is (WM * LY) x (WN * LX)
    bool clblast_used;        // CLBlast's cache may hold programs of this context (released at free)
    size_t max_wg_size;
    size_t max_item_sizes[3];   // CL_DEVICE_MAX_WORK_ITEM_SIZES (the first three dimensions)
    uint64_t max_alloc;         // CL_DEVICE_MAX_MEM_ALLOC_SIZE (or IPG_MAX_ALLOC_BYTES, lower): the largest buffer
    bool host_unified;          // CL_DEVICE_HOST_UNIFIED_MEMORY (the frame upload maps instead of copying)
    uint64_t local_mem;         // CL_DEVICE_LOCAL_MEM_SIZE: local memory of one work-group
    uint64_t objects_created;   // programs built, buffers, kernels: all before the first run
    uint64_t bytes_allocated;   // bytes of the buffers made through ipg_cl_buffer
} ipg_cl_t;

const char * ipg_cl_error_name(cl_int code);
// Selects the device, creates context, queue (with profiling if asked), and
// builds the program.
ipg_status_t ipg_cl_init(ipg_cl_t * cl, const char * device, bool profiling, char * err, size_t err_size);
void ipg_cl_free(ipg_cl_t * cl);
// A buffer of `bytes`; one over max_alloc is refused with both numbers
// (callers that know the layer check first and name it).
cl_mem ipg_cl_buffer(ipg_cl_t * cl, cl_mem_flags flags, size_t bytes, const void * host, char * err, size_t err_size);

// OpenCL objects (programs, buffers, kernels) a context has created so far: a
// test checks that running frames creates none (everything is made at init and
// prepare). Defined in ctx.c.
uint64_t ipg_ctx_cl_objects_created(const ipg_ctx_t * ctx);
// Work-items of every kernel launch so far: a test checks that a partial
// batch launches only its frames' share. Defined in ctx.c.
uint64_t ipg_ctx_work_items_launched(const ipg_ctx_t * ctx);

#endif   // IPG_CL_RUNTIME_H
