// SPDX-License-Identifier: LGPL-2.1-or-later
// cl-runtime.c: OpenCL device choice, context, queue and the one program that
// holds every kernel (embedded at build time, or read from IPG_KERNEL_DIR for
// kernel development). Every CL call is checked; failures become messages.
#include "cl-runtime.h"
#include "clblast-path.h"
#include "file-io.h"
#include "kernel-path.h"
#include "log.h"
#include "ipg-kernels.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// One row of the error table per line, as written.
// clang-format off
const char * ipg_cl_error_name(cl_int code) {
    switch (code) {
#define E(x) case x: return #x;
        E(CL_SUCCESS) E(CL_DEVICE_NOT_FOUND) E(CL_DEVICE_NOT_AVAILABLE) E(CL_COMPILER_NOT_AVAILABLE)
        E(CL_MEM_OBJECT_ALLOCATION_FAILURE) E(CL_OUT_OF_RESOURCES) E(CL_OUT_OF_HOST_MEMORY)
        E(CL_PROFILING_INFO_NOT_AVAILABLE) E(CL_MEM_COPY_OVERLAP) E(CL_BUILD_PROGRAM_FAILURE)
        E(CL_MAP_FAILURE) E(CL_MISALIGNED_SUB_BUFFER_OFFSET) E(CL_INVALID_VALUE) E(CL_INVALID_DEVICE_TYPE)
        E(CL_INVALID_PLATFORM) E(CL_INVALID_DEVICE) E(CL_INVALID_CONTEXT) E(CL_INVALID_QUEUE_PROPERTIES)
        E(CL_INVALID_COMMAND_QUEUE) E(CL_INVALID_HOST_PTR) E(CL_INVALID_MEM_OBJECT) E(CL_INVALID_BINARY)
        E(CL_INVALID_BUILD_OPTIONS) E(CL_INVALID_PROGRAM) E(CL_INVALID_PROGRAM_EXECUTABLE)
        E(CL_INVALID_KERNEL_NAME) E(CL_INVALID_KERNEL_DEFINITION) E(CL_INVALID_KERNEL) E(CL_INVALID_ARG_INDEX)
        E(CL_INVALID_ARG_VALUE) E(CL_INVALID_ARG_SIZE) E(CL_INVALID_KERNEL_ARGS) E(CL_INVALID_WORK_DIMENSION)
        E(CL_INVALID_WORK_GROUP_SIZE) E(CL_INVALID_WORK_ITEM_SIZE) E(CL_INVALID_GLOBAL_OFFSET)
        E(CL_INVALID_EVENT_WAIT_LIST) E(CL_INVALID_EVENT) E(CL_INVALID_OPERATION) E(CL_INVALID_BUFFER_SIZE)
        E(CL_INVALID_GLOBAL_WORK_SIZE)
        case -1001: return "CL_PLATFORM_NOT_FOUND_KHR";
#undef E
        default: return "unknown OpenCL error";
    }
}
// clang-format on

typedef struct {
    cl_device_id device;
    int32_t platform_index, device_index;
    cl_device_type type;
    char name[256];
    char platform_name[256];
} device_entry_t;

#define MAX_DEVICES 64

// Lists every device of every platform. Returns the count or -1 (err set).
static int32_t enumerate(device_entry_t * out, char * err, size_t err_size) {
    cl_platform_id platforms[16];
    cl_uint n_platforms = 0;
    cl_int rc = clGetPlatformIDs(16, platforms, &n_platforms);
    if (rc != CL_SUCCESS || n_platforms == 0) {
        ipg_format_error(err, err_size,
                         "no OpenCL platform found (%s); install an OpenCL driver (ICD), e.g. pocl-opencl-icd",
                         rc == CL_SUCCESS ? "0 platforms" : ipg_cl_error_name(rc));
        return -1;
    }
    if (n_platforms > 16) n_platforms = 16;
    int32_t n = 0;
    for (cl_uint p = 0; p < n_platforms; p++) {
        cl_device_id devices[16];
        cl_uint n_dev = 0;
        if (clGetDeviceIDs(platforms[p], CL_DEVICE_TYPE_ALL, 16, devices, &n_dev) != CL_SUCCESS) continue;
        if (n_dev > 16) n_dev = 16;
        char pname[256] = "";
        clGetPlatformInfo(platforms[p], CL_PLATFORM_NAME, sizeof pname - 1, pname, NULL);
        for (cl_uint d = 0; d < n_dev && n < MAX_DEVICES; d++, n++) {
            device_entry_t * e = &out[n];
            memset(e, 0, sizeof *e);
            e->device = devices[d];
            e->platform_index = (int32_t) p;
            e->device_index = (int32_t) d;
            memcpy(e->platform_name, pname, sizeof pname);
            clGetDeviceInfo(devices[d], CL_DEVICE_NAME, sizeof e->name - 1, e->name, NULL);
            clGetDeviceInfo(devices[d], CL_DEVICE_TYPE, sizeof e->type, &e->type, NULL);
        }
    }
    if (n == 0) ipg_format_error(err, err_size, "OpenCL platforms exist but expose no device");
    return n;
}

