// SPDX-License-Identifier: LGPL-2.1-or-later
// plan-memory.c: tensors whose lifetimes do not overlap share one buffer.
//
// Why: every op's output was a buffer of its own, so a plan held every
// activation of the network at once (R50 at 512x512: 386 MB of tensors; the
// demo model: 61 MB per context). A tensor is live from the first step that names it to
// the last (or to the step a stage dump hangs on); the steps run in order on
// one in-order queue, so a buffer whose last reader has been enqueued can be
// handed to a tensor first written later. Slots are assigned greedily in
// order of first use (best fit by size; a slot grows to its largest tenant):
// a greedy interval colouring.
//
// What stays apart: pinned tensors (the host writes or reads them outside the
// steps: the network input), tensors no step names, and every buffer that is
// not a tensor (ipg_plan_buffer: detector state the host reads, tables).
#include "log.h"
#include "plan.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    cl_mem buf;
    int32_t tensor;
} by_buf_t;

static int cmp_buf(const void * a, const void * b) {
    const uintptr_t x = (uintptr_t) ((const by_buf_t *) a)->buf, y = (uintptr_t) ((const by_buf_t *) b)->buf;
    return x < y ? -1 : x > y;
}

static int32_t tensor_of(const by_buf_t * index, int32_t n, cl_mem m) {
    if (!m) return -1;
    const by_buf_t key = { .buf = m };
    const by_buf_t * hit = bsearch(&key, index, (size_t) n, sizeof *index, cmp_buf);
    return hit ? hit->tensor : -1;
}

typedef struct {
    int32_t first, last;   // steps; last < 0: no step names the tensor
    int32_t slot;          // -1: keeps its own buffer
} life_t;

typedef struct {
    int32_t first, tensor;
} by_first_t;

static int cmp_first_use(const void * a, const void * b) {
    const by_first_t *x = a, *y = b;
    if (x->first != y->first) return x->first < y->first ? -1 : 1;
    return (x->tensor > y->tensor) - (x->tensor < y->tensor);
}

static void note_use(life_t * life, int32_t t, int32_t step) {
    if (t < 0) return;
    if (step < life[t].first) life[t].first = step;
    if (step > life[t].last) life[t].last = step;
}

// Replaces *m by its tensor's slot buffer when the tensor moved.
static void rebind(cl_mem * m, const by_buf_t * index, int32_t n, const life_t * life, const cl_mem * slot_buf) {
    const int32_t t = tensor_of(index, n, *m);
    if (t >= 0 && life[t].slot >= 0) *m = slot_buf[life[t].slot];
}

