// SPDX-License-Identifier: LGPL-2.1-or-later
// plan.c: the plan, a list of kernel launches with their arguments, built
// once per frame size (the ops, ops.c, and the arch builders append to it),
// finalised, then enqueued for every frame (ipg_plan_enqueue).
#include "plan.h"

#include "log.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool grow(void ** arr, int32_t * cap, int32_t need, size_t elem) {
    if (need <= *cap) return true;
    int32_t n = *cap ? *cap * 2 : 32;
    while (n < need) n *= 2;
    void * p = realloc(*arr, (size_t) n * elem);
    if (!p) return false;
    memset((char *) p + (size_t) *cap * elem, 0, (size_t) (n - *cap) * elem);
    *arr = p;
    *cap = n;
    return true;
}

// Prefixes p->err (a failed allocation's message) with what was being
// allocated and the plan group it was for, so that an out-of-memory names
// the layer.
static void name_layer(ipg_plan_t * p, const char * what_fmt, ...) __attribute__((format(printf, 2, 3)));
static void name_layer(ipg_plan_t * p, const char * what_fmt, ...) {
    char what[128], cause[IPG_ERR_LEN];
    va_list ap;
    va_start(ap, what_fmt);
    vsnprintf(what, sizeof what, what_fmt, ap);
    va_end(ap);
    snprintf(cause, sizeof cause, "%s", p->err);
    ipg_format_error(p->err, p->err_size, "%s for %s: %s", what, p->group ? p->group : "the network", cause);
}

ipg_status_t ipg_plan_tensor(ipg_plan_t * p, ipg_tensor_t * t, int32_t c, int32_t h, int32_t w) {
    if (c <= 0 || h <= 0 || w <= 0) {
        ipg_format_error(p->err, p->err_size,
                         "tensor of size %dx%dx%d is empty: the input is too small for the network", c, h, w);
        return IPG_ERR_INVALID_ARG;
    }
    if (!grow((void **) &p->buffers, &p->cap_buffers, p->n_buffers + 1, sizeof *p->buffers)) {
        ipg_format_error(p->err, p->err_size, "out of memory");
        return IPG_ERR_NO_MEMORY;
    }
    t->c = c;
    t->h = h;
    t->w = w;
    const size_t bytes = ((size_t) ipg_plan_batch(p) * c * h * w + IPG_TENSOR_SLACK) * sizeof(float);
    if (bytes > p->cl->max_alloc) {
        ipg_format_error(p->err, p->err_size,
                         "a %d x %dx%dx%d tensor of %s needs %zu bytes, over this device's largest buffer "
                         "(CL_DEVICE_MAX_MEM_ALLOC_SIZE, %llu bytes): use a smaller input, a smaller batch or tiles",
                         ipg_plan_batch(p), c, h, w, p->group ? p->group : "the network", bytes,
                         (unsigned long long) p->cl->max_alloc);
        return IPG_ERR_NO_MEMORY;
    }
    t->buf = ipg_cl_buffer(p->cl, CL_MEM_READ_WRITE, bytes, NULL, p->err, p->err_size);
    if (!t->buf) {
        name_layer(p, "a %d x %dx%dx%d tensor", ipg_plan_batch(p), c, h, w);
        return IPG_ERR_NO_MEMORY;
    }
    p->buffers[p->n_buffers++] = t->buf;
    if (!grow((void **) &p->tensors, &p->cap_tensors, p->n_tensors + 1, sizeof *p->tensors)) {
        ipg_format_error(p->err, p->err_size, "out of memory");
        return IPG_ERR_NO_MEMORY;
    }
    p->tensors[p->n_tensors++] = (ipg_plan_tensor_info_t){ .buf = t->buf, .bytes = bytes, .pinned = false };
    return IPG_OK;
}

void ipg_plan_pin(ipg_plan_t * p, cl_mem buf) {
    for (int32_t i = 0; i < p->n_tensors; i++)
        if (p->tensors[i].buf == buf) p->tensors[i].pinned = true;
}

cl_mem ipg_plan_buffer(ipg_plan_t * p, size_t bytes, const void * host) {
    if (!grow((void **) &p->buffers, &p->cap_buffers, p->n_buffers + 1, sizeof *p->buffers)) {
        ipg_format_error(p->err, p->err_size, "out of memory");
        return NULL;
    }
    cl_mem m = ipg_cl_buffer(p->cl, CL_MEM_READ_WRITE, bytes, host, p->err, p->err_size);
    if (m)
        p->buffers[p->n_buffers++] = m;
    else
        name_layer(p, "a buffer of %zu bytes", bytes);
    return m;
}

