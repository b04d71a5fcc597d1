// SPDX-License-Identifier: LGPL-2.1-or-later
// model-loader.c: loads a model file: container (safetensors.c), metadata and
// config (config.c), then every weight through the arch binders, which call
// back into the binder service here (ipg_bind_conv, ipg_bind_linear: names
// and shapes checked, BatchNorm folded). The head is the config's detector
// (detector.h). What remains is host memory only; the OpenCL side (ctx.c)
// uploads it per device.
#include "model-loader.h"

#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "arch.h"
#include "detector.h"
#include "log.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const ipg_st_tensor_t * find_tensor(ipg_binder_t * b, const char * name) {
    const ipg_st_tensor_t * t = ipg_st_find(b->file, name);
    if (t) b->used[t - b->file->tensors] = true;
    return t;
}

// Reads a tensor of the expected shape as float32 (F32 or F16 in the file).
static bool read_tensor(ipg_binder_t * b, const char * name, int32_t n_dims, const int64_t * shape, float * dst) {
    const ipg_st_tensor_t * t = find_tensor(b, name);
    if (!t) {
        ipg_format_error(b->err, b->err_size, "missing tensor '%s'", name);
        return false;
    }
    bool same = t->n_dims == n_dims;
    for (int32_t i = 0; same && i < n_dims; i++) same = t->shape[i] == shape[i];
    if (!same) {
        char want[96] = "", got[96] = "";
        for (int32_t i = 0; i < n_dims; i++)
            snprintf(want + strlen(want), sizeof want - strlen(want), "%s%lld", i ? ", " : "", (long long) shape[i]);
        for (int32_t i = 0; i < t->n_dims; i++)
            snprintf(got + strlen(got), sizeof got - strlen(got), "%s%lld", i ? ", " : "", (long long) t->shape[i]);
        ipg_format_error(b->err, b->err_size, "tensor '%s' has shape [%s] but the config needs [%s]", name, got, want);
        return false;
    }
    if (t->dtype == IPG_ST_F32) {
        memcpy(dst, t->data, (size_t) t->numel * sizeof(float));
    } else if (t->dtype == IPG_ST_F16) {
        for (int64_t i = 0; i < t->numel; i++) {
            uint16_t h;
            memcpy(&h, t->data + 2 * i, 2);
            dst[i] = ipg_half_to_float(h);
        }
    } else {
        ipg_format_error(b->err, b->err_size, "tensor '%s' has dtype %s; model files hold F32 or F16", name,
                         ipg_st_dtype_name(t->dtype));
        return false;
    }
    ipg_st_release_pages(b->file, t);   // converted: the file's copy need not stay resident
    for (int64_t i = 0; i < t->numel; i++) {
        if (!isfinite(dst[i])) {
            ipg_format_error(b->err, b->err_size, "tensor '%s' holds a non-finite value at element %lld", name,
                             (long long) i);
            return false;
        }
    }
    return true;
}

// A conv [cout, cin, k, k], or (linear) a fully connected layer [cout, cin]
// kept as a 1x1 conv: the engine runs it as one over a 1 x rows "image".
static int32_t bind_weights(ipg_binder_t * b, const char * name, int32_t cout, int32_t cin, int32_t k, int32_t stride,
                            int32_t pad, bool has_bias, const char * bn, bool linear) {
    struct ipg_model * m = b->model;
    if (m->n_convs == m->cap_convs) {
        int32_t cap = m->cap_convs ? 2 * m->cap_convs : 64;
        ipg_conv_host_t * c = realloc(m->convs, (size_t) cap * sizeof *c);
        if (!c) goto oom;
        m->convs = c;
        m->cap_convs = cap;
    }
    ipg_conv_host_t * c = &m->convs[m->n_convs];
    memset(c, 0, sizeof *c);
    c->name = strdup(name);
    c->cout = cout;
    c->cin = cin;
    c->kh = k;
    c->kw = k;
    c->stride = stride;
    c->pad = pad;
    size_t kk = (size_t) cin * k * k;
    c->w = malloc((size_t) cout * kk * sizeof(float));
    c->b = calloc((size_t) cout, sizeof(float));
    float * tmp = malloc(4 * (size_t) cout * sizeof(float));
    if (!c->name || !c->w || !c->b || !tmp) {
        free(tmp);
        free(c->name);
        free(c->w);
        free(c->b);
        goto oom;
    }
    m->n_convs++;   // owned by the model from here, freed with it

    char key[256];
    int64_t wshape[4] = { cout, cin, k, k };
    snprintf(key, sizeof key, "%s.weight", name);
    bool ok = read_tensor(b, key, linear ? 2 : 4, wshape, c->w);
    int64_t vshape[1] = { cout };
    if (ok && has_bias) {
        snprintf(key, sizeof key, "%s.bias", name);
        ok = read_tensor(b, key, 1, vshape, c->b);
    }
    if (ok && bn) {
        static const char * parts[4] = { "weight", "bias", "running_mean", "running_var" };
        for (int i = 0; ok && i < 4; i++) {
            snprintf(key, sizeof key, "%s.%s", bn, parts[i]);
            ok = read_tensor(b, key, 1, vshape, tmp + (size_t) i * cout);
        }
        for (int32_t o = 0; ok && o < cout; o++) {
            double var = tmp[3 * cout + o];
            if (!(var >= 0.0)) {
                ipg_format_error(b->err, b->err_size, "tensor '%s.running_var' is negative at channel %d", bn, o);
                ok = false;
                break;
            }
            // Fold in double: y = gamma * (conv + bias - mean) / sqrt(var + eps) + beta.
            double scale = tmp[o] / sqrt(var + (double) m->cfg.bn_eps);
            for (size_t i = 0; i < kk; i++) c->w[o * kk + i] = (float) (c->w[o * kk + i] * scale);
            c->b[o] = (float) (tmp[cout + o] + (c->b[o] - (double) tmp[2 * cout + o]) * scale);
        }
    }
    free(tmp);
    return ok ? m->n_convs - 1 : -1;
oom:
    ipg_format_error(b->err, b->err_size, "out of memory while loading '%s'", name);
    return -1;
}

