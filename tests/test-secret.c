#include "config.h"
/*
 * test-secret: secrets on the ordinary heap, then in the secure heap once
 * secret_heap_init() made one, spilling back to the ordinary heap when half
 * of it is used, freed from either (proto/secret.c), and no OpenSSL error
 * left behind.
 *
 * SPDX-License-Identifier: Apache-2.0
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/crypto.h>
#include <openssl/err.h>

#include "secret.h"

#define HEAP 4096

static void test_heaps(void **state)
{
	struct secret *before;

	(void)state;
	/* No secure heap yet: a zeroed, NUL-terminated ordinary allocation. */
	assert_non_null(before = secret_dup("pin", 3));
	assert_false(CRYPTO_secure_allocated(before->p));
	assert_memory_equal(before->p, "pin\0", 4);

#if defined(__SANITIZE_ADDRESS__)
	/* Under ASan there is no secure heap on purpose. */
	assert_int_equal(secret_heap_init(HEAP), -1);
	assert_false(CRYPTO_secure_malloc_initialized());
	secret_free(before);
	skip();
#else
	struct secret *in, *spill[2 * HEAP / 64];
	size_t n_spilled = 0;

	assert_int_equal(secret_heap_init(HEAP), 0);
	assert_true(CRYPTO_secure_malloc_initialized());
	assert_non_null(in = secret_new(100));
	assert_true(CRYPTO_secure_allocated(in->p));
	for (size_t i = 0; i <= 100; i++)
		assert_int_equal(in->p[i], 0);
	memset(in->p, 0xa5, 100);
	/*
	 * More than the heap holds: ours stop at half of it (libcrypto needs the
	 * rest) and spill to the ordinary heap.
	 */
	for (size_t i = 0; i < sizeof(spill) / sizeof(spill[0]); i++) {
		assert_non_null(spill[i] = secret_new(63));
		n_spilled += !CRYPTO_secure_allocated(spill[i]->p);
		assert_true(CRYPTO_secure_used() <= HEAP / 2 + 64);
	}
	assert_true(n_spilled > 0);
	assert_true(n_spilled < sizeof(spill) / sizeof(spill[0]));
	assert_int_equal(ERR_peek_error(), 0); /* a full heap leaves no error behind */
	for (size_t i = 0; i < sizeof(spill) / sizeof(spill[0]); i++)
		secret_free(spill[i]);
	/* Freed from either heap; the one made before the heap too. */
	secret_free(in);
	secret_free(before);
	assert_int_equal(CRYPTO_secure_used(), 0);
	secret_free(NULL);
#endif
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_heaps),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