ipg_step_t * ipg_plan_step(ipg_plan_t * p, const char * kernel_name) {
    if (!grow((void **) &p->steps, &p->cap_steps, p->n_steps + 1, sizeof *p->steps)) {
        ipg_format_error(p->err, p->err_size, "out of memory");
        return NULL;
    }
    cl_int rc;
    cl_kernel k = clCreateKernel(p->cl->program, kernel_name, &rc);
    if (rc != CL_SUCCESS) {
        ipg_format_error(p->err, p->err_size, "clCreateKernel(%s) failed: %s", kernel_name, ipg_cl_error_name(rc));
        return NULL;
    }
    p->cl->objects_created++;
    ipg_step_t * s = &p->steps[p->n_steps++];
    memset(s, 0, sizeof *s);
    s->kernel = k;
    s->kernel_name = kernel_name;
    s->batch_dim = -1;
    s->image = -1;
    s->group = p->group;
    // The limits every local size of this step is checked against (set_range).
    rc =
        clGetKernelWorkGroupInfo(k, p->cl->device, CL_KERNEL_WORK_GROUP_SIZE, sizeof s->kernel_wg, &s->kernel_wg, NULL);
    if (rc != CL_SUCCESS || s->kernel_wg == 0) {
        ipg_log(IPG_LOG_WARNING, "CL_KERNEL_WORK_GROUP_SIZE of %s unavailable (%s); using the device's limit",
                kernel_name, ipg_cl_error_name(rc));
        s->kernel_wg = p->cl->max_wg_size;
    }
    if (s->kernel_wg > p->cl->max_wg_size) s->kernel_wg = p->cl->max_wg_size;
    memcpy(s->max_items, p->cl->max_item_sizes, sizeof s->max_items);
    return s;
}

ipg_step_t * ipg_plan_call(ipg_plan_t * p, const char * name, ipg_step_call_fn fn) {
    if (!grow((void **) &p->steps, &p->cap_steps, p->n_steps + 1, sizeof *p->steps)) {
        ipg_format_error(p->err, p->err_size, "out of memory");
        return NULL;
    }
    ipg_step_t * s = &p->steps[p->n_steps++];
    memset(s, 0, sizeof *s);
    s->kernel_name = name;
    s->group = p->group;
    s->call = fn;
    s->batch_dim = -1;   // a call step runs on the whole batch (plan.h)
    s->image = -1;
    return s;
}

// Appends an argument and returns its index; past IPG_MAX_ARGS the step is
// marked instead and ipg_plan_finalize refuses the plan.
static int32_t push_arg(ipg_step_t * s, ipg_arg_t a) {
    if (s->n_args >= IPG_MAX_ARGS) {
        s->too_many_args = true;
        return -1;
    }
    s->args[s->n_args] = a;
    return s->n_args++;
}

int32_t ipg_step_mem(ipg_step_t * s, cl_mem m) { return push_arg(s, (ipg_arg_t){ .kind = IPG_ARG_MEM, .mem = m }); }
int32_t ipg_step_memref(ipg_step_t * s, cl_mem * m) {
    return push_arg(s, (ipg_arg_t){ .kind = IPG_ARG_MEMREF, .memref = m });
}
int32_t ipg_step_int(ipg_step_t * s, int32_t v) { return push_arg(s, (ipg_arg_t){ .kind = IPG_ARG_INT, .i = v }); }
int32_t ipg_step_float(ipg_step_t * s, float v) { return push_arg(s, (ipg_arg_t){ .kind = IPG_ARG_FLOAT, .f = v }); }
int32_t ipg_step_local(ipg_step_t * s, size_t bytes) {
    return push_arg(s, (ipg_arg_t){ .kind = IPG_ARG_LOCAL, .i = (cl_int) bytes });
}

bool ipg_forced_lws(size_t lws[3]) {
    const char * v = getenv("IPG_FORCE_LWS");
    if (!v || !*v) return false;
    lws[0] = lws[1] = lws[2] = 1;
    for (int d = 0; d < 3; d++) {
        char * end = NULL;
        const unsigned long x = strtoul(v, &end, 10);
        if (end == v || x == 0 || x > 1024) break;
        lws[d] = x;
        if (*end != ',') return *end == '\0';
        v = end + 1;
    }
    static bool warned = false;   // once, not per step
    if (!warned)
        ipg_log(IPG_LOG_WARNING, "IPG_FORCE_LWS=%s is not 1 to 3 comma-separated sizes 1..1024; ignored",
                getenv("IPG_FORCE_LWS"));
    warned = true;
    return false;
}

