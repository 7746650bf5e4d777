/* Tests for crypto/init.c: start-up and the random source. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "crypto/crypto.h"

static void
test_init_is_idempotent(void **state)
{
	assert_int_equal(fm_crypto_init(), 0);
	assert_int_equal(fm_crypto_init(), 0);
}

static void
test_init_random_u64_differs(void **state)
{
	uint64_t v[64], or_all = 0, and_all = UINT64_MAX;

	assert_int_equal(fm_crypto_init(), 0);
	for (size_t i = 0; i < FM_ELEMENTSOF(v); i++) {
		v[i] = fm_crypto_random_u64();
		or_all |= v[i];
		and_all &= v[i];
		for (size_t j = 0; j < i; j++)
			assert_true(v[i] != v[j]);
	}
	/* every bit both set and clear somewhere: fails by chance with
	 * probability 128 * 2^-64 */
	assert_true(or_all == UINT64_MAX);
	assert_true(and_all == 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_is_idempotent),
		cmocka_unit_test(test_init_random_u64_differs),
	};

	return cmocka_run_group_tests_name("crypto-init", tests, NULL, NULL);
}
