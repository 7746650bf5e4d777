/* The wrapped guarded allocator behind sodium-hook.h. */
#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>

#include "tests/crypto/sodium-hook.h"

void *__real_sodium_malloc(size_t size);
void __real_sodium_free(void *ptr);
void *__wrap_sodium_malloc(size_t size);
void __wrap_sodium_free(void *ptr);

static atomic_int live;
static atomic_int fail_in = -1;

int
fm_test_sodium_live(void)
{
	return atomic_load(&live);
}

void
fm_test_sodium_fail_after(int n)
{
	atomic_store(&fail_in, n);
}

void *
__wrap_sodium_malloc(size_t size)
{
	void *p;

	if (atomic_fetch_sub(&fail_in, 1) == 0) {
		errno = ENOMEM;
		return NULL;
	}
	p = __real_sodium_malloc(size);
	if (p)
		atomic_fetch_add(&live, 1);
	return p;
}

void
__wrap_sodium_free(void *ptr)
{
	if (ptr)
		atomic_fetch_sub(&live, 1);
	__real_sodium_free(ptr);
}