static void set_range(ipg_step_t * s, cl_uint dims, const size_t * gws, const size_t * lws, bool required) {
    s->dims = dims;
    s->has_lws = lws != NULL;
    size_t total = 1;
    for (cl_uint d = 0; d < dims; d++) {
        s->gws[d] = gws[d];
        s->lws[d] = lws ? lws[d] : 0;
        if (!lws) continue;
        if (required) {
            if (lws[d] > s->max_items[d]) s->lws_too_big = true;
        } else if (s->lws[d] > s->max_items[d]) {
            s->lws[d] = s->max_items[d];
        }
        total *= s->lws[d];
    }
    if (lws && total > s->kernel_wg) {
        if (required) {
            s->lws_too_big = true;
        } else {
            // Halve the largest dimension until the work-group fits the kernel.
            while (total > s->kernel_wg) {
                cl_uint big = 0;
                for (cl_uint d = 1; d < dims; d++)
                    if (s->lws[d] > s->lws[big]) big = d;
                total = total / s->lws[big] * ((s->lws[big] + 1) / 2);
                s->lws[big] = (s->lws[big] + 1) / 2;
            }
        }
    }
    // OpenCL 1.2 needs global sizes divisible by the local size: round up;
    // every kernel bounds-checks its ids.
    if (lws && !s->lws_too_big)
        for (cl_uint d = 0; d < dims; d++) s->gws[d] = (s->gws[d] + s->lws[d] - 1) / s->lws[d] * s->lws[d];
}

void ipg_step_range(ipg_step_t * s, cl_uint dims, const size_t * gws, const size_t * lws) {
    if (lws) {
        set_range(s, dims, gws, lws, true);
        return;
    }
    ipg_step_range_prefer(s, dims, gws, NULL);
}

void ipg_step_range_prefer(ipg_step_t * s, cl_uint dims, const size_t * gws, const size_t * preferred) {
    size_t forced[3];
    set_range(s, dims, gws, ipg_forced_lws(forced) ? forced : preferred, false);
}

void ipg_step_batch_dim(ipg_step_t * s, cl_uint d, size_t extent) {
    s->batch_dim = (int32_t) d;
    s->batch_extent = extent;
}

void ipg_step_image(ipg_step_t * s, int32_t image) { s->image = image; }

size_t ipg_step_select_wg(const ipg_plan_t * p, const ipg_step_t * s) {
    size_t wg = p->cl->max_wg_size < IPG_RADIX_BINS ? p->cl->max_wg_size : IPG_RADIX_BINS;
    size_t kernel_wg = 0;
    if (clGetKernelWorkGroupInfo(s->kernel, p->cl->device, CL_KERNEL_WORK_GROUP_SIZE, sizeof kernel_wg, &kernel_wg,
                                 NULL) == CL_SUCCESS &&
        kernel_wg > 0 && kernel_wg < wg)
        wg = kernel_wg;
    return wg;
}

int32_t ipg_select_groups(const ipg_plan_t * p, int64_t n, int32_t k) {
    if (k <= 0 || n <= k) return 1;   // nothing to select: every element is kept
    const char * mode = getenv("IPG_SELECT");
    const bool force_single = mode && strcmp(mode, "single") == 0;
    const bool force_groups = mode && strcmp(mode, "groups") == 0;
    if (force_single || (p->cl->is_cpu && !force_groups)) return 1;
    int64_t g = (int64_t) (sqrt((double) n / k) + 0.5);
    if (g > IPG_SELECT_MAX_GROUPS) g = IPG_SELECT_MAX_GROUPS;
    if (g < 2) g = force_groups ? 2 : 1;
    return (int32_t) g;
}

void ipg_plan_stage(ipg_plan_t * p, const char * name, const ipg_tensor_t * t) {
    if (!grow((void **) &p->stages, &p->cap_stages, p->n_stages + 1, sizeof *p->stages))
        return;   // dumps are best effort
    ipg_stage_t * st = &p->stages[p->n_stages++];
    st->after_step = p->n_steps - 1;
    snprintf(st->name, sizeof st->name, "%s", name);
    st->t = *t;
    st->count = NULL;
    st->count_axis = 0;
}

