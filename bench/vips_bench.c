/* vips_bench: the libvips anchor for scripts/bench.
 *
 * Same job as the two nginx locations: fit into 300x200 (Lanczos3 thumbnail,
 * shrink-on-load where the format allows), JPEG Q75 interlaced, one thread.
 *
 *   vips_bench run <seconds> [-o outdir] <file>...
 *       loads every file into memory, then loops round-robin over the buffers
 *       for <seconds>; prints one "RESULT key=value ..." line and, for the
 *       first pass over each file, "OUT <file> <bytes> <w> <h>" (and writes
 *       the output to outdir/<basename>.jpg when -o is given).
 *   vips_bench rss <file>
 *       peak RSS (getrusage ru_maxrss) of this process around processing one
 *       file read from disk into memory: "RSS before_kb=... after_kb=...".
 *
 * Build: gcc -O2 bench/vips_bench.c $(pkg-config --cflags --libs vips)
 */
#include <vips/vips.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>

#define TW 300
#define TH 200

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static long maxrss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static void *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) { perror(path); exit(1); }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    void *buf = malloc(n);
    if (fread(buf, 1, n, f) != (size_t) n) { perror(path); exit(1); }
    fclose(f);
    *len = n;
    return buf;
}

/* One image: buffer -> thumbnail -> JPEG buffer. Returns output length. */
static size_t one(const void *buf, size_t len, void **obuf, int *w, int *h)
{
    VipsImage *out = NULL;
    size_t olen = 0;
    if (vips_thumbnail_buffer((void *) buf, len, &out, TW, "height", TH, NULL))
        vips_error_exit("thumbnail");
    if (vips_jpegsave_buffer(out, obuf, &olen, "Q", 75, "interlace", TRUE, "strip", TRUE, NULL))
        vips_error_exit("jpegsave");
    if (w) *w = vips_image_get_width(out);
    if (h) *h = vips_image_get_height(out);
    g_object_unref(out);
    return olen;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return x < y ? -1 : x > y;
}

static int run(int argc, char **argv)
{
    double secs = atof(argv[0]);
    const char *outdir = NULL;
    argc--, argv++;
    if (argc >= 2 && strcmp(argv[0], "-o") == 0) {
        outdir = argv[1];
        argc -= 2, argv += 2;
    }
    if (argc < 1) { fprintf(stderr, "no files\n"); return 2; }

    int n = argc;
    void **bufs = calloc(n, sizeof *bufs);
    size_t *lens = calloc(n, sizeof *lens);
    for (int i = 0; i < n; i++)
        bufs[i] = slurp(argv[i], &lens[i]);

    /* First pass: output sizes (and files for the SSIM check), warm-up. */
    for (int i = 0; i < n; i++) {
        void *obuf = NULL;
        int w, h;
        size_t olen = one(bufs[i], lens[i], &obuf, &w, &h);
        printf("OUT %s %zu %d %d\n", argv[i], olen, w, h);
        if (outdir) {
            const char *base = strrchr(argv[i], '/');
            base = base ? base + 1 : argv[i];
            char path[4096];
            snprintf(path, sizeof path, "%s/%s.jpg", outdir, base);
            FILE *f = fopen(path, "wb");
            if (!f || fwrite(obuf, 1, olen, f) != olen) { perror(path); return 1; }
            fclose(f);
        }
        g_free(obuf);
    }

    size_t cap = 1 << 16, count = 0;
    double *lat = malloc(cap * sizeof *lat);
    double total_bytes = 0;
    double t0 = now(), t = t0;
    while (t - t0 < secs) {
        int i = count % n;
        void *obuf = NULL;
        double a = now();
        total_bytes += one(bufs[i], lens[i], &obuf, NULL, NULL);
        g_free(obuf);
        t = now();
        if (count == cap) {
            cap *= 2;
            lat = realloc(lat, cap * sizeof *lat);
        }
        lat[count++] = t - a;
    }
    double elapsed = t - t0;
    qsort(lat, count, sizeof *lat, cmp_double);
    double p50 = lat[(size_t) (0.50 * (count - 1))];
    double p99 = lat[(size_t) (0.99 * (count - 1))];
    printf("RESULT images=%zu seconds=%.3f ips=%.2f p50_ms=%.2f p99_ms=%.2f avg_out_bytes=%.0f maxrss_kb=%ld\n",
           count, elapsed, count / elapsed, p50 * 1e3, p99 * 1e3,
           total_bytes / (count ? count : 1), maxrss_kb());
    return 0;
}

static int rss(const char *path)
{
    long before = maxrss_kb();
    size_t len;
    void *buf = slurp(path, &len);
    void *obuf = NULL;
    one(buf, len, &obuf, NULL, NULL);
    g_free(obuf);
    free(buf);
    printf("RSS before_kb=%ld after_kb=%ld\n", before, maxrss_kb());
    return 0;
}

/* libvips warns "unknown EXIF resolution unit" on some wallpapers, once per
 * image: the stderr writes would be part of the timed loop. */
static void quiet(const gchar *domain, GLogLevelFlags level, const gchar *msg, gpointer user)
{
    (void) domain, (void) level, (void) msg, (void) user;
}

int main(int argc, char **argv)
{
    g_log_set_handler("VIPS", G_LOG_LEVEL_WARNING, quiet, NULL);
    if (VIPS_INIT(argv[0]))
        vips_error_exit(NULL);
    vips_concurrency_set(1);
    vips_cache_set_max(0);     /* no operation cache: every image is real work */
    int rc;
    if (argc >= 4 && strcmp(argv[1], "run") == 0)
        rc = run(argc - 2, argv + 2);
    else if (argc == 3 && strcmp(argv[1], "rss") == 0)
        rc = rss(argv[2]);
    else {
        fprintf(stderr, "usage: vips_bench run <seconds> [-o outdir] <file>...\n"
                        "       vips_bench rss <file>\n");
        rc = 2;
    }
    vips_shutdown();
    return rc;
}
