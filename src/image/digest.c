/* SPDX-License-Identifier: Apache-2.0 */
/* SHA-256 through OpenSSL's EVP interface (libcrypto). */
#include "digest.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

void sha256_init(struct sha256 *h)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		abort(); /* out of memory, or a broken libcrypto */
	h->ctx = ctx;
}

void sha256_update(struct sha256 *h, const void *p, size_t n)
{
	if (n && EVP_DigestUpdate(h->ctx, p, n) != 1)
		abort();
}

void sha256_final(struct sha256 *h, char out[DIGEST_STR_LEN])
{
	unsigned char md[32];
	unsigned int len = 0;
	if (EVP_DigestFinal_ex(h->ctx, md, &len) != 1 || len != 32)
		abort();
	int k = snprintf(out, DIGEST_STR_LEN, "sha256:");
	for (int i = 0; i < 32; i++)
		k += snprintf(out + k, DIGEST_STR_LEN - (size_t)k, "%02x", md[i]);
	sha256_done(h);
}

void sha256_done(struct sha256 *h)
{
	if (h->ctx)
		EVP_MD_CTX_free(h->ctx);
	h->ctx = NULL;
}

void sha256_digest(const void *p, size_t n, char out[DIGEST_STR_LEN])
{
	struct sha256 h;
	sha256_init(&h);
	sha256_update(&h, p, n);
	sha256_final(&h, out);
}

int sha256_fd(int fd, char out[DIGEST_STR_LEN], uint64_t *ret_size)
{
	static __thread unsigned char buf[1 << 16];
	struct sha256 h;
	uint64_t total = 0;
	off_t off = 0;

	sha256_init(&h);
	for (;;) {
		ssize_t n = pread(fd, buf, sizeof(buf), off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int r = -errno;
			sha256_done(&h);
			return r;
		}
		if (n == 0)
			break;
		sha256_update(&h, buf, (size_t)n);
		off += n;
		total += (uint64_t)n;
	}
	sha256_final(&h, out);
	if (ret_size)
		*ret_size = total;
	return 0;
}
