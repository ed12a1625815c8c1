#ifndef TWEEDIE_ALLOCATION_COUNTER_H
#define TWEEDIE_ALLOCATION_COUNTER_H
#include <stdint.h>

/* Counts heap allocations of the whole process (every thread, every library: Swift, oneDNN, OpenBLAS, libgomp).
 * Linking this target into an executable replaces malloc, calloc, realloc, posix_memalign, aligned_alloc, memalign
 * and valloc with wrappers that count and forward to glibc's own allocator (__libc_malloc and friends), so no
 * LD_PRELOAD and no dlsym bootstrap (dlsym itself allocates) are needed. Only the tweedie executable and the test
 * binary link it; library users of Tweedie keep their allocator untouched. Counting is off until enabled. */

/* Starts (nonzero) or stops (0) counting; the totals are kept. */
void tweedie_alloc_set_counting(int on);
/* Allocation calls counted so far (malloc, calloc, realloc, the aligned family). free is not counted. */
uint64_t tweedie_alloc_calls(void);
/* Bytes requested by the counted calls. */
uint64_t tweedie_alloc_bytes(void);
/* Zeroes both totals. */
void tweedie_alloc_reset(void);
/* 1 when this process's malloc is the counting wrapper (the symbol won over glibc's), else 0. */
int tweedie_alloc_hook_active(void);

#endif
