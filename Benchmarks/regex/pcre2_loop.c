/*
 * Baselines for the regex benchmark: a filter's PCRE2 patterns run over a log
 * with plain pcre2_jit_match calls and nothing clever around them.
 *
 *   pcre2_loop PATTERNS LOG
 *   pcre2_loop --filter DATE_PATTERN PATTERNS LOG
 *
 * PATTERNS holds one PCRE2 pattern per line, as printed by
 * `warden regex --print-regexes <filter>`: the prefregex, then the failregexes
 * (empty lines are skipped). Every pattern is compiled the way warden compiles
 * filters (UTF, UCP, LF newline, JIT).
 *
 * Without --filter (the naive loop), every pattern runs once, unanchored, on
 * every whole line: no date cutting, no prefregex, no literal prefilter. The
 * stock failregexes start with `^` and the lines with a date, so they fail at
 * the first byte: this measures raw call cost, not the filter's job. Output, on
 * stdout, one JSON object:
 *
 *   {"lines": N, "seconds": S, "matches": [m0, m1, ...]}
 *
 * where mi counts the lines pattern i matched.
 *
 * With --filter (the faithful loop), each line goes through the steps of
 * fail2ban's filter (docs/filter-engine.md), one pcre2_jit_match per step:
 *   1. search DATE_PATTERN (the date template warden used for the log); if it
 *      matches, cut its group 1 out: the rest is the text before the date
 *      followed by the text after it, plus the "\n" fail2ban ends its buffer with;
 *   2. search the prefregex (the first pattern) on the rest; no match, no
 *      failure; a non-empty `content` group, plus "\n", becomes the subject;
 *   3. search the failregexes in order on the subject; the first match wins;
 *   4. print "LINE REGEX NOFAIL": the 1-based line number, the failregex's index
 *      from 0, and 1 when the match set a `nofail` or `mlfgained` group (a line
 *      that only helps a multi-line connection and is no failure by itself).
 * Lines that are empty or start with '#' are skipped, as fail2ban-regex does.
 * The last line is {"lines": N, "seconds": S, "failures": F}.
 *
 * S covers the loop only (the files are read into memory first), including
 * the printing of failures into stdio's buffer.
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

/* A span of bytes inside a line or the scratch buffer. */
struct span {
    const char *start;
    size_t length;
};

