// SPDX-License-Identifier: LGPL-2.1-or-later
// plan.h: the plan of one frame size (plan.c): device tensors, and one
// ipg_step_t per kernel launch with every argument recorded, built once at
// prepare and enqueued for every frame. Not installed.
#ifndef IPG_PLAN_H
#define IPG_PLAN_H

#include "cl-runtime.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// A device tensor of the plan's batch B: [B][c][h][w] float32 (c, h, w are
// one image's). Its buffer has IPG_TENSOR_SLACK floats past the end:
// conv-direct.cl's vector loads may read (never use) up to 16 floats past a
// row.
#define IPG_TENSOR_SLACK 16
typedef struct {
    cl_mem buf;
    int32_t c, h, w;
} ipg_tensor_t;

// A kernel argument whose value is bound at plan finalisation, so that a
// step may name a buffer (the shared scratch) that grows while planning.
typedef struct {
    enum { IPG_ARG_MEM, IPG_ARG_MEMREF, IPG_ARG_INT, IPG_ARG_FLOAT, IPG_ARG_LOCAL } kind;   // LOCAL: i bytes
    cl_mem mem;
    cl_mem * memref;
    cl_int i;
    cl_float f;
} ipg_arg_t;

// Arguments a step can hold: the widest kernel (ipg_roi_align) takes 24.
// One more is a plan error (ipg_plan_finalize), never a silent overwrite.
#define IPG_MAX_ARGS 32

struct ipg_step;
// A step that calls a library routine enqueuing kernels of its own (CLBlast,
// clblast-path.c) instead of launching one of ours. It enqueues on *queue,
// sets *event (when not NULL) to the event of its last launch, and on failure
// writes a sentence naming the routine into err.
typedef ipg_status_t (*ipg_step_call_fn)(const struct ipg_step * s, cl_command_queue * queue, cl_event * event,
                                         char * err, size_t err_size);

typedef struct ipg_step {
    cl_kernel kernel;   // owned: one kernel object per step keeps its args (NULL for a call step)
    const char * kernel_name;
    cl_uint dims;
    size_t gws[3];
    size_t lws[3];
    bool has_lws;
    size_t kernel_wg;      // CL_KERNEL_WORK_GROUP_SIZE on the plan's device
    size_t max_items[3];   // CL_DEVICE_MAX_WORK_ITEM_SIZES
    bool lws_too_big;      // a required local size over those limits (ipg_plan_finalize refuses)
    int32_t n_args;
    bool too_many_args;   // an argument past IPG_MAX_ARGS was refused
    ipg_arg_t args[IPG_MAX_ARGS];
    const char * group;   // profiling group ("stem", "layer2", "head", ...)
    double flop;          // arithmetic of this launch (convolutions only)
    // A call step (ipg_plan_call): the routine and what it is given.
    ipg_step_call_fn call;
    cl_mem call_mem[4];
    cl_mem * call_memref;   // bound when enqueued (the plan's scratch)
    size_t call_size[16];
    // A partial batch (ipg_plan_t.images < B) launches less: a step over the
    // whole batch whose grid dimension batch_dim (>= 0) is [B][batch_extent]
    // runs only the first images' part; a step of one image (image >= 0)
    // past them is skipped. Unmarked steps run whole (always correct).
    int32_t batch_dim;
    size_t batch_extent;
    int32_t image;
} ipg_step_t;

// A named tensor handed to the stage callback once step `after_step` ran.
// With `count` set, only the first *count rows (count_axis 1: along h) or
// columns (2: along w) are valid this frame; the dump reports just those.
typedef struct {
    int32_t after_step;
    char name[32];
    ipg_tensor_t t;
    cl_mem count;
    int32_t count_axis;
} ipg_stage_t;

// A tensor the plan allocated (ipg_plan_tensor): its buffer's size, and
// whether the host touches it outside the steps (ipg_plan_pin).
typedef struct {
    cl_mem buf;
    size_t bytes;
    bool pinned;
} ipg_plan_tensor_info_t;