int32_t ipg_bind_conv(ipg_binder_t * b, const char * name, int32_t cout, int32_t cin, int32_t k, int32_t stride,
                      int32_t pad, bool has_bias, const char * bn) {
    return bind_weights(b, name, cout, cin, k, stride, pad, has_bias, bn, false);
}

int32_t ipg_bind_linear(ipg_binder_t * b, const char * name, int32_t out_features, int32_t in_features) {
    return bind_weights(b, name, out_features, in_features, 1, 1, 0, true, NULL, true);
}

void ipg_model_release_weights(ipg_model_t * m) {
    if (!m) return;
    for (int32_t i = 0; i < m->n_convs; i++) {
        free(m->convs[i].w);
        free(m->convs[i].b);
        m->convs[i].w = NULL;
        m->convs[i].b = NULL;
    }
    m->weights_released = true;
#ifdef __GLIBC__
    malloc_trim(0);   // most convs' weights are small heap blocks: hand the pages back
#endif
}

void ipg_model_release_weights_on_upload(ipg_model_t * m) {
    if (m) m->release_on_upload = true;
}

bool ipg_model_weights_present(const ipg_model_t * m) {
    if (m->weights_released) return false;
    for (int32_t i = 0; i < m->n_convs; i++)
        if (!m->convs[i].w) return false;   // taken by an upload that released them
    return true;
}

void ipg_model_drop_conv_weights(const ipg_model_t * m, int32_t conv) {
    if (!m->release_on_upload) return;
    ipg_conv_host_t * c = &m->convs[conv];   // the array, not the model, is written
    free(c->w);
    free(c->b);
    c->w = NULL;
    c->b = NULL;
    // No malloc_trim per conv: the large blocks are mapped and go back at
    // free, and ipg_model_release_weights trims once. Trimming after every
    // conv cost R50 100 ms of start-up; it lowered R18's peak by 4 MB and
    // R34's and R50's not at all (docs/PERFORMANCE.md).
}

void ipg_model_free(ipg_model_t * m) {
    if (!m) return;
    for (int32_t i = 0; i < m->n_convs; i++) {
        free(m->convs[i].name);
        free(m->convs[i].w);
        free(m->convs[i].b);
    }
    free(m->convs);
    free(m->labels);
    free(m);
}

static void describe(ipg_model_t * m) {
    const ipg_config_t * c = &m->cfg;
    char levels[32] = "";
    for (int32_t i = 0; i < c->num_ipg_levels; i++)
        snprintf(levels + strlen(levels), sizeof levels - strlen(levels), "%s%d", i ? "," : "", c->ipg_levels[i]);
    snprintf(m->desc, sizeof m->desc, "%s %s x%g ipg[%s] fpn%d %d classes %dx%d", m->detector->name, c->backbone,
             c->width, levels, c->fpn_channels, c->num_classes, c->input_width, c->input_height);
}