void ipg_plan_stage_counted(ipg_plan_t * p, const char * name, const ipg_tensor_t * t, cl_mem count, int32_t axis) {
    const int32_t n = p->n_stages;
    ipg_plan_stage(p, name, t);
    if (p->n_stages == n + 1) {
        p->stages[n].count = count;
        p->stages[n].count_axis = axis;
    }
}

// IPG_LOG=4: each kernel's private memory and work-group limit, once per
// kernel name (a register tile that spills shows up here on GPUs).
static void log_kernel_resources(const ipg_plan_t * p, int32_t i) {
    const ipg_step_t * s = &p->steps[i];
    if (!s->kernel) return;   // a library call: its kernels are the library's
    for (int32_t j = 0; j < i; j++)
        if (strcmp(p->steps[j].kernel_name, s->kernel_name) == 0) return;
    cl_ulong priv = 0;
    size_t multiple = 0;
    cl_int rc =
        clGetKernelWorkGroupInfo(s->kernel, p->cl->device, CL_KERNEL_PRIVATE_MEM_SIZE, sizeof priv, &priv, NULL);
    // The work-group multiple the driver prefers (a GPU's warp or wavefront):
    // logged with the rest, for choosing local sizes on a new device.
    if (rc == CL_SUCCESS)
        rc = clGetKernelWorkGroupInfo(s->kernel, p->cl->device, CL_KERNEL_PREFERRED_WORK_GROUP_SIZE_MULTIPLE,
                                      sizeof multiple, &multiple, NULL);
    if (rc != CL_SUCCESS) {
        ipg_log(IPG_LOG_DEBUG,
                "kernel %s: CL_KERNEL_PRIVATE_MEM_SIZE or _PREFERRED_WORK_GROUP_SIZE_MULTIPLE "
                "unavailable (%s)",
                s->kernel_name, ipg_cl_error_name(rc));
        return;
    }
    ipg_log(IPG_LOG_DEBUG,
            "kernel %s: %llu bytes of private memory per work-item, work-group at most %zu, preferred multiple %zu",
            s->kernel_name, (unsigned long long) priv, s->kernel_wg, multiple);
}