typedef struct ipg_plan {
    ipg_cl_t * cl;
    ipg_step_t * steps;
    int32_t n_steps, cap_steps;
    cl_mem * buffers;   // every buffer the plan allocated (owned)
    int32_t n_buffers, cap_buffers;
    int32_t batch;             // images per pass, B (0 counts as 1): every tensor holds B images
    int32_t images;            // 1..B - 1: the next enqueue runs the first images only (0: all)
    uint64_t items_launched;   // work-items of every launch so far (tests)
    cl_mem scratch;            // im2col operand or Winograd data, shared by all convs
    bool pack_all_convs;       // no direct 3x3 path (IPG_CONV=pack; tests)
    bool no_winograd;          // 3x3 convs direct even with Winograd weights (IPG_CONV=direct; tests)
    // Which Winograd kernels (winograd.c): AUTO where it pays, by the number
    // of tiles; the others force one form on every conv with Winograd
    // weights (tests and bench-conv).
    enum { IPG_WINOGRAD_FORM_AUTO, IPG_WINOGRAD_FORM_FUSED, IPG_WINOGRAD_FORM_SPLIT } winograd_form;
    size_t scratch_bytes;
    ipg_stage_t * stages;
    int32_t n_stages, cap_stages;
    // Tensors whose lifetimes do not overlap share one buffer at
    // ipg_plan_finalize (plan-memory.c) when set: the network's plan does,
    // plans whose tensors the host reads after the run (tests) do not.
    bool share_tensors;
    ipg_plan_tensor_info_t * tensors;
    int32_t n_tensors, cap_tensors;
    const char * group;   // current profiling group
    char * err;
    size_t err_size;
} ipg_plan_t;