static const char * type_name(cl_device_type t) {
    if (t & CL_DEVICE_TYPE_GPU) return "gpu";
    if (t & CL_DEVICE_TYPE_CPU) return "cpu";
    if (t & CL_DEVICE_TYPE_ACCELERATOR) return "accelerator";
    return "other";
}

static void format_list(const device_entry_t * d, int32_t n, char * buf, size_t size) {
    if (!buf || size == 0) return;
    buf[0] = '\0';
    for (int32_t i = 0; i < n; i++) {
        size_t len = strlen(buf);
        snprintf(buf + len, size - len, "%d  %d:%d  %s / %s (%s)\n", i, d[i].platform_index, d[i].device_index,
                 d[i].platform_name, d[i].name, type_name(d[i].type));
    }
}

int32_t ipg_list_devices(char * buf, size_t size) {
    device_entry_t devs[MAX_DEVICES];
    int32_t n = enumerate(devs, buf, size);
    if (n > 0) format_list(devs, n, buf, size);
    return n < 0 ? -1 : n;
}

// Picks a device by the rules of ipg_ctx_params_t.device. Returns its index or -1.
static int32_t choose(const device_entry_t * d, int32_t n, const char * want) {
    if (!want || !*want || strcmp(want, "auto") == 0) {
        for (int32_t i = 0; i < n; i++)
            if (d[i].type & CL_DEVICE_TYPE_GPU) return i;
        for (int32_t i = 0; i < n; i++)
            if (d[i].type & CL_DEVICE_TYPE_CPU) return i;
        return n > 0 ? 0 : -1;
    }
    if (strcmp(want, "gpu") == 0 || strcmp(want, "cpu") == 0) {
        cl_device_type t = want[0] == 'g' ? CL_DEVICE_TYPE_GPU : CL_DEVICE_TYPE_CPU;
        for (int32_t i = 0; i < n; i++)
            if (d[i].type & t) return i;
        return -1;
    }
    char * end = NULL;
    long a = strtol(want, &end, 10);
    if (end != want && *end == '\0' && a >= 0 && a < n) return (int32_t) a;
    if (end != want && *end == ':' && isdigit((unsigned char) end[1])) {
        char * end2 = NULL;
        long b = strtol(end + 1, &end2, 10);
        if (*end2 == '\0')
            for (int32_t i = 0; i < n; i++)
                if (d[i].platform_index == a && d[i].device_index == b) return i;
    }
    return -1;
}

// Concatenates the kernel sources, from IPG_KERNEL_DIR if set.
static char * load_sources(char * err, size_t err_size) {
    const char * dir = getenv("IPG_KERNEL_DIR");
    size_t total = 1;
    char * files[IPG_KERNEL_SOURCE_COUNT] = { 0 };
    size_t sizes[IPG_KERNEL_SOURCE_COUNT] = { 0 };
    char * out = NULL;
    for (int i = 0; i < IPG_KERNEL_SOURCE_COUNT; i++) {
        if (dir && *dir) {
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", dir, ipg_kernel_sources[i].name);
            char msg[512];
            // A kernel source is tens of kilobytes: 16 MiB is a wrong path, not a kernel.
            if (ipg_file_read(path, (size_t) 16 << 20, (uint8_t **) &files[i], &sizes[i], msg, sizeof msg) != IPG_OK) {
                ipg_format_error(err, err_size, "IPG_KERNEL_DIR is set but %s", msg);
                goto done;
            }
        } else {
            sizes[i] = ipg_kernel_sources[i].size;
        }
        total += sizes[i] + 64;
    }
    out = malloc(total);
    if (!out) {
        ipg_format_error(err, err_size, "out of memory");
        goto done;
    }
    size_t pos = 0;
    for (int i = 0; i < IPG_KERNEL_SOURCE_COUNT; i++) {
        // A #line marker keeps compiler messages pointing at the right file.
        pos += (size_t) snprintf(out + pos, total - pos, "\n#line 1 \"%s\"\n", ipg_kernel_sources[i].name);
        memcpy(out + pos, files[i] ? files[i] : ipg_kernel_sources[i].source, sizes[i]);
        pos += sizes[i];
    }
    out[pos] = '\0';
done:
    for (int i = 0; i < IPG_KERNEL_SOURCE_COUNT; i++) free(files[i]);
    return out;
}

