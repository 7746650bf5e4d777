/* The wrapped allocator behind alloc-hook.h. */
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "tests/support/alloc-hook.h"

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);

static atomic_uint allocations;
static atomic_int fail_in = -1; /* fail the allocation after this many */

unsigned
fm_test_alloc_count(void)
{
	return atomic_load(&allocations);
}

void
fm_test_alloc_fail_after(int n)
{
	atomic_store(&fail_in, n);
}

/* Counts an allocation; false when it is the one to fail. */
static bool
allocation_ok(void)
{
	atomic_fetch_add(&allocations, 1);
	return atomic_fetch_sub(&fail_in, 1) != 0;
}

void *
__wrap_malloc(size_t n)
{
	return allocation_ok() ? __real_malloc(n) : NULL;
}

void *
__wrap_calloc(size_t n, size_t size)
{
	return allocation_ok() ? __real_calloc(n, size) : NULL;
}

void *
__wrap_realloc(void *p, size_t n)
{
	return allocation_ok() ? __real_realloc(p, n) : NULL;
}
