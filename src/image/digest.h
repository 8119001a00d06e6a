/* SPDX-License-Identifier: Apache-2.0 */
/* Streaming SHA-256 (OpenSSL EVP) producing OCI digests "sha256:<hex>". */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define DIGEST_STR_LEN 72 /* "sha256:" + 64 hex + NUL, rounded */

struct sha256 {
	void *ctx; /* EVP_MD_CTX */
};

void sha256_init(struct sha256 *h);
void sha256_update(struct sha256 *h, const void *p, size_t n);
/* Writes "sha256:<hex>" and releases the context. */
void sha256_final(struct sha256 *h, char out[DIGEST_STR_LEN]);
void sha256_done(struct sha256 *h);
void sha256_digest(const void *p, size_t n, char out[DIGEST_STR_LEN]);
/* Hashes a file from its start; -errno on failure. */
int sha256_fd(int fd, char out[DIGEST_STR_LEN], uint64_t *ret_size);