ipg_status_t ipg_cl_init(ipg_cl_t * cl, const char * device, bool profiling, char * err, size_t err_size) {
    memset(cl, 0, sizeof *cl);
    device_entry_t devs[MAX_DEVICES];
    int32_t n = enumerate(devs, err, err_size);
    if (n <= 0) return IPG_ERR_NO_DEVICE;
    int32_t pick = choose(devs, n, device);
    if (pick < 0) {
        char list[2048];
        format_list(devs, n, list, sizeof list);
        ipg_format_error(err, err_size,
                         "no OpenCL device matches \"%s\"; available devices (index  platform:device  name):\n%s",
                         device ? device : "auto", list);
        return IPG_ERR_NO_DEVICE;
    }
    cl->device = devs[pick].device;
    snprintf(cl->device_name, sizeof cl->device_name, "%s / %s", devs[pick].platform_name, devs[pick].name);
    cl->is_cpu = (devs[pick].type & CL_DEVICE_TYPE_CPU) != 0;
    cl->type = devs[pick].type;
    cl_int rc =
        clGetDeviceInfo(cl->device, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof cl->max_wg_size, &cl->max_wg_size, NULL);
    if (rc != CL_SUCCESS || cl->max_wg_size == 0) {
        ipg_log(IPG_LOG_WARNING, "CL_DEVICE_MAX_WORK_GROUP_SIZE unavailable (%s); assuming 1", ipg_cl_error_name(rc));
        cl->max_wg_size = 1;   // the only size the specification guarantees
    }
    // At least three dimensions are guaranteed; the plan uses the first three.
    size_t items[16];
    rc = clGetDeviceInfo(cl->device, CL_DEVICE_MAX_WORK_ITEM_SIZES, sizeof items, items, NULL);
    if (rc == CL_SUCCESS) {
        memcpy(cl->max_item_sizes, items, sizeof cl->max_item_sizes);
    } else {
        ipg_log(IPG_LOG_WARNING, "CL_DEVICE_MAX_WORK_ITEM_SIZES unavailable (%s); assuming 1 x 1 x 1",
                ipg_cl_error_name(rc));
        cl->max_item_sizes[0] = cl->max_item_sizes[1] = cl->max_item_sizes[2] = 1;
    }
    cl_ulong max_alloc = 0;
    rc = clGetDeviceInfo(cl->device, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof max_alloc, &max_alloc, NULL);
    if (rc != CL_SUCCESS || max_alloc == 0) {
        // 128 MiB is the least OpenCL 1.2 lets a full profile device report.
        ipg_log(IPG_LOG_WARNING, "CL_DEVICE_MAX_MEM_ALLOC_SIZE unavailable (%s); assuming 128 MiB",
                ipg_cl_error_name(rc));
        max_alloc = (cl_ulong) 128 << 20;
    }
    // IPG_MAX_ALLOC_BYTES (a test mode): a lower largest buffer, so that the
    // split im2col scratch (ops.c) and the refusals run on any device.
    const char * cap = getenv("IPG_MAX_ALLOC_BYTES");
    if (cap && *cap) {
        char * end = NULL;
        const unsigned long long v = strtoull(cap, &end, 10);
        if (end == cap || *end != '\0' || v < 4096)
            ipg_log(IPG_LOG_WARNING, "IPG_MAX_ALLOC_BYTES=%s is not a byte count of at least 4096; ignored", cap);
        else if (v < max_alloc)
            max_alloc = v;
    }
    cl->max_alloc = max_alloc;
    cl_bool unified = CL_FALSE;
    rc = clGetDeviceInfo(cl->device, CL_DEVICE_HOST_UNIFIED_MEMORY, sizeof unified, &unified, NULL);
    if (rc != CL_SUCCESS)
        ipg_log(IPG_LOG_WARNING, "CL_DEVICE_HOST_UNIFIED_MEMORY unavailable (%s); assuming not", ipg_cl_error_name(rc));
    cl->host_unified = rc == CL_SUCCESS && unified;
    rc = clGetDeviceInfo(cl->device, CL_DEVICE_VENDOR, sizeof cl->vendor - 1, cl->vendor, NULL);
    if (rc != CL_SUCCESS) ipg_log(IPG_LOG_WARNING, "CL_DEVICE_VENDOR unavailable (%s)", ipg_cl_error_name(rc));
    cl_ulong local_mem = 0;
    rc = clGetDeviceInfo(cl->device, CL_DEVICE_LOCAL_MEM_SIZE, sizeof local_mem, &local_mem, NULL);
    if (rc != CL_SUCCESS || local_mem == 0) {
        // 32 KiB is the least OpenCL 1.2 lets a full profile device report.
        ipg_log(IPG_LOG_WARNING, "CL_DEVICE_LOCAL_MEM_SIZE unavailable (%s); assuming 32 KiB", ipg_cl_error_name(rc));
        local_mem = 32 << 10;
    }
    cl->local_mem = local_mem;

    cl->context = clCreateContext(NULL, 1, &cl->device, NULL, NULL, &rc);
    if (rc != CL_SUCCESS) {
        ipg_format_error(err, err_size, "clCreateContext on %s failed: %s", cl->device_name, ipg_cl_error_name(rc));
        goto fail;
    }
    cl->queue = clCreateCommandQueue(cl->context, cl->device, profiling ? CL_QUEUE_PROFILING_ENABLE : 0, &rc);
    if (rc != CL_SUCCESS) {
        ipg_format_error(err, err_size, "clCreateCommandQueue failed: %s", ipg_cl_error_name(rc));
        goto fail;
    }
    char * src = load_sources(err, err_size);
    if (!src) goto fail;
    const char * srcs[1] = { src };
    cl->program = clCreateProgramWithSource(cl->context, 1, srcs, NULL, &rc);
    free(src);
    if (rc != CL_SUCCESS) {
        ipg_format_error(err, err_size, "clCreateProgramWithSource failed: %s", ipg_cl_error_name(rc));
        goto fail;
    }
    char options[256];
    // The constants the host and the kernels share (cl-runtime.h).
    snprintf(options, sizeof options,
             "-cl-std=CL1.2 -DIPG_GEMM_MR=%d -DIPG_GEMM_NR=%d -DIPG_RADIX_BINS=%d -DIPG_TILE_WM=%d -DIPG_TILE_WN=%d "
             "-DIPG_TILE_K=%d -DIPG_WINOGRAD_CHANNELS=%d",
             IPG_GEMM_MR, IPG_GEMM_NR, IPG_RADIX_BINS, IPG_TILE_WM, IPG_TILE_WN, IPG_TILE_K, IPG_WINOGRAD_CHANNELS);
    rc = clBuildProgram(cl->program, 1, &cl->device, options, NULL, NULL);
    if (rc != CL_SUCCESS) {
        char log[4096] = "";
        clGetProgramBuildInfo(cl->program, cl->device, CL_PROGRAM_BUILD_LOG, sizeof log - 1, log, NULL);
        ipg_format_error(err, err_size, "building the OpenCL kernels for %s failed (%s):\n%s", cl->device_name,
                         ipg_cl_error_name(rc), log);
        goto fail;
    }
    cl->objects_created++;
    ipg_log(IPG_LOG_INFO, "OpenCL device: %s", cl->device_name);
    ipg_log(IPG_LOG_INFO,
            "device limits: largest buffer %llu MiB, work-group %zu (%zu x %zu x %zu), local memory %llu KiB, "
            "memory %s",
            (unsigned long long) (cl->max_alloc >> 20), cl->max_wg_size, cl->max_item_sizes[0], cl->max_item_sizes[1],
            cl->max_item_sizes[2], (unsigned long long) (cl->local_mem >> 10),
            cl->host_unified ? "shared with the host" : "separate from the host");
    // The convolution kernels: the device's row of the path table, or
    // IPG_PATH (a context's device-path parameter chooses again after this).
    const ipg_status_t st = ipg_kernel_path_select(cl, NULL, err, err_size);
    if (st != IPG_OK) ipg_cl_free(cl);
    return st;
fail:
    ipg_cl_free(cl);
    return IPG_ERR_OPENCL;
}

