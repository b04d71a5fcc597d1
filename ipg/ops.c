// SPDX-License-Identifier: LGPL-2.1-or-later
// ops.c: the plan (a list of kernel launches with their arguments, built once
// per frame size) and the ops that append to it. Nothing here runs a kernel:
// ctx.c enqueues the finished plan for every frame.
#include "ipg-impl.h"

#include <stdlib.h>
#include <string.h>

// ---- plan ----------------------------------------------------------------

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

ipg_status_t ipg_plan_tensor(ipg_plan_t * p, ipg_tensor_t * t, int32_t c, int32_t h, int32_t w) {
    if (c <= 0 || h <= 0 || w <= 0) {
        ipg_format_error(p->err, p->err_size, "tensor of size %dx%dx%d is empty: the input is too small for the network",
                         c, h, w);
        return IPG_ERR_INVALID_ARG;
    }
    if (!grow((void **) &p->buffers, &p->cap_buffers, p->n_buffers + 1, sizeof *p->buffers)) {
        ipg_format_error(p->err, p->err_size, "out of memory");
        return IPG_ERR_NO_MEMORY;
    }
    t->c = c; t->h = h; t->w = w;
    t->buf = ipg_cl_buffer(p->cl, CL_MEM_READ_WRITE, ((size_t) c * h * w + IPG_TENSOR_SLACK) * sizeof(float), NULL,
                           p->err, p->err_size);
    if (!t->buf) return IPG_ERR_NO_MEMORY;
    p->buffers[p->n_buffers++] = t->buf;
    return IPG_OK;
}

cl_mem ipg_plan_buffer(ipg_plan_t * p, size_t bytes, const void * host) {
    if (!grow((void **) &p->buffers, &p->cap_buffers, p->n_buffers + 1, sizeof *p->buffers)) {
        ipg_format_error(p->err, p->err_size, "out of memory");
        return NULL;
    }
    cl_mem m = ipg_cl_buffer(p->cl, CL_MEM_READ_WRITE, bytes, host, p->err, p->err_size);
    if (m) p->buffers[p->n_buffers++] = m;
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
    s->group = p->group;
    return s;
}

static ipg_arg_t * next_arg(ipg_step_t * s) {
    // IPG_MAX_ARGS bounds every kernel in kernels/; exceeding it is a bug here.
    return s->n_args < IPG_MAX_ARGS ? &s->args[s->n_args++] : &s->args[IPG_MAX_ARGS - 1];
}
void ipg_step_mem(ipg_step_t * s, cl_mem m)       { ipg_arg_t * a = next_arg(s); a->kind = IPG_ARG_MEM; a->mem = m; }
void ipg_step_memref(ipg_step_t * s, cl_mem * m)  { ipg_arg_t * a = next_arg(s); a->kind = IPG_ARG_MEMREF; a->memref = m; }
void ipg_step_int(ipg_step_t * s, int32_t v)      { ipg_arg_t * a = next_arg(s); a->kind = IPG_ARG_INT; a->i = v; }
void ipg_step_float(ipg_step_t * s, float v)      { ipg_arg_t * a = next_arg(s); a->kind = IPG_ARG_FLOAT; a->f = v; }
void ipg_step_local(ipg_step_t * s, size_t bytes) { ipg_arg_t * a = next_arg(s); a->kind = IPG_ARG_LOCAL; a->i = (cl_int) bytes; }

void ipg_step_range(ipg_step_t * s, cl_uint dims, const size_t * gws, const size_t * lws) {
    s->dims = dims;
    for (cl_uint d = 0; d < dims; d++) {
        s->gws[d] = gws[d];
        s->lws[d] = lws ? lws[d] : 0;
    }
    s->has_lws = lws != NULL;
    // OpenCL 1.2 needs global sizes divisible by the local size: round up;
    // every kernel bounds-checks its ids.
    if (lws)
        for (cl_uint d = 0; d < dims; d++) s->gws[d] = (s->gws[d] + lws[d] - 1) / lws[d] * lws[d];
}

