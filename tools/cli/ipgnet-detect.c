// SPDX-License-Identifier: LGPL-2.1-or-later
//
// ipgnet-detect: runs an IPG-Net model (ipgnet .safetensors file) on images
// and prints the detections, as text or as JSON Lines.
//
//     ipgnet-detect -m MODEL [--device D] [--threshold T] [--json]
//                   [--dump-stages FILE] IMAGE...
//     ipgnet-detect --list-devices
//
// Exit status: 0 when every image was processed; 1 when some image could not
// be (the others still are); 2 on a usage error, a bad model file or no
// usable device (before any image).

#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L   // fileno, strdup
#endif

#include "image-io.h"
#include "ipg.h"
#include "json.h"
#include "stage-dump.h"

#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PROG "ipgnet-detect"
// More than any model's detections_per_img (torchvision's defaults: 300, 100).
#define MAX_DETS 4096

static void usage(FILE * f) {
    fprintf(f, "Usage: " PROG " -m MODEL [OPTION]... IMAGE...\n"
               "       " PROG " --list-devices\n"
               "Detect objects in JPEG, PNG or PPM/PGM images with an IPG-Net model.\n"
               "\n"
               "  -m, --model FILE         model file (ipgnet .safetensors); required\n"
               "  -d, --device D           OpenCL device: auto (default), gpu, cpu, an index\n"
               "                           from --list-devices, or PLATFORM:DEVICE\n"
               "      --device-path P      convolution kernels: auto (default: the device's),\n"
               "                           cpu, gpu or clblast (docs/PERFORMANCE.md)\n"
               "  -t, --threshold T        report detections with score >= T, T in [0, 1]\n"
               "                           (default 0.5)\n"
               "  -j, --json               one JSON object per image (JSON Lines) on stdout\n"
               "  -l, --list-devices       list the OpenCL devices and exit\n"
               "      --dump-stages FILE   write every stage tensor of the network to FILE\n"
               "                           (safetensors; exactly one IMAGE)\n"
               "      --input-size WxH     network input size (multiples of 32; default:\n"
               "                           the model's)\n"
               "      --tile WxH           tiled inference: cut each image into overlapping\n"
               "                           WxH tiles (image pixels), each letterboxed to the\n"
               "                           network input, merged across tiles (SAHI's slicing)\n"
               "      --tile-overlap F     fraction of a tile shared with its neighbour,\n"
               "                           0..0.9 (default 0.2)\n"
               "      --no-full-frame      no full-image pass beside the tiles\n"
               "      --tile-merge M       nmm (merge matched boxes, default) or nms\n"
               "      --tile-match-metric M  ios (intersection over the smaller box, default)\n"
               "                           or iou\n"
               "      --tile-match-threshold T  boxes of one label matching by more merge\n"
               "                           (default 0.5)\n"
               "      --max-tiles N        refuse an image needing more tiles (default 64)\n"
               "      --bench N            time N inferences of the first IMAGE after one\n"
               "                           warm-up; prints startup_ms= (load, context,\n"
               "                           prepare, first frame) and, last, median_ms=<float>\n"
               "      --profile            with --bench: device time per layer group\n"
               "      --batch-frames K     with --bench: each run is K copies of the image\n"
               "                           as one batch (ipg_ctx_run_batch, as K streams'\n"
               "                           frames); median_ms is per batch (1..64)\n"
               "      --max-pixels N       refuse images of more than N pixels (width x\n"
               "                           height), from their headers, before decoding;\n"
               "                           default 67108864 (8192 x 8192), or the\n"
               "                           environment variable IPGNET_MAX_PIXELS\n"
               "  -h, --help               show this help and exit\n"
               "\n"
               "Text output: one line per detection, 'IMAGE: LABEL SCORE [x1, y1, x2, y2]',\n"
               "or 'IMAGE: no detections'. Boxes are in image pixels. With --tile, each JSON\n"
               "detection also has \"tile\" (-1: the full-image pass) and \"scale\".\n"
               "Exit status: 0 all images processed, 1 some image failed, 2 usage error,\n"
               "bad model or no device.\n");
}