ipg_status_t ipg_plan_share_tensors(ipg_plan_t * p) {
    const int32_t n = p->n_tensors;
    if (n == 0) return IPG_OK;
    ipg_status_t st = IPG_ERR_NO_MEMORY;
    by_buf_t * index = malloc((size_t) n * sizeof *index);
    life_t * life = malloc((size_t) n * sizeof *life);
    by_first_t * order = malloc((size_t) n * sizeof *order);
    size_t * slot_bytes = calloc((size_t) n, sizeof *slot_bytes);
    int32_t * slot_free_after = calloc((size_t) n, sizeof *slot_free_after);
    cl_mem * slot_buf = calloc((size_t) n, sizeof *slot_buf);
    int32_t n_slots = 0;
    if (!index || !life || !order || !slot_bytes || !slot_free_after || !slot_buf) {
        ipg_format_error(p->err, p->err_size, "out of memory");
        goto done;
    }
    for (int32_t i = 0; i < n; i++) {
        index[i] = (by_buf_t){ .buf = p->tensors[i].buf, .tensor = i };
        life[i] = (life_t){ .first = INT32_MAX, .last = -1, .slot = -1 };
    }
    qsort(index, (size_t) n, sizeof *index, cmp_buf);

    // Lifetimes: every step argument and library-call operand naming a tensor.
    for (int32_t s = 0; s < p->n_steps; s++) {
        const ipg_step_t * step = &p->steps[s];
        for (int32_t a = 0; a < step->n_args; a++)
            if (step->args[a].kind == IPG_ARG_MEM) note_use(life, tensor_of(index, n, step->args[a].mem), s);
        for (size_t c = 0; c < sizeof step->call_mem / sizeof step->call_mem[0]; c++)
            note_use(life, tensor_of(index, n, step->call_mem[c]), s);
    }
    // A stage is read once its step has been enqueued: its tensor lives until then.
    for (int32_t i = 0; i < p->n_stages; i++) {
        const int32_t t = tensor_of(index, n, p->stages[i].t.buf);
        if (t >= 0 && life[t].last >= 0) note_use(life, t, p->stages[i].after_step);
    }

    // Greedy interval colouring in order of first use.
    for (int32_t i = 0; i < n; i++) order[i] = (by_first_t){ .first = life[i].first, .tensor = i };
    qsort(order, (size_t) n, sizeof *order, cmp_first_use);
    for (int32_t k = 0; k < n; k++) {
        const int32_t t = order[k].tensor;
        if (p->tensors[t].pinned || life[t].last < 0) continue;
        const size_t need = p->tensors[t].bytes;
        int32_t fit = -1, grow = -1;   // smallest free slot that fits; largest free one
        for (int32_t s = 0; s < n_slots; s++) {
            if (slot_free_after[s] >= life[t].first) continue;   // its tenant is still live
            if (slot_bytes[s] >= need) {
                if (fit < 0 || slot_bytes[s] < slot_bytes[fit]) fit = s;
            } else if (grow < 0 || slot_bytes[s] > slot_bytes[grow]) {
                grow = s;
            }
        }
        int32_t s = fit >= 0 ? fit : grow;
        if (s < 0) s = n_slots++;
        if (slot_bytes[s] < need) slot_bytes[s] = need;
        slot_free_after[s] = life[t].last;
        life[t].slot = s;
    }

    // One buffer per slot, then every argument and stage moved onto them.
    size_t shared = 0;
    for (int32_t s = 0; s < n_slots; s++) {
        slot_buf[s] = ipg_plan_buffer(p, slot_bytes[s], NULL);
        if (!slot_buf[s]) {
            st = IPG_ERR_NO_MEMORY;
            goto done;
        }
        shared += slot_bytes[s];
    }
    for (int32_t s = 0; s < p->n_steps; s++) {
        ipg_step_t * step = &p->steps[s];
        for (int32_t a = 0; a < step->n_args; a++)
            if (step->args[a].kind == IPG_ARG_MEM) rebind(&step->args[a].mem, index, n, life, slot_buf);
        for (size_t c = 0; c < sizeof step->call_mem / sizeof step->call_mem[0]; c++)
            rebind(&step->call_mem[c], index, n, life, slot_buf);
    }
    for (int32_t i = 0; i < p->n_stages; i++) rebind(&p->stages[i].t.buf, index, n, life, slot_buf);

    // The moved tensors' own buffers were never used by a command: release them.
    size_t own = 0;
    for (int32_t t = 0; t < n; t++) {
        own += p->tensors[t].bytes;
        if (life[t].slot < 0) {
            shared += p->tensors[t].bytes;
            continue;
        }
        const cl_mem old = p->tensors[t].buf;
        for (int32_t b = 0; b < p->n_buffers; b++)
            if (p->buffers[b] == old) {
                p->buffers[b] = p->buffers[--p->n_buffers];
                break;
            }
        clReleaseMemObject(old);
        p->cl->bytes_allocated -= p->tensors[t].bytes;
        p->tensors[t].buf = slot_buf[life[t].slot];
    }
    ipg_log(IPG_LOG_INFO, "tensors: %d of %.1f MB share %d buffers: %.1f MB", n, (double) own / (1 << 20), n_slots,
            (double) shared / (1 << 20));
    st = IPG_OK;
done:
    free(index);
    free(life);
    free(order);
    free(slot_bytes);
    free(slot_free_after);
    free(slot_buf);
    return st;
}
