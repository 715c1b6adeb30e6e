/*
 * Baseline for the regex benchmark: the cost of running a filter's PCRE2
 * patterns over a log with nothing clever around them.
 *
 *   pcre2_loop PATTERNS LOG
 *
 * PATTERNS holds one PCRE2 pattern per line (as printed by
 * `warden regex --print-regexes <filter>`; empty lines are skipped). Every
 * pattern is compiled the way warden compiles filters (UTF, UCP, LF newline,
 * JIT), then, for every line of LOG, every pattern runs once with
 * pcre2_jit_match, unanchored, on the whole line: no date cutting, no
 * prefregex, no literal prefilter. The result is one JSON object on stdout:
 *
 *   {"lines": N, "seconds": S, "matches": [m0, m1, ...]}
 *
 * where S covers the match loop only (the file is read into memory first) and
 * mi counts the lines pattern i matched.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct buffer {
    char *data;
    size_t size;
};

static int read_file(const char *path, struct buffer *out)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "pcre2_loop: %s: %s\n", path, strerror(errno));
        return -1;
    }
    size_t cap = 1 << 20, size = 0;
    char *data = malloc(cap + 1);
    size_t n;
    while (data && (n = fread(data + size, 1, cap - size, f)) > 0) {
        size += n;
        if (size == cap) {
            char *bigger = realloc(data, 2 * cap + 1);
            if (!bigger) {
                free(data);
                data = NULL;
                break;
            }
            data = bigger;
            cap *= 2;
        }
    }
    int failed = ferror(f) || !data;
    fclose(f);
    if (failed) {
        fprintf(stderr, "pcre2_loop: %s: read failed\n", path);
        free(data);
        return -1;
    }
    data[size] = '\n'; /* sentinel: the last line always ends in '\n' */
    out->data = data;
    out->size = size;
    return 0;
}

/* Compiles each non-empty line of `text`; returns the count, or -1. */
static int compile_patterns(struct buffer text, const char *path, pcre2_code ***out)
{
    int count = 0, capacity = 16;
    pcre2_code **codes = malloc(capacity * sizeof *codes);
    char *line = text.data, *end = text.data + text.size;
    for (int lineno = 1; codes && line < end; lineno++) {
        char *nl = memchr(line, '\n', (size_t)(end - line) + 1);
        size_t len = (size_t)(nl - line);
        if (len > 0 && line[len - 1] == '\r')
            len--;
        if (len > 0) {
            int error;
            PCRE2_SIZE offset;
            pcre2_code *code = pcre2_compile((PCRE2_SPTR)line, len,
                                             PCRE2_UTF | PCRE2_UCP, &error, &offset, NULL);
            if (!code) {
                PCRE2_UCHAR message[256];
                pcre2_get_error_message(error, message, sizeof message);
                fprintf(stderr, "pcre2_loop: %s:%d: offset %zu: %s\n",
                        path, lineno, (size_t)offset, (char *)message);
                return -1;
            }
            if (pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) != 0) {
                fprintf(stderr, "pcre2_loop: %s:%d: JIT compilation failed\n", path, lineno);
                return -1;
            }
            if (count == capacity) {
                pcre2_code **bigger = realloc(codes, 2 * capacity * sizeof *codes);
                if (!bigger)
                    break;
                codes = bigger;
                capacity *= 2;
            }
            codes[count++] = code;
        }
        line = nl + 1;
    }
    if (!codes) {
        fprintf(stderr, "pcre2_loop: out of memory\n");
        return -1;
    }
    *out = codes;
    return count;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s PATTERNS LOG\n", argv[0]);
        return 2;
    }
    struct buffer patterns_text, log;
    pcre2_code **codes;
    if (read_file(argv[1], &patterns_text) != 0 || read_file(argv[2], &log) != 0)
        return 1;
    int count = compile_patterns(patterns_text, argv[1], &codes);
    if (count < 0)
        return 1;
    if (count == 0) {
        fprintf(stderr, "pcre2_loop: %s: no patterns\n", argv[1]);
        return 1;
    }

    unsigned long *matches = calloc((size_t)count, sizeof *matches);
    pcre2_match_data *md = pcre2_match_data_create(64, NULL);
    pcre2_match_context *mc = pcre2_match_context_create(NULL);
    pcre2_jit_stack *stack = pcre2_jit_stack_create(32 * 1024, 512 * 1024, NULL);
    if (!matches || !md || !mc || !stack) {
        fprintf(stderr, "pcre2_loop: out of memory\n");
        return 1;
    }
    pcre2_jit_stack_assign(mc, NULL, stack);

    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    unsigned long lines = 0;
    const char *line = log.data, *end = log.data + log.size;
    while (line < end) {
        const char *nl = memchr(line, '\n', (size_t)(end - line) + 1);
        size_t len = (size_t)(nl - line);
        for (int i = 0; i < count; i++) {
            int rc = pcre2_jit_match(codes[i], (PCRE2_SPTR)line, len, 0, 0, md, mc);
            if (rc >= 0)
                matches[i]++;
        }
        lines++;
        line = nl + 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);

    double seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("{\"lines\": %lu, \"seconds\": %.6f, \"matches\": [", lines, seconds);
    for (int i = 0; i < count; i++)
        printf("%s%lu", i ? ", " : "", matches[i]);
    printf("]}\n");
    return 0;
}