// ---- JSON output -------------------------------------------------------------

static void json_file_sink(void * ud, const char * bytes, size_t n) { fwrite(bytes, 1, n, ud); }

// Writes s as a JSON string the way Python's json.dumps() does (ensure_ascii),
// the bytes of a file name that is not UTF-8 as os.fsdecode() decodes them.
static void json_string(FILE * f, const char * s) { ipg_json_write_string(s, strlen(s), true, json_file_sink, f); }

static void json_number(FILE * f, const char * fmt, float v) {
    if (isfinite(v))
        fprintf(f, fmt, (double) v);
    else
        fputs("null", f);
}

static void print_json(const ipg_model_t * model, const char * path, const cli_image_t * img,
                       const ipg_detection_t * dets, int32_t n, int tiled) {
    fputs("{\"image\": ", stdout);
    json_string(stdout, path);
    printf(", \"width\": %d, \"height\": %d, \"detections\": [", (int) img->width, (int) img->height);
    for (int32_t i = 0; i < n; i++) {
        const ipg_detection_t * d = &dets[i];
        const char * label = ipg_model_label(model, d->label);
        fputs(i ? ", {\"label\": " : "{\"label\": ", stdout);
        if (label)
            json_string(stdout, label);
        else
            fputs("null", stdout);
        printf(", \"label_id\": %d, \"score\": ", (int) d->label);
        json_number(stdout, "%.6f", d->score);
        fputs(", \"box\": [", stdout);
        const float box[4] = { d->x1, d->y1, d->x2, d->y2 };
        for (int k = 0; k < 4; k++) {
            if (k) fputs(", ", stdout);
            json_number(stdout, "%.3f", box[k]);
        }
        fputc(']', stdout);
        if (tiled) {
            printf(", \"tile\": %d, \"scale\": ", (int) d->tile);
            json_number(stdout, "%.9g", d->scale);
        }
        fputc('}', stdout);
    }
    fputs("]}\n", stdout);
}

static void print_text(const ipg_model_t * model, const char * path, const ipg_detection_t * dets, int32_t n) {
    if (n == 0) {
        printf("%s: no detections\n", path);
        return;
    }
    for (int32_t i = 0; i < n; i++) {
        const ipg_detection_t * d = &dets[i];
        const char * label = ipg_model_label(model, d->label);
        if (label) {
            printf("%s: ", path);
            for (const unsigned char * c = (const unsigned char *) label; *c; c++)
                putchar(*c < 0x20 || *c == 0x7f ? '?' : *c);   // keep one line
        } else
            printf("%s: #%d", path, (int) d->label);
        printf(" %.2f [%.1f, %.1f, %.1f, %.1f]\n", (double) d->score, (double) d->x1, (double) d->y1, (double) d->x2,
               (double) d->y2);
    }
}

// ---- main --------------------------------------------------------------------

enum {
    OPT_DUMP_STAGES = 0x100,
    OPT_BENCH,
    OPT_BATCH_FRAMES,
    OPT_PROFILE,
    OPT_DEVICE_PATH,
    OPT_INPUT_SIZE,
    OPT_MAX_PIXELS,
    OPT_TILE,
    OPT_TILE_OVERLAP,
    OPT_NO_FULL_FRAME,
    OPT_TILE_MERGE,
    OPT_TILE_METRIC,
    OPT_TILE_THRESHOLD,
    OPT_MAX_TILES,
};

// A number option's value: the whole argument parsed, else 0.
static int parse_double(const char * s, double * out) {
    char * end = NULL;
    *out = strtod(s, &end);
    return end != s && *end == '\0' && isfinite(*out);
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}

static int cmp_double(const void * a, const void * b) {
    double x = *(const double *) a, y = *(const double *) b;
    return (x > y) - (x < y);
}

