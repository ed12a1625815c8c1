/* See include/allocation_counter.h. The counters are relaxed atomics: totals are read after the counted work has
 * joined its threads, so no ordering beyond the join is needed, and a relaxed add costs a few cycles per call. */
#define _GNU_SOURCE
#include "allocation_counter.h"
#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <malloc.h>
#include <unistd.h>

/* glibc exports its allocator under these names (GLIBC_2.2.5) precisely so that a replacement can forward to it. */
extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);
extern void *__libc_memalign(size_t alignment, size_t size);

static atomic_int counting;
static atomic_uint_fast64_t calls;
static atomic_uint_fast64_t bytes;
/* Set by the first call through the wrapper; tells a caller whether counting can work at all. */
static atomic_int hooked;

static inline void count(size_t size) {
    atomic_store_explicit(&hooked, 1, memory_order_relaxed);
    if (atomic_load_explicit(&counting, memory_order_relaxed)) {
        atomic_fetch_add_explicit(&calls, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&bytes, size, memory_order_relaxed);
    }
}

void *malloc(size_t size) { count(size); return __libc_malloc(size); }

void *calloc(size_t n, size_t size) { count(n * size); return __libc_calloc(n, size); }

void *realloc(void *p, size_t size) { count(size); return __libc_realloc(p, size); }

void *memalign(size_t alignment, size_t size) { count(size); return __libc_memalign(alignment, size); }

void *aligned_alloc(size_t alignment, size_t size) { count(size); return __libc_memalign(alignment, size); }

void *valloc(size_t size) { count(size); return __libc_memalign((size_t)getpagesize(), size); }

int posix_memalign(void **out, size_t alignment, size_t size) {
    /* POSIX: a power of two multiple of sizeof(void *), else EINVAL without touching *out. */
    if (alignment % sizeof(void *) != 0 || (alignment & (alignment - 1)) != 0) return EINVAL;
    count(size);
    void *p = __libc_memalign(alignment, size);
    if (p == NULL && size != 0) return ENOMEM;
    *out = p;
    return 0;
}

void tweedie_alloc_set_counting(int on) { atomic_store_explicit(&counting, on != 0, memory_order_relaxed); }
uint64_t tweedie_alloc_calls(void) { return atomic_load_explicit(&calls, memory_order_relaxed); }
uint64_t tweedie_alloc_bytes(void) { return atomic_load_explicit(&bytes, memory_order_relaxed); }
void tweedie_alloc_reset(void) {
    atomic_store_explicit(&calls, 0, memory_order_relaxed);
    atomic_store_explicit(&bytes, 0, memory_order_relaxed);
}
int tweedie_alloc_hook_active(void) {
    void *volatile probe = malloc(1); /* goes through the wrapper when it is the process's malloc */
    free(probe);
    return atomic_load_explicit(&hooked, memory_order_relaxed);
}
