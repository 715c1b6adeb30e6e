#ifndef WARDEN_CLINUX_H
#define WARDEN_CLINUX_H
// Linux calls Swift's Glibc module does not reach: they sit behind _GNU_SOURCE or are
// only macros and variadic functions. Keep this file to thin, documented wrappers.
#define _GNU_SOURCE
#include <sched.h>

/// Moves the calling thread (not the process) into a new network namespace.
static inline int warden_unshare_network_namespace(void) { return unshare(CLONE_NEWNET); }

#endif