// The plan's batch B, at least 1.
static inline int32_t ipg_plan_batch(const ipg_plan_t * p) { return p->batch > 1 ? p->batch : 1; }
// Allocates a tensor of B images of c x h x w.
ipg_status_t ipg_plan_tensor(ipg_plan_t * p, ipg_tensor_t * t, int32_t c, int32_t h, int32_t w);
cl_mem ipg_plan_buffer(ipg_plan_t * p, size_t bytes, const void * host);
// Marks a tensor's buffer as one the host writes or reads outside the steps
// (the network input): it keeps a buffer of its own when tensors share.
void ipg_plan_pin(ipg_plan_t * p, cl_mem buf);
// plan-memory.c: with share_tensors set, gives tensors whose step ranges do
// not overlap one buffer (a stage extends its tensor's range to the step it
// hangs on) and rewrites the steps' and stages' arguments. Called by
// ipg_plan_finalize before any argument is set; the tensors' own buffers,
// never used by a command, are released (PoCL allocates a buffer's memory at
// its first use, so they never took any; a driver that allocates at
// creation holds them only until then).
ipg_status_t ipg_plan_share_tensors(ipg_plan_t * p);
// Appends a launch of `kernel_name`; NULL on failure (p->err set). The
// returned pointer is valid until the next ipg_plan_step: keep step indices
// (p->n_steps - 1), not pointers, across steps.
ipg_step_t * ipg_plan_step(ipg_plan_t * p, const char * kernel_name);
// Appends a call step (kernel NULL) named `name`; the caller fills call_mem,
// call_memref and call_size. NULL on failure (p->err set).
ipg_step_t * ipg_plan_call(ipg_plan_t * p, const char * name, ipg_step_call_fn fn);
// Each appends the next argument and returns its index, to record where a
// value that changes later lives (ipg_plan_update_float); -1 past IPG_MAX_ARGS
// (then ipg_plan_finalize fails).
int32_t ipg_step_mem(ipg_step_t * s, cl_mem m);
int32_t ipg_step_memref(ipg_step_t * s, cl_mem * m);
int32_t ipg_step_int(ipg_step_t * s, int32_t v);
int32_t ipg_step_float(ipg_step_t * s, float v);
int32_t ipg_step_local(ipg_step_t * s, size_t bytes);
// The launch's global size. lws NULL: independent work-items (every kernel
// bounds-checks its ids), the driver picks the local size -- or
// IPG_FORCE_LWS when set (below). lws given: a work-group algorithm that
// needs exactly that local size; over the kernel's or device's limits the
// plan is refused at ipg_plan_finalize. The global size is rounded up to a
// multiple of the local size (OpenCL 1.2).
void ipg_step_range(ipg_step_t * s, cl_uint dims, const size_t * gws, const size_t * lws);
// Marks grid dimension d of the step as [B][extent] (after its range is set).
void ipg_step_batch_dim(ipg_step_t * s, cl_uint d, size_t extent);
// Marks the step as image b's alone.
void ipg_step_image(ipg_step_t * s, int32_t image);
// Independent work-items with a preferred local size (the register-tile
// kernels want 1 per group on CPUs), capped by the kernel's and device's
// limits; IPG_FORCE_LWS overrides it.
void ipg_step_range_prefer(ipg_step_t * s, cl_uint dims, const size_t * gws, const size_t * preferred);
// IPG_FORCE_LWS=x[,y[,z]] (a test mode, docs/ARCHITECTURE.md): the local
// size of every launch of independent work-items (missing dimensions 1), so
// that global sizes are rounded up and every kernel's bounds checks run.
// Fills lws and returns true when set and well-formed.
bool ipg_forced_lws(size_t lws[3]);
// The work-group size for a one-work-group select kernel (the radix select
// of common.cl): the device's and the kernel's limits, at most IPG_RADIX_BINS.
size_t ipg_step_select_wg(const ipg_plan_t * p, const ipg_step_t * s);
// How many work-groups the top-k select of a level of at most n elements
// should use (kernels/select-groups.cl): 1 keeps the single-group kernel.
// GPUs: about sqrt(n / k), at most IPG_SELECT_MAX_GROUPS (the partial
// selects cost n / G each, in parallel, the merge G * k); CPUs: 1 (PoCL runs
// the levels' groups on its threads already; docs/PERFORMANCE.md).
// IPG_SELECT=single or =groups forces one or the other (tests; groups: at
// least 2 wherever n > k).
#define IPG_SELECT_MAX_GROUPS 32
int32_t ipg_select_groups(const ipg_plan_t * p, int64_t n, int32_t k);
void ipg_plan_stage(ipg_plan_t * p, const char * name, const ipg_tensor_t * t);
// A stage of which only the first *count rows (axis 1) or columns (axis 2) are valid.
void ipg_plan_stage_counted(ipg_plan_t * p, const char * name, const ipg_tensor_t * t, cl_mem count, int32_t axis);
// Allocates the shared scratch and sets every recorded argument.
ipg_status_t ipg_plan_finalize(ipg_plan_t * p);
// Rewrites one float argument of a finalised plan in place (a threshold).
ipg_status_t ipg_plan_update_float(ipg_plan_t * p, int32_t step, int32_t arg, float v);

// Called by ipg_plan_enqueue for each stage once its step is enqueued.
typedef ipg_status_t (*ipg_plan_stage_fn)(const ipg_stage_t * stage, void * user_data);
// Enqueues steps first..n_steps - 1 in order (one event each into `events`
// when not NULL, indexed by step) and hands out the stages that hang on them
// (those after step first - 1 included: "input" hangs on the preprocessing).
// Does not wait.
ipg_status_t ipg_plan_enqueue(ipg_plan_t * p, int32_t first, cl_event * events, ipg_plan_stage_fn on_stage,
                              void * user_data);
// The same for steps first..end - 1.
ipg_status_t ipg_plan_enqueue_range(ipg_plan_t * p, int32_t first, int32_t end, cl_event * events,
                                    ipg_plan_stage_fn on_stage, void * user_data);
// Enqueues every step and waits (tests).
ipg_status_t ipg_plan_run(ipg_plan_t * p);
void ipg_plan_free(ipg_plan_t * p);

#endif   // IPG_PLAN_H