// Steady-state timing: preprocessing to detections, the frame already in
// host memory. Prints one line per run and a summary ending in median_ms.
// With batch_frames K > 1, each run is K copies of the frame as one batch.
static int bench(ipg_ctx_t * ctx, const cli_image_t * img, int runs, int profile, ipg_detection_t * dets,
                 double startup_ms) {
    ipg_frame_t frame = { .data = img->data, .stride = img->stride };
    int32_t n = 0;
    const int32_t k = ipg_ctx_batch_frames(ctx);
    ipg_batch_item_t items[IPG_MAX_BATCH_FRAMES];
    // The detections of every copy go to one array: only the count is printed.
    for (int32_t i = 0; i < k; i++)
        items[i] = (ipg_batch_item_t){ .frame = &frame, .dets = dets, .max_dets = MAX_DETS };
    double * ms = malloc((size_t) runs * sizeof *ms);
    if (!ms) return 2;
    double t_first = now_ms();
    if (ipg_ctx_run_batch(ctx, items, k) != IPG_OK) {   // warm-up
        fprintf(stderr, PROG ": %s\n", ipg_ctx_last_error(ctx));
        free(ms);
        return 1;
    }
    startup_ms += now_ms() - t_first;
    for (int i = 0; i < runs; i++) {
        double t0 = now_ms();
        if (ipg_ctx_run_batch(ctx, items, k) != IPG_OK) {
            fprintf(stderr, PROG ": %s\n", ipg_ctx_last_error(ctx));
            free(ms);
            return 1;
        }
        ms[i] = now_ms() - t0;
        n = items[0].n_dets;
        printf("run %d: %.3f ms, %d detections\n", i, ms[i], (int) n);
    }
    qsort(ms, (size_t) runs, sizeof *ms, cmp_double);
    double median = runs % 2 ? ms[runs / 2] : 0.5 * (ms[runs / 2 - 1] + ms[runs / 2]);
    double gflop = ipg_ctx_gflop(ctx);
    if (profile) {
        static char report[1 << 20];   // IPG_PROFILE_KERNELS=steps lists every launch
        ipg_ctx_profile_report(ctx, report, sizeof report);
        fputs(report, stdout);
    }
    printf("device=%s\n", ipg_ctx_device_name(ctx));
    printf("device_path=%s\n", ipg_ctx_device_path(ctx));
    printf("conv_gflop=%.3f conv_gflops_at_median=%.2f min_ms=%.3f\n", gflop, gflop * k / (median * 1e-3), ms[0]);
    // model load + context (device, program build) + prepare + first frame
    printf("startup_ms=%.1f\n", startup_ms);
    printf("batch_frames=%d median_ms_per_frame=%.3f\n", (int) k, median / k);
    // The context's own device memory (tensors, scratch, frame buffers), not the weights.
    printf("ctx_device_mb=%.1f\n", (double) ipg_ctx_device_bytes(ctx) / (1 << 20));
    printf("median_ms=%.3f\n", median);
    free(ms);
    return 0;
}

static int parse_threshold(const char * s, float * out) {
    char * end = NULL;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || !isfinite(v) || v < 0.0 || v > 1.0) return -1;
    *out = (float) v;
    return 0;
}

static int list_devices(void) {
    size_t size = 1 << 16;
    char * buf = malloc(size);
    if (!buf) {
        fprintf(stderr, PROG ": out of memory\n");
        return 2;
    }
    buf[0] = '\0';
    int32_t n = ipg_list_devices(buf, size);
    if (n < 0) {
        fprintf(stderr, PROG ": OpenCL is not usable: %s\n", buf[0] ? buf : "unknown reason");
        free(buf);
        return 2;
    }
    if (n == 0) {
        fprintf(stderr, PROG ": no OpenCL devices found\n");
        free(buf);
        return 2;
    }
    fputs(buf, stdout);
    if (buf[0] && buf[strlen(buf) - 1] != '\n') fputc('\n', stdout);
    free(buf);
    return 0;
}

