/* libsodium's start-up, and the module's source of random numbers. */
#include <errno.h>
#include <stdatomic.h>

#include <sodium.h>

#include "crypto/crypto-int.h"

static atomic_bool ready;

int
fm_crypto_init(void)
{
	/* sodium_init() takes its own lock: 0 first time, 1 afterwards */
	if (sodium_init() < 0)
		return -EIO;
	atomic_store(&ready, true);
	return 0;
}

bool
fmi_crypto_is_ready(void)
{
	return atomic_load(&ready);
}

uint64_t
fm_crypto_random_u64(void)
{
	uint64_t v;

	randombytes_buf(&v, sizeof(v));
	return v;
}