void ipg_cl_free(ipg_cl_t * cl) {
    if (cl->clblast_used) ipg_clblast_release();
    if (cl->program) clReleaseProgram(cl->program);
    if (cl->queue) clReleaseCommandQueue(cl->queue);
    if (cl->context) clReleaseContext(cl->context);
    memset(cl, 0, sizeof *cl);
}

cl_mem ipg_cl_buffer(ipg_cl_t * cl, cl_mem_flags flags, size_t bytes, const void * host, char * err, size_t err_size) {
    cl_int rc;
    if (bytes == 0) bytes = 4;   // zero-sized buffers are invalid; keep a placeholder
    if (bytes > cl->max_alloc) {
        ipg_format_error(err, err_size,
                         "a buffer of %zu bytes is over %s's largest allocation (CL_DEVICE_MAX_MEM_ALLOC_SIZE, "
                         "%llu bytes)",
                         bytes, cl->device_name, (unsigned long long) cl->max_alloc);
        return NULL;
    }
    cl_mem m = clCreateBuffer(cl->context, flags | (host ? CL_MEM_COPY_HOST_PTR : 0), bytes, (void *) host, &rc);
    if (rc != CL_SUCCESS) {
        ipg_format_error(err, err_size, "allocating %zu bytes on %s failed: %s", bytes, cl->device_name,
                         ipg_cl_error_name(rc));
        return NULL;
    }
    cl->objects_created++;
    cl->bytes_allocated += bytes;
    return m;
}