int main(int argc, char ** argv) {
    static const struct option longopts[] = {
        { "model", required_argument, NULL, 'm' },
        { "device", required_argument, NULL, 'd' },
        { "threshold", required_argument, NULL, 't' },
        { "json", no_argument, NULL, 'j' },
        { "list-devices", no_argument, NULL, 'l' },
        { "dump-stages", required_argument, NULL, OPT_DUMP_STAGES },
        { "bench", required_argument, NULL, OPT_BENCH },
        { "batch-frames", required_argument, NULL, OPT_BATCH_FRAMES },
        { "profile", no_argument, NULL, OPT_PROFILE },
        { "device-path", required_argument, NULL, OPT_DEVICE_PATH },
        { "input-size", required_argument, NULL, OPT_INPUT_SIZE },
        { "max-pixels", required_argument, NULL, OPT_MAX_PIXELS },
        { "tile", required_argument, NULL, OPT_TILE },
        { "tile-overlap", required_argument, NULL, OPT_TILE_OVERLAP },
        { "no-full-frame", no_argument, NULL, OPT_NO_FULL_FRAME },
        { "tile-merge", required_argument, NULL, OPT_TILE_MERGE },
        { "tile-match-metric", required_argument, NULL, OPT_TILE_METRIC },
        { "tile-match-threshold", required_argument, NULL, OPT_TILE_THRESHOLD },
        { "max-tiles", required_argument, NULL, OPT_MAX_TILES },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char * model_path = NULL;
    const char * device = NULL;
    const char * device_path = NULL;
    const char * dump_path = NULL;
    float threshold = 0.5f;
    int json = 0, want_list = 0, bench_runs = 0, profile = 0, batch_frames = 1;
    int in_w = 0, in_h = 0;
    ipg_tiling_t tiling = ipg_tiling_default();
    double number;

    int opt;
    while ((opt = getopt_long(argc, argv, "m:d:t:jlh", longopts, NULL)) != -1) {
        switch (opt) {
            case 'm': model_path = optarg; break;
            case 'd': device = optarg; break;
            case 't':
                if (parse_threshold(optarg, &threshold) != 0) {
                    fprintf(stderr, PROG ": invalid threshold '%s' (a number in [0, 1])\n", optarg);
                    usage(stderr);
                    return 2;
                }
                break;
            case 'j': json = 1; break;
            case 'l': want_list = 1; break;
            case OPT_DUMP_STAGES: dump_path = optarg; break;
            case OPT_BENCH: {
                char * end = NULL;
                long v = strtol(optarg, &end, 10);
                if (end == optarg || *end != '\0' || v < 1 || v > 100000) {
                    fprintf(stderr, PROG ": invalid --bench count '%s' (1..100000)\n", optarg);
                    return 2;
                }
                bench_runs = (int) v;
                break;
            }
            case OPT_BATCH_FRAMES: {
                char * end = NULL;
                long v = strtol(optarg, &end, 10);
                if (end == optarg || *end != '\0' || v < 1 || v > IPG_MAX_BATCH_FRAMES) {
                    fprintf(stderr, PROG ": invalid --batch-frames '%s' (1..%d)\n", optarg, IPG_MAX_BATCH_FRAMES);
                    return 2;
                }
                batch_frames = (int) v;
                break;
            }
            case OPT_PROFILE: profile = 1; break;
            case OPT_DEVICE_PATH: device_path = optarg; break;
            case OPT_INPUT_SIZE: {
                char why[128] = "expected WxH";
                if (sscanf(optarg, "%dx%d", &in_w, &in_h) != 2 ||
                    ipg_check_input_size(in_w, in_h, why, sizeof why) != IPG_OK) {
                    fprintf(stderr, PROG ": invalid --input-size '%s' (%s)\n", optarg, why);
                    return 2;
                }
                break;
            }
            case OPT_MAX_PIXELS: {
                char why[160];
                if (cli_image_set_max_pixels(optarg, why, sizeof why) != 0) {
                    fprintf(stderr, PROG ": %s\n", why);
                    return 2;
                }
                break;
            }
            case OPT_TILE: {
                char tail;
                if (sscanf(optarg, "%dx%d%c", &tiling.tile_width, &tiling.tile_height, &tail) != 2 ||
                    tiling.tile_width < 1 || tiling.tile_height < 1) {
                    fprintf(stderr, PROG ": invalid --tile '%s' (expected WxH in image pixels, e.g. 512x512)\n",
                            optarg);
                    return 2;
                }
                break;
            }
            case OPT_TILE_OVERLAP:
                if (!parse_double(optarg, &number)) {
                    fprintf(stderr, PROG ": invalid --tile-overlap '%s' (a number in 0..0.9)\n", optarg);
                    return 2;
                }
                tiling.overlap = number;
                break;
            case OPT_NO_FULL_FRAME: tiling.full_frame = 0; break;
            case OPT_TILE_MERGE:
                if (ipg_tile_merge_parse(optarg) < 0) {
                    fprintf(stderr, PROG ": invalid --tile-merge '%s' (nmm or nms)\n", optarg);
                    return 2;
                }
                tiling.merge = (ipg_tile_merge_t) ipg_tile_merge_parse(optarg);
                break;
            case OPT_TILE_METRIC:
                if (ipg_tile_metric_parse(optarg) < 0) {
                    fprintf(stderr, PROG ": invalid --tile-match-metric '%s' (ios or iou)\n", optarg);
                    return 2;
                }
                tiling.match_metric = (ipg_tile_metric_t) ipg_tile_metric_parse(optarg);
                break;
            case OPT_TILE_THRESHOLD:
                if (!parse_double(optarg, &number)) {
                    fprintf(stderr, PROG ": invalid --tile-match-threshold '%s' (a number in 0..1)\n", optarg);
                    return 2;
                }
                tiling.match_threshold = (float) number;
                break;
            case OPT_MAX_TILES:
                if (!parse_double(optarg, &number) || number != floor(number)) {
                    fprintf(stderr, PROG ": invalid --max-tiles '%s' (a whole number in 1..%d)\n", optarg,
                            IPG_MAX_TILES_LIMIT);
                    return 2;
                }
                tiling.max_tiles = number < 0 ? 0 : number > 1e6 ? 1000000 : (int32_t) number;
                break;
            case 'h': usage(stdout); return 0;
            default: usage(stderr); return 2;   // getopt printed the reason
        }
    }
    if (want_list) return list_devices();
    {
        char why[256];
        if (ipg_tiling_check(&tiling, why, sizeof why) != IPG_OK) {
            fprintf(stderr, PROG ": %s\n", why);
            return 2;
        }
    }
    if (batch_frames > 1 && bench_runs == 0) {
        fprintf(stderr, PROG ": --batch-frames is a --bench option\n");
        return 2;
    }
    if (!model_path) {
        fprintf(stderr, PROG ": no model given (-m MODEL)\n");
        usage(stderr);
        return 2;
    }
    int n_images = argc - optind;
    if (n_images < 1) {
        fprintf(stderr, PROG ": no image given\n");
        usage(stderr);
        return 2;
    }
    if (dump_path && n_images != 1) {
        fprintf(stderr, PROG ": --dump-stages needs exactly one image (%d given)\n", n_images);
        usage(stderr);
        return 2;
    }

    char err[1024];
    ipg_model_t * model = NULL;
    const double t_start = now_ms();
    if (ipg_model_load_file(model_path, &model, err, sizeof err) != IPG_OK) {
        if (err[0] && strstr(err, model_path))   // the message names the file already
            fprintf(stderr, PROG ": %s\n", err);
        else
            fprintf(stderr, PROG ": %s: %s\n", model_path, err[0] ? err : "cannot load the model");
        return 2;
    }
    ipg_ctx_params_t params = ipg_ctx_params_default();
    params.device = device;
    params.device_path = device_path;
    params.score_threshold = threshold;
    params.input_width = in_w;
    params.input_height = in_h;
    params.profile = profile;
    params.tiling = tiling;
    params.batch_frames = batch_frames;
    ipg_ctx_t * ctx = NULL;
    err[0] = '\0';
    // One engine from this model: its upload frees the host weights conv by
    // conv, so the two copies never coexist.
    ipg_model_release_weights_on_upload(model);
    if (ipg_ctx_init(model, &params, &ctx, err, sizeof err) != IPG_OK) {
        fprintf(stderr, PROG ": %s\n", err[0] ? err : "cannot create an inference context");
        ipg_model_free(model);
        return 2;
    }
    // The engine holds the weights on its device now: what is left of the
    // host copy (nothing, after the upload above) goes.
    ipg_model_release_weights(model);
    double startup_ms = now_ms() - t_start;
    stage_dump_t * dump = NULL;
    if (dump_path) {
        dump = stage_dump_new();
        if (!dump) {
            fprintf(stderr, PROG ": out of memory\n");
            ipg_ctx_free(ctx);
            ipg_model_free(model);
            return 2;
        }
        ipg_ctx_set_stage_callback(ctx, stage_dump_callback, dump);
    }

    ipg_detection_t * dets = malloc(MAX_DETS * sizeof *dets);
    if (!dets) {
        fprintf(stderr, PROG ": out of memory\n");
        stage_dump_free(dump);
        ipg_ctx_free(ctx);
        ipg_model_free(model);
        return 2;
    }

    int status = 0;
    if (bench_runs > 0) {
        cli_image_t img;
        if (cli_image_load(argv[optind], &img, err, sizeof err) != 0) {
            fprintf(stderr, PROG ": %s\n", err);
            status = 1;
        } else {
            const double t_prepare = now_ms();
            if (ipg_ctx_prepare(ctx, img.width, img.height, IPG_PIXEL_RGB) != IPG_OK) {
                fprintf(stderr, PROG ": %s: %s\n", argv[optind], ipg_ctx_last_error(ctx));
                status = 1;
            } else {
                startup_ms += now_ms() - t_prepare;
                status = bench(ctx, &img, bench_runs, profile, dets, startup_ms);
            }
            cli_image_free(&img);
        }
        free(dets);
        ipg_ctx_free(ctx);
        ipg_model_free(model);
        return status;
    }
    for (int i = optind; i < argc; i++) {
        const char * path = argv[i];
        cli_image_t img;
        if (cli_image_load(path, &img, err, sizeof err) != 0) {
            // err already starts with the path.
            fprintf(stderr, PROG ": %s\n", err);
            status = 1;
            continue;
        }
        // A call with the current size and format does nothing.
        if (ipg_ctx_prepare(ctx, img.width, img.height, IPG_PIXEL_RGB) != IPG_OK) {
            fprintf(stderr, PROG ": %s: %s\n", path, ipg_ctx_last_error(ctx));
            cli_image_free(&img);
            status = 1;
            continue;
        }
        ipg_frame_t frame = { .data = img.data, .stride = img.stride };
        int32_t n = 0;
        if (ipg_ctx_run(ctx, &frame, dets, MAX_DETS, &n) != IPG_OK) {
            fprintf(stderr, PROG ": %s: %s\n", path, ipg_ctx_last_error(ctx));
            cli_image_free(&img);
            status = 1;
            continue;
        }
        if (n < 0) n = 0;
        if (json)
            print_json(model, path, &img, dets, n, tiling.tile_width > 0);
        else
            print_text(model, path, dets, n);
        fflush(stdout);
        cli_image_free(&img);

        if (dump) {
            if (stage_dump_write(dump, dump_path, err, sizeof err) != 0) {
                fprintf(stderr, PROG ": %s\n", err);
                status = 1;
            }
        }
    }

    free(dets);
    if (dump) ipg_ctx_set_stage_callback(ctx, NULL, NULL);
    stage_dump_free(dump);
    ipg_ctx_free(ctx);
    ipg_model_free(model);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, PROG ": error writing the output\n");
        return status ? status : 1;
    }
    return status;
}