ipg_status_t ipg_plan_finalize(ipg_plan_t * p) {
    if (p->share_tensors) {
        ipg_status_t st = ipg_plan_share_tensors(p);
        if (st != IPG_OK) return st;
    }
    if (p->scratch_bytes > 0) {
        p->scratch = ipg_cl_buffer(p->cl, CL_MEM_READ_WRITE, p->scratch_bytes, NULL, p->err, p->err_size);
        if (!p->scratch) {
            const char * group = p->group;
            p->group = "the convolutions' im2col scratch";
            name_layer(p, "a buffer of %zu bytes", p->scratch_bytes);
            p->group = group;
            return IPG_ERR_NO_MEMORY;
        }
    }
    for (int32_t i = 0; i < p->n_steps; i++) {
        ipg_step_t * s = &p->steps[i];
        if (s->too_many_args) {
            ipg_format_error(p->err, p->err_size, "kernel %s was given more than %d arguments (IPG_MAX_ARGS)",
                             s->kernel_name, IPG_MAX_ARGS);
            return IPG_ERR_INVALID_ARG;
        }
        log_kernel_resources(p, i);
        if (s->lws_too_big) {
            ipg_format_error(p->err, p->err_size,
                             "kernel %s needs a work-group of %zu x %zu x %zu work-items; this device allows %zu for "
                             "it (%zu x %zu x %zu per dimension)",
                             s->kernel_name, s->lws[0], s->dims > 1 ? s->lws[1] : 1, s->dims > 2 ? s->lws[2] : 1,
                             s->kernel_wg, s->max_items[0], s->max_items[1], s->max_items[2]);
            return IPG_ERR_INVALID_ARG;
        }
        // Local memory: the step's __local arguments plus the kernel's own
        // __local variables, against the device's (a GPU has 32-64 KiB).
        cl_ulong local = 0;
        if (clGetKernelWorkGroupInfo(s->kernel, p->cl->device, CL_KERNEL_LOCAL_MEM_SIZE, sizeof local, &local, NULL) !=
            CL_SUCCESS)
            local = 0;
        for (int32_t a = 0; a < s->n_args; a++)
            if (s->args[a].kind == IPG_ARG_LOCAL) local += (cl_ulong) s->args[a].i;
        if (local > p->cl->local_mem) {
            ipg_format_error(p->err, p->err_size,
                             "kernel %s (in %s) needs %llu bytes of local memory; this device has %llu per work-group",
                             s->kernel_name, s->group ? s->group : "the network", (unsigned long long) local,
                             (unsigned long long) p->cl->local_mem);
            return IPG_ERR_INVALID_ARG;
        }
        for (int32_t a = 0; a < s->n_args; a++) {
            const ipg_arg_t * arg = &s->args[a];
            cl_int rc;
            switch (arg->kind) {
                case IPG_ARG_MEM: rc = clSetKernelArg(s->kernel, a, sizeof(cl_mem), &arg->mem); break;
                case IPG_ARG_MEMREF: rc = clSetKernelArg(s->kernel, a, sizeof(cl_mem), arg->memref); break;
                case IPG_ARG_INT: rc = clSetKernelArg(s->kernel, a, sizeof(cl_int), &arg->i); break;
                case IPG_ARG_FLOAT: rc = clSetKernelArg(s->kernel, a, sizeof(cl_float), &arg->f); break;
                default: rc = clSetKernelArg(s->kernel, a, (size_t) arg->i, NULL); break;
            }
            if (rc != CL_SUCCESS) {
                ipg_format_error(p->err, p->err_size, "clSetKernelArg(%s, %d) failed: %s", s->kernel_name, a,
                                 ipg_cl_error_name(rc));
                return IPG_ERR_OPENCL;
            }
        }
    }
    // A library's routines compile their kernels at first use (CLBlast): run
    // each call step once now, so nothing is compiled after prepare. What
    // they write is overwritten by the first run.
    bool called = false;
    for (int32_t i = 0; i < p->n_steps; i++) {
        const ipg_step_t * s = &p->steps[i];
        if (!s->call) continue;
        ipg_status_t st = s->call(s, &p->cl->queue, NULL, p->err, p->err_size);
        if (st != IPG_OK) return st;
        called = true;
    }
    if (called) {
        cl_int rc = clFinish(p->cl->queue);
        if (rc != CL_SUCCESS) {
            ipg_format_error(p->err, p->err_size, "clFinish after the library calls' first run failed: %s",
                             ipg_cl_error_name(rc));
            return IPG_ERR_OPENCL;
        }
    }
    return IPG_OK;
}

ipg_status_t ipg_plan_update_float(ipg_plan_t * p, int32_t step, int32_t arg, float v) {
    if (step < 0 || step >= p->n_steps || arg < 0 || arg >= p->steps[step].n_args ||
        p->steps[step].args[arg].kind != IPG_ARG_FLOAT) {
        ipg_format_error(p->err, p->err_size, "internal: step %d has no float argument %d", step, arg);
        return IPG_ERR_INVALID_ARG;
    }
    ipg_step_t * s = &p->steps[step];
    const cl_float f = v;
    cl_int rc = clSetKernelArg(s->kernel, (cl_uint) arg, sizeof f, &f);
    if (rc != CL_SUCCESS) {
        ipg_format_error(p->err, p->err_size, "updating argument %d of %s failed: %s", arg, s->kernel_name,
                         ipg_cl_error_name(rc));
        return IPG_ERR_OPENCL;
    }
    s->args[arg].f = f;
    return IPG_OK;
}

ipg_status_t ipg_plan_enqueue(ipg_plan_t * p, int32_t first, cl_event * events, ipg_plan_stage_fn on_stage,
                              void * user_data) {
    return ipg_plan_enqueue_range(p, first, p->n_steps, events, on_stage, user_data);
}