void ipg_plan_stage(ipg_plan_t * p, const char * name, const ipg_tensor_t * t) {
    if (!grow((void **) &p->stages, &p->cap_stages, p->n_stages + 1, sizeof *p->stages)) return;   // dumps are best effort
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

ipg_status_t ipg_plan_finalize(ipg_plan_t * p) {
    if (p->scratch_bytes > 0) {
        p->scratch = ipg_cl_buffer(p->cl, CL_MEM_READ_WRITE, p->scratch_bytes, NULL, p->err, p->err_size);
        if (!p->scratch) return IPG_ERR_NO_MEMORY;
    }
    for (int32_t i = 0; i < p->n_steps; i++) {
        ipg_step_t * s = &p->steps[i];
        for (int32_t a = 0; a < s->n_args; a++) {
            const ipg_arg_t * arg = &s->args[a];
            cl_int rc;
            switch (arg->kind) {
                case IPG_ARG_MEM:    rc = clSetKernelArg(s->kernel, a, sizeof(cl_mem), &arg->mem); break;
                case IPG_ARG_MEMREF: rc = clSetKernelArg(s->kernel, a, sizeof(cl_mem), arg->memref); break;
                case IPG_ARG_INT:    rc = clSetKernelArg(s->kernel, a, sizeof(cl_int), &arg->i); break;
                case IPG_ARG_FLOAT:  rc = clSetKernelArg(s->kernel, a, sizeof(cl_float), &arg->f); break;
                default:             rc = clSetKernelArg(s->kernel, a, (size_t) arg->i, NULL); break;
            }
            if (rc != CL_SUCCESS) {
                ipg_format_error(p->err, p->err_size, "clSetKernelArg(%s, %d) failed: %s", s->kernel_name, a,
                                 ipg_cl_error_name(rc));
                return IPG_ERR_OPENCL;
            }
        }
    }
    return IPG_OK;
}

ipg_status_t ipg_plan_run(ipg_plan_t * p) {
    for (int32_t i = 0; i < p->n_steps; i++) {
        const ipg_step_t * s = &p->steps[i];
        cl_int rc = clEnqueueNDRangeKernel(p->cl->queue, s->kernel, s->dims, NULL, s->gws, s->has_lws ? s->lws : NULL,
                                           0, NULL, NULL);
        if (rc != CL_SUCCESS) {
            ipg_format_error(p->err, p->err_size, "launching %s failed: %s", s->kernel_name, ipg_cl_error_name(rc));
            clFinish(p->cl->queue);
            return IPG_ERR_OPENCL;
        }
    }
    cl_int rc = clFinish(p->cl->queue);
    if (rc != CL_SUCCESS) {
        ipg_format_error(p->err, p->err_size, "clFinish failed: %s", ipg_cl_error_name(rc));
        return IPG_ERR_OPENCL;
    }
    return IPG_OK;
}

void ipg_plan_free(ipg_plan_t * p) {
    for (int32_t i = 0; i < p->n_steps; i++) clReleaseKernel(p->steps[i].kernel);
    for (int32_t i = 0; i < p->n_buffers; i++) clReleaseMemObject(p->buffers[i]);
    if (p->scratch) clReleaseMemObject(p->scratch);
    free(p->steps);
    free(p->buffers);
    free(p->stages);
    ipg_cl_t * cl = p->cl;
    char * err = p->err;
    size_t err_size = p->err_size;
    memset(p, 0, sizeof *p);
    p->cl = cl;
    p->err = err;
    p->err_size = err_size;
}

// ---- convolution ---------------------------------------------------------

ipg_status_t ipg_conv_upload(ipg_cl_t * cl, const ipg_conv_host_t * h, int32_t cin_begin, int32_t cin_count,
                             bool with_bias, ipg_conv_dev_t * out, char * err, size_t err_size) {
    memset(out, 0, sizeof *out);
    const int32_t M = h->cout, kk = h->kh * h->kw;
    const int32_t K = cin_count * kk, full_k = h->cin * kk;
    const int32_t mb = (M + IPG_GEMM_MR - 1) / IPG_GEMM_MR;
    const size_t n = (size_t) mb * K * IPG_GEMM_MR;
    float * packed = calloc(n, sizeof(float));
    float * bias = calloc((size_t) M, sizeof(float));
    if (!packed || !bias) {
        free(packed); free(bias);
        ipg_format_error(err, err_size, "out of memory packing '%s'", h->name);
        return IPG_ERR_NO_MEMORY;
    }
    // [M][K] row-major -> [M / MR][K][MR], rows past M left zero.
    for (int32_t m = 0; m < M; m++)
        for (int32_t k = 0; k < K; k++)
            packed[((size_t) (m / IPG_GEMM_MR) * K + k) * IPG_GEMM_MR + m % IPG_GEMM_MR] =
                h->w[(size_t) m * full_k + (size_t) cin_begin * kk + k];
    if (with_bias) memcpy(bias, h->b, (size_t) M * sizeof(float));
    out->w_packed = ipg_cl_buffer(cl, CL_MEM_READ_ONLY, n * sizeof(float), packed, err, err_size);
    out->bias = out->w_packed ? ipg_cl_buffer(cl, CL_MEM_READ_ONLY, (size_t) M * sizeof(float), bias, err, err_size)
                              : NULL;
    free(packed);
    free(bias);
    if (!out->w_packed || !out->bias) {
        ipg_conv_dev_free(out);
        return IPG_ERR_NO_MEMORY;
    }
    out->cout = M; out->cin = cin_count; out->kh = h->kh; out->kw = h->kw;
    out->stride = h->stride; out->pad = h->pad;
    return IPG_OK;
}

void ipg_conv_dev_free(ipg_conv_dev_t * d) {
    if (d->w_packed) clReleaseMemObject(d->w_packed);
    if (d->bias) clReleaseMemObject(d->bias);
    memset(d, 0, sizeof *d);
}

static ipg_status_t out_tensor(ipg_plan_t * p, ipg_tensor_t * out, int32_t c, int32_t h, int32_t w) {
    if (out->buf) {
        if (out->c != c || out->h != h || out->w != w) {
            ipg_format_error(p->err, p->err_size, "internal: output tensor shape mismatch");
            return IPG_ERR_INVALID_ARG;
        }
        return IPG_OK;
    }
    return ipg_plan_tensor(p, out, c, h, w);
}

ipg_status_t ipg_op_conv(ipg_plan_t * p, const ipg_conv_dev_t * conv, const ipg_tensor_t * in,
                         const ipg_tensor_t * res, bool relu, ipg_tensor_t * out) {
    if (in->c != conv->cin) {
        ipg_format_error(p->err, p->err_size, "internal: conv expects %d input channels, got %d", conv->cin, in->c);
        return IPG_ERR_INVALID_ARG;
    }
    const int32_t OH = (in->h + 2 * conv->pad - conv->kh) / conv->stride + 1;
    const int32_t OW = (in->w + 2 * conv->pad - conv->kw) / conv->stride + 1;
    ipg_status_t st = out_tensor(p, out, conv->cout, OH, OW);
    if (st != IPG_OK) return st;
    if (res && (res->c != out->c || res->h != out->h || res->w != out->w)) {
        ipg_format_error(p->err, p->err_size, "internal: residual shape mismatch");
        return IPG_ERR_INVALID_ARG;
    }
    const int32_t K = conv->cin * conv->kh * conv->kw;
    const int32_t N = OH * OW, M = conv->cout;
    if (conv->kh == 3 && conv->kw == 3 && conv->stride == 1 && conv->pad == 1 && !p->pack_all_convs) {
        // conv-direct.cl: the input read in place, no im2col copy.
        ipg_step_t * s = ipg_plan_step(p, "ipg_conv3x3_direct");
        if (!s) return IPG_ERR_OPENCL;
        const size_t mb = ((size_t) M + IPG_GEMM_MR - 1) / IPG_GEMM_MR;
        const size_t nb = (size_t) OH * (((size_t) OW + 15) / 16);
        ipg_step_mem(s, conv->w_packed);
        ipg_step_mem(s, in->buf);
        ipg_step_mem(s, conv->bias);
        ipg_step_mem(s, res ? res->buf : conv->bias);   // not read without flag 2
        ipg_step_mem(s, out->buf);
        ipg_step_int(s, M); ipg_step_int(s, in->c); ipg_step_int(s, in->h); ipg_step_int(s, in->w);
        ipg_step_int(s, (relu ? 1 : 0) | (res ? 2 : 0));
        s->flop = 2.0 * M * N * K;
        ipg_step_range(s, 2, (size_t[]) { mb, nb }, p->cl->is_cpu ? (size_t[]) { 1, 1 } : NULL);
        return IPG_OK;
    }
    const size_t nb = ((size_t) N + IPG_GEMM_NR - 1) / IPG_GEMM_NR;
    const size_t mb = ((size_t) M + IPG_GEMM_MR - 1) / IPG_GEMM_MR;
    const size_t bytes = nb * (size_t) K * IPG_GEMM_NR * sizeof(float);
    if (bytes > p->scratch_bytes) p->scratch_bytes = bytes;

    ipg_step_t * s = ipg_plan_step(p, "ipg_conv_pack");
    if (!s) return IPG_ERR_OPENCL;
    ipg_step_mem(s, in->buf);
    ipg_step_int(s, in->c); ipg_step_int(s, in->h); ipg_step_int(s, in->w);
    ipg_step_int(s, conv->kh); ipg_step_int(s, conv->kw);
    ipg_step_int(s, conv->stride); ipg_step_int(s, conv->pad);
    ipg_step_int(s, OH); ipg_step_int(s, OW);
    ipg_step_memref(s, &p->scratch);
    ipg_step_int(s, K);
    ipg_step_range(s, 2, (size_t[]) { (size_t) K, nb }, NULL);

    s = ipg_plan_step(p, "ipg_gemm_packed");
    if (!s) return IPG_ERR_OPENCL;
    ipg_step_mem(s, conv->w_packed);
    ipg_step_memref(s, &p->scratch);
    ipg_step_mem(s, conv->bias);
    ipg_step_mem(s, res ? res->buf : conv->bias);   // not read without flag 2
    ipg_step_mem(s, out->buf);
    ipg_step_int(s, M); ipg_step_int(s, N); ipg_step_int(s, K);
    ipg_step_int(s, (relu ? 1 : 0) | (res ? 2 : 0));
    s->flop = 2.0 * M * N * K;
    // One work-item per register tile; local (1, 1) on CPUs keeps PoCL from
    // wrapping the tile in a work-item loop.
    ipg_step_range(s, 2, (size_t[]) { mb, nb }, p->cl->is_cpu ? (size_t[]) { 1, 1 } : NULL);
    return IPG_OK;
}

// ---- pooling, resampling, element-wise ------------------------------------

static ipg_status_t spatial_op(ipg_plan_t * p, const char * kernel, const ipg_tensor_t * in, int32_t oh, int32_t ow,
                               ipg_tensor_t * out) {
    ipg_status_t st = out_tensor(p, out, in->c, oh, ow);
    if (st != IPG_OK) return st;
    ipg_step_t * s = ipg_plan_step(p, kernel);
    if (!s) return IPG_ERR_OPENCL;
    ipg_step_mem(s, in->buf);
    ipg_step_int(s, in->h); ipg_step_int(s, in->w);
    ipg_step_mem(s, out->buf);
    ipg_step_int(s, oh); ipg_step_int(s, ow);
    ipg_step_range(s, 3, (size_t[]) { (size_t) ow, (size_t) oh, (size_t) in->c }, NULL);
    return IPG_OK;
}

ipg_status_t ipg_op_maxpool3x3s2(ipg_plan_t * p, const ipg_tensor_t * in, ipg_tensor_t * out) {
    return spatial_op(p, "ipg_maxpool3x3s2", in, (in->h - 1) / 2 + 1, (in->w - 1) / 2 + 1, out);
}

ipg_status_t ipg_op_subsample2x(ipg_plan_t * p, const ipg_tensor_t * in, ipg_tensor_t * out) {
    return spatial_op(p, "ipg_subsample2x", in, (in->h - 1) / 2 + 1, (in->w - 1) / 2 + 1, out);
}

ipg_status_t ipg_op_downsample2x(ipg_plan_t * p, const ipg_tensor_t * in, ipg_tensor_t * out) {
    return spatial_op(p, "ipg_downsample2x", in, in->h / 2, in->w / 2, out);
}

ipg_status_t ipg_op_upsample_add(ipg_plan_t * p, const ipg_tensor_t * lateral, const ipg_tensor_t * top,
                                 ipg_tensor_t * out) {
    if (lateral->c != top->c) {
        ipg_format_error(p->err, p->err_size, "internal: upsample_add channel mismatch");
        return IPG_ERR_INVALID_ARG;
    }
    ipg_status_t st = out_tensor(p, out, lateral->c, lateral->h, lateral->w);
    if (st != IPG_OK) return st;
    ipg_step_t * s = ipg_plan_step(p, "ipg_upsample_add");
    if (!s) return IPG_ERR_OPENCL;
    ipg_step_mem(s, lateral->buf);
    ipg_step_int(s, lateral->h); ipg_step_int(s, lateral->w);
    ipg_step_mem(s, top->buf);
    ipg_step_int(s, top->h); ipg_step_int(s, top->w);
    ipg_step_mem(s, out->buf);
    ipg_step_range(s, 3, (size_t[]) { (size_t) lateral->w, (size_t) lateral->h, (size_t) lateral->c }, NULL);
    return IPG_OK;
}

ipg_status_t ipg_op_relu(ipg_plan_t * p, const ipg_tensor_t * in, ipg_tensor_t * out) {
    ipg_status_t st = out_tensor(p, out, in->c, in->h, in->w);
    if (st != IPG_OK) return st;
    ipg_step_t * s = ipg_plan_step(p, "ipg_relu");
    if (!s) return IPG_ERR_OPENCL;
    const int32_t n = in->c * in->h * in->w;
    ipg_step_mem(s, in->buf);
    ipg_step_mem(s, out->buf);
    ipg_step_int(s, n);
    ipg_step_range(s, 1, (size_t[]) { (size_t) n }, NULL);
    return IPG_OK;
}