// Loads from a file (bytes == NULL) or from memory (path only names it).
static ipg_status_t load(const char * path, const uint8_t * bytes, size_t size, ipg_model_t ** out, char * err,
                         size_t err_size) {
    char msg[IPG_ERR_LEN] = "";
    ipg_status_t status = IPG_ERR_BAD_FILE;
    ipg_st_file_t file;
    memset(&file, 0, sizeof file);
    ipg_model_t * m = NULL;
    bool * used = NULL;

    if (!out || !path) {
        ipg_format_error(err, err_size, "ipg_model_load_file: NULL argument");
        return IPG_ERR_INVALID_ARG;
    }
    *out = NULL;
    int rc = bytes ? ipg_st_parse(bytes, size, &file, msg, sizeof msg) : ipg_st_load(path, &file, msg, sizeof msg);
    if (rc != 0) {
        status = rc == 1 ? IPG_ERR_IO : IPG_ERR_BAD_FILE;
        goto fail;
    }
    const char * format = ipg_st_meta(&file, "format");
    const char * version = ipg_st_meta(&file, "format_version");
    const char * config = ipg_st_meta(&file, "config");
    const char * labels = ipg_st_meta(&file, "labels");
    if (!format || strcmp(format, "ipgnet") != 0) {
        snprintf(msg, sizeof msg, "not an ipgnet model: __metadata__ \"format\" is %s%s%s (expected \"ipgnet\")",
                 format ? "\"" : "", format ? format : "missing", format ? "\"" : "");
        goto fail;
    }
    if (!version || strcmp(version, "1") != 0) {
        snprintf(msg, sizeof msg, "unsupported model format_version %s%s%s (this library reads version \"1\")",
                 version ? "\"" : "", version ? version : "(missing)", version ? "\"" : "");
        goto fail;
    }
    if (!config) {
        snprintf(msg, sizeof msg, "__metadata__ has no \"config\"");
        goto fail;
    }
    if (!labels) {
        snprintf(msg, sizeof msg, "__metadata__ has no \"labels\"");
        goto fail;
    }

    m = calloc(1, sizeof *m);
    used = calloc((size_t) file.n_tensors + 1, sizeof *used);
    if (!m || !used) {
        status = IPG_ERR_NO_MEMORY;
        snprintf(msg, sizeof msg, "out of memory");
        goto fail;
    }

    char sub[IPG_ERR_LEN - 64];
    if (ipg_config_parse(config, strlen(config), &m->cfg, sub, sizeof sub) != 0) {
        snprintf(msg, sizeof msg, "bad config: %s", sub);
        goto fail;
    }
    m->n_labels = ipg_labels_parse(labels, strlen(labels), &m->labels, sub, sizeof sub);
    if (m->n_labels < 0) {
        m->labels = NULL;
        snprintf(msg, sizeof msg, "bad labels: %s", sub);
        goto fail;
    }
    if (m->n_labels != m->cfg.num_classes) {
        snprintf(msg, sizeof msg, "the file has %d labels but the config says num_classes = %d", m->n_labels,
                 m->cfg.num_classes);
        goto fail;
    }

    m->detector = ipg_detector_for_arch(m->cfg.arch);
    if (!m->detector) {
        snprintf(msg, sizeof msg, "bad config: arch %d has no detector in this library", (int) m->cfg.arch);
        goto fail;
    }
    ipg_binder_t b = { .model = m, .file = &file, .used = used, .err = msg, .err_size = sizeof msg };
    if (ipg_resnet_bind(&b) || ipg_guidance_bind(&b) || ipg_fpn_bind(&b, m->detector->fpn_neck) ||
        m->detector->bind(&b))
        goto fail;
    for (int32_t i = 0; i < file.n_tensors; i++) {
        if (!used[i]) {
            snprintf(msg, sizeof msg, "unexpected tensor '%s': the config does not use it", file.tensors[i].name);
            goto fail;
        }
    }
    describe(m);
    free(used);
    ipg_st_free(&file);
    ipg_log(IPG_LOG_INFO, "loaded %s: %s", path, m->desc);
    *out = m;
    return IPG_OK;

fail:
    // The container's messages name the file already.
    if (strncmp(msg, path, strlen(path)) == 0)
        ipg_format_error(err, err_size, "%s", msg);
    else
        ipg_format_error(err, err_size, "%s: %s", path, msg);
    ipg_log(IPG_LOG_ERROR, "%s: %s", path, msg);
    free(used);
    ipg_model_free(m);
    ipg_st_free(&file);
    return status;
}

ipg_status_t ipg_model_load_file(const char * path, ipg_model_t ** out, char * err, size_t err_size) {
    return load(path, NULL, 0, out, err, err_size);
}

ipg_status_t ipg_model_load_memory(const uint8_t * bytes, size_t size, const char * name, ipg_model_t ** out,
                                   char * err, size_t err_size) {
    if (!bytes) {
        ipg_format_error(err, err_size, "ipg_model_load_memory: NULL argument");
        return IPG_ERR_INVALID_ARG;
    }
    return load(name ? name : "<memory>", bytes, size, out, err, err_size);
}

int32_t ipg_model_num_labels(const ipg_model_t * m) { return m ? m->n_labels : 0; }

const char * ipg_model_label(const ipg_model_t * m, int32_t i) {
    return m && i >= 0 && i < m->n_labels ? m->labels[i] : NULL;
}

void ipg_model_input_size(const ipg_model_t * m, int32_t * w, int32_t * h) {
    if (w) *w = m ? m->cfg.input_width : 0;
    if (h) *h = m ? m->cfg.input_height : 0;
}

const char * ipg_model_description(const ipg_model_t * m) { return m ? m->desc : ""; }