ipg_status_t ipg_plan_enqueue_range(ipg_plan_t * p, int32_t first, int32_t end, cl_event * events,
                                    ipg_plan_stage_fn on_stage, void * user_data) {
    if (first < 0 || end > p->n_steps || first > end) {
        ipg_format_error(p->err, p->err_size, "internal: steps %d..%d of a plan of %d", first, end, p->n_steps);
        return IPG_ERR_INVALID_ARG;
    }
    int32_t next_stage = 0;
    while (next_stage < p->n_stages && p->stages[next_stage].after_step < first - 1) next_stage++;
    const int32_t batch = ipg_plan_batch(p);
    // A partial batch: the first `images` of the B. (Otherwise every step
    // runs: the letterbox steps of an unbatched detector's images, one per
    // image of the run, are marked with images past its batch of 1.)
    const bool partial = p->images > 0 && p->images < batch;
    const int32_t images = partial ? p->images : batch;
    for (int32_t i = first; i < end; i++) {
        const ipg_step_t * s = &p->steps[i];
        if (partial && s->image >= images) continue;   // an image the partial batch does not hold
        if (s->call) {
            ipg_status_t st = s->call(s, &p->cl->queue, events ? &events[i] : NULL, p->err, p->err_size);
            if (st != IPG_OK) {
                clFinish(p->cl->queue);
                return st;
            }
            for (; on_stage && next_stage < p->n_stages && p->stages[next_stage].after_step <= i; next_stage++) {
                st = on_stage(&p->stages[next_stage], user_data);
                if (st != IPG_OK) return st;
            }
            continue;
        }
        size_t gws[3] = { s->gws[0], s->gws[1], s->gws[2] };
        if (partial && s->batch_dim >= 0) {
            // The first images only, rounded up to the local size as at planning.
            size_t g = s->batch_extent * (size_t) images;
            const size_t l = s->has_lws ? s->lws[s->batch_dim] : 1;
            g = (g + l - 1) / l * l;
            if (g < gws[s->batch_dim]) gws[s->batch_dim] = g;
        }
        uint64_t items = 1;
        for (cl_uint d = 0; d < s->dims; d++) items *= gws[d];
        p->items_launched += items;
        cl_int rc = clEnqueueNDRangeKernel(p->cl->queue, s->kernel, s->dims, NULL, gws, s->has_lws ? s->lws : NULL, 0,
                                           NULL, events ? &events[i] : NULL);
        if (rc != CL_SUCCESS) {
            // The layer: the step's group and the stage it leads to (the
            // first stage at or after this step), as --dump-stages names it.
            const char * stage = NULL;
            for (int32_t j = 0; j < p->n_stages && !stage; j++)
                if (p->stages[j].after_step >= i) stage = p->stages[j].name;
            ipg_format_error(p->err, p->err_size,
                             "launching %s (step %d of %d, in %s, towards stage %s; global %zu x %zu x %zu, local "
                             "%s) failed: %s%s",
                             s->kernel_name, i, p->n_steps, s->group ? s->group : "the network",
                             stage ? stage : "(none)", s->gws[0], s->dims > 1 ? s->gws[1] : 1,
                             s->dims > 2 ? s->gws[2] : 1, s->has_lws ? "set" : "the driver's", ipg_cl_error_name(rc),
                             rc == CL_OUT_OF_RESOURCES || rc == CL_MEM_OBJECT_ALLOCATION_FAILURE
                                 ? ": the device ran out of resources for this layer (try a smaller input or batch)"
                                 : "");
            clFinish(p->cl->queue);
            return IPG_ERR_OPENCL;
        }
        // The stages of the steps that just ran ("input" hangs on the
        // preprocessing step, index first - 1 when it is skipped).
        for (; on_stage && next_stage < p->n_stages && p->stages[next_stage].after_step <= i; next_stage++) {
            ipg_status_t st = on_stage(&p->stages[next_stage], user_data);
            if (st != IPG_OK) return st;
        }
    }
    return IPG_OK;
}

ipg_status_t ipg_plan_run(ipg_plan_t * p) {
    ipg_status_t st = ipg_plan_enqueue(p, 0, NULL, NULL, NULL);
    if (st != IPG_OK) return st;
    cl_int rc = clFinish(p->cl->queue);
    if (rc != CL_SUCCESS) {
        ipg_format_error(p->err, p->err_size, "clFinish failed: %s", ipg_cl_error_name(rc));
        return IPG_ERR_OPENCL;
    }
    return IPG_OK;
}

void ipg_plan_free(ipg_plan_t * p) {
    for (int32_t i = 0; i < p->n_steps; i++)
        if (p->steps[i].kernel) clReleaseKernel(p->steps[i].kernel);
    for (int32_t i = 0; i < p->n_buffers; i++) clReleaseMemObject(p->buffers[i]);
    if (p->scratch) clReleaseMemObject(p->scratch);
    free(p->steps);
    free(p->buffers);
    free(p->stages);
    free(p->tensors);
    ipg_cl_t * cl = p->cl;
    char * err = p->err;
    size_t err_size = p->err_size;
    memset(p, 0, sizeof *p);
    p->cl = cl;
    p->err = err;
    p->err_size = err_size;
}