struct matching {
    pcre2_match_data *data;
    pcre2_match_context *context;
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

/* Compiles one pattern with warden's options; `where` names it in errors. */
static pcre2_code *compile_pattern(const char *text, size_t length, const char *where)
{
    static pcre2_compile_context *context;
    if (!context) {
        context = pcre2_compile_context_create(NULL);
        if (!context || pcre2_set_newline(context, PCRE2_NEWLINE_LF) != 0) {
            fprintf(stderr, "pcre2_loop: out of memory\n");
            return NULL;
        }
    }
    int error;
    PCRE2_SIZE offset;
    pcre2_code *code = pcre2_compile((PCRE2_SPTR)text, length, PCRE2_UTF | PCRE2_UCP,
                                     &error, &offset, context);
    if (!code) {
        PCRE2_UCHAR message[256];
        pcre2_get_error_message(error, message, sizeof message);
        fprintf(stderr, "pcre2_loop: %s: offset %zu: %s\n", where, (size_t)offset, (char *)message);
        return NULL;
    }
    if (pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) != 0) {
        fprintf(stderr, "pcre2_loop: %s: JIT compilation failed\n", where);
        return NULL;
    }
    return code;
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
            char where[4096];
            snprintf(where, sizeof where, "%s:%d", path, lineno);
            pcre2_code *code = compile_pattern(line, len, where);
            if (!code)
                return -1;
            if (count == capacity) {
                pcre2_code **bigger = realloc(codes, 2 * capacity * sizeof *codes);
                if (!bigger) {
                    free(codes);
                    codes = NULL;
                    break;
                }
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

/* The most capture groups any of `codes` has: match data this big can read them all. */
static uint32_t most_groups(pcre2_code **codes, int count)
{
    uint32_t most = 0;
    for (int i = 0; i < count; i++) {
        uint32_t groups = 0;
        pcre2_pattern_info(codes[i], PCRE2_INFO_CAPTURECOUNT, &groups);
        if (groups > most)
            most = groups;
    }
    return most;
}

static double seconds_between(struct timespec t0, struct timespec t1)
{
    return (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
}

/* The naive loop: every pattern on every whole line. */
static int run_naive(pcre2_code **codes, int count, struct buffer log, struct matching m)
{
    unsigned long *matches = calloc((size_t)count, sizeof *matches);
    if (!matches) {
        fprintf(stderr, "pcre2_loop: out of memory\n");
        return 1;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    unsigned long lines = 0;
    const char *line = log.data, *end = log.data + log.size;
    while (line < end) {
        const char *nl = memchr(line, '\n', (size_t)(end - line) + 1);
        size_t len = (size_t)(nl - line);
        for (int i = 0; i < count; i++) {
            int rc = pcre2_jit_match(codes[i], (PCRE2_SPTR)line, len, 0, 0, m.data, m.context);
            if (rc >= 0)
                matches[i]++;
        }
        lines++;
        line = nl + 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);

    printf("{\"lines\": %lu, \"seconds\": %.6f, \"matches\": [", lines, seconds_between(t0, t1));
    for (int i = 0; i < count; i++)
        printf("%s%lu", i ? ", " : "", matches[i]);
    printf("]}\n");
    return 0;
}

/* The span of group `number` of the last match, or length 0 when it is unset. */
static struct span group_span(struct matching m, int number, const char *subject)
{
    PCRE2_SIZE *ovector = pcre2_get_ovector_pointer(m.data);
    if (ovector[2 * number] == PCRE2_UNSET)
        return (struct span){subject, 0};
    return (struct span){subject + ovector[2 * number], ovector[2 * number + 1] - ovector[2 * number]};
}

/* Whether the last match set group `number` (a negative number: the pattern has none). */
static int group_is_set(struct matching m, int number)
{
    if (number < 0)
        return 0;
    PCRE2_SIZE *ovector = pcre2_get_ovector_pointer(m.data);
    return ovector[2 * number] != PCRE2_UNSET;
}

static int group_number(pcre2_code *code, const char *name)
{
    return pcre2_substring_number_from_name(code, (PCRE2_SPTR)name);
}

/* Copies `parts` one after the other into `scratch`, then "\n"; returns the length. */
static size_t join_with_newline(char *scratch, const struct span *parts, int count)
{
    size_t length = 0;
    for (int i = 0; i < count; i++) {
        memcpy(scratch + length, parts[i].start, parts[i].length);
        length += parts[i].length;
    }
    scratch[length++] = '\n';
    return length;
}

/* The faithful loop: date cut, prefregex content, failregexes in order. */
static int run_filter(pcre2_code *date, pcre2_code **codes, int count, struct buffer log, struct matching m)
{
    pcre2_code *prefregex = codes[0], **failregexes = codes + 1;
    int failregex_count = count - 1;
    int content = group_number(prefregex, "content");
    if (content < 0) {
        fprintf(stderr, "pcre2_loop: the first pattern is not a prefregex with a `content` group\n");
        return 1;
    }
    int *nofail = malloc((size_t)failregex_count * sizeof *nofail);
    int *gained = malloc((size_t)failregex_count * sizeof *gained);
    /* Two subjects at most as long as a line plus "\n": the rest, then the content. */
    size_t longest = 0;
    for (const char *line = log.data, *end = log.data + log.size; line < end;) {
        const char *nl = memchr(line, '\n', (size_t)(end - line) + 1);
        if ((size_t)(nl - line) > longest)
            longest = (size_t)(nl - line);
        line = nl + 1;
    }
    char *rest = malloc(longest + 1), *subject = malloc(longest + 1);
    if (!nofail || !gained || !rest || !subject) {
        fprintf(stderr, "pcre2_loop: out of memory\n");
        return 1;
    }
    for (int i = 0; i < failregex_count; i++) {
        nofail[i] = group_number(failregexes[i], "nofail");
        gained[i] = group_number(failregexes[i], "mlfgained");
    }

    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    unsigned long lines = 0, failures = 0;
    const char *line = log.data, *end = log.data + log.size;
    while (line < end) {
        const char *nl = memchr(line, '\n', (size_t)(end - line) + 1);
        size_t len = (size_t)(nl - line);
        while (len > 0 && (line[len - 1] == '\r'))
            len--;
        lines++;
        const char *next = nl + 1;
        if (len == 0 || line[0] == '#') {
            line = next;
            continue;
        }

        /* 1. The date's group 1 is cut out; without a date the whole line is the rest. */
        struct span parts[2] = {{line, len}, {line + len, 0}};
        if (pcre2_jit_match(date, (PCRE2_SPTR)line, len, 0, 0, m.data, m.context) >= 0) {
            struct span cut = group_span(m, 1, line);
            if (cut.length > 0) {
                parts[0].length = (size_t)(cut.start - line);
                parts[1] = (struct span){cut.start + cut.length, len - (size_t)(cut.start - line) - cut.length};
            }
        }
        size_t rest_length = join_with_newline(rest, parts, 2);

        /* 2. The prefregex must match; its content, when not empty, is the subject. */
        if (pcre2_jit_match(prefregex, (PCRE2_SPTR)rest, rest_length, 0, 0, m.data, m.context) < 0) {
            line = next;
            continue;
        }
        struct span whole = {rest, rest_length};
        struct span found = group_span(m, content, rest);
        if (found.length > 0)
            whole = (struct span){subject, join_with_newline(subject, &found, 1)};

        /* 3. and 4. The first failregex that matches is the line's failure. */
        for (int i = 0; i < failregex_count; i++) {
            if (pcre2_jit_match(failregexes[i], (PCRE2_SPTR)whole.start, whole.length, 0, 0, m.data, m.context) < 0)
                continue;
            int helper = group_is_set(m, nofail[i]) || group_is_set(m, gained[i]);
            printf("%lu %d %d\n", lines, i, helper);
            failures++;
            break;
        }
        line = next;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);

    printf("{\"lines\": %lu, \"seconds\": %.6f, \"failures\": %lu}\n", lines, seconds_between(t0, t1), failures);
    return 0;
}

int main(int argc, char **argv)
{
    const char *date_pattern = NULL;
    if (argc == 5 && strcmp(argv[1], "--filter") == 0) {
        date_pattern = argv[2];
        argv += 2;
        argc -= 2;
    }
    if (argc != 3) {
        fprintf(stderr, "usage: pcre2_loop [--filter DATE_PATTERN] PATTERNS LOG\n");
        return 2;
    }
    struct buffer patterns_text, log;
    pcre2_code **codes;
    if (read_file(argv[1], &patterns_text) != 0 || read_file(argv[2], &log) != 0)
        return 1;
    int count = compile_patterns(patterns_text, argv[1], &codes);
    if (count < 0)
        return 1;
    if (count < (date_pattern ? 2 : 1)) {
        fprintf(stderr, "pcre2_loop: %s: %s\n", argv[1],
                date_pattern ? "needs a prefregex and at least one failregex" : "no patterns");
        return 1;
    }
    pcre2_code *date = date_pattern ? compile_pattern(date_pattern, strlen(date_pattern), "DATE_PATTERN") : NULL;
    if (date_pattern && !date)
        return 1;

    uint32_t groups = most_groups(codes, count);
    if (date && most_groups(&date, 1) > groups)
        groups = most_groups(&date, 1);
    struct matching m = {pcre2_match_data_create(groups + 1, NULL), pcre2_match_context_create(NULL)};
    pcre2_jit_stack *stack = pcre2_jit_stack_create(32 * 1024, 512 * 1024, NULL);
    if (!m.data || !m.context || !stack) {
        fprintf(stderr, "pcre2_loop: out of memory\n");
        return 1;
    }
    pcre2_jit_stack_assign(m.context, NULL, stack);
    return date ? run_filter(date, codes, count, log, m) : run_naive(codes, count, log, m);
}
