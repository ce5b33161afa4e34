/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel interfaces that differ between the kernels kpool builds for.
 * Which one a kernel has is found by the feature probes in Kbuild
 * (KPOOL_HAVE_*), from its headers, never from its version: see
 * docs/kernels.md.
 */
#ifndef KPOOL_COMPAT_H
#define KPOOL_COMPAT_H

#include <linux/crc32.h>
#include <linux/types.h>
#include <crypto/sha2.h>

/*
 * CRC32C (Castagnoli) of @len bytes, continued from @crc, without the
 * inversions at either end: lib/crc32's, built in (not the crypto API
 * of libcrc32c).  Called __crc32c_le() before it was renamed crc32c().
 */
static inline u32 kpool_crc32c(u32 crc, const void *p, size_t len)
{
#ifdef KPOOL_HAVE_CRC32C_LE
	return __crc32c_le(crc, p, len);
#else
	return crc32c(crc, p, len);
#endif
}

/*
 * A SHA-256 computation for the library's sha256_init(), sha256_update()
 * and sha256_final(): &ctx is what they take, a struct sha256_ctx or,
 * before it, a struct sha256_state.
 */
struct kpool_sha256 {
#ifdef KPOOL_HAVE_SHA256_CTX
	struct sha256_ctx	ctx;
#else
	struct sha256_state	ctx;
#endif
};

#endif /* KPOOL_COMPAT_H */
