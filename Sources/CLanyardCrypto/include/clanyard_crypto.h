#ifndef CLANYARD_CRYPTO_H
#define CLANYARD_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Result codes. Zero is success; every failure is a negative value. Nothing aborts.
enum {
    CLANYARD_OK = 0,
    CLANYARD_ERR_ARGUMENT = -1,   /* NULL pointer or length out of range */
    CLANYARD_ERR_INTERNAL = -2,   /* libcrypto refused an operation */
    CLANYARD_ERR_AUTH = -3,       /* tag did not verify on open */
};

#define CLANYARD_AEAD_KEY_SIZE 32
#define CLANYARD_AEAD_NONCE_SIZE 12
#define CLANYARD_AEAD_TAG_SIZE 16

/// An opaque ChaCha20-Poly1305 (RFC 8439) key, reusable for any number of seal/open calls.
/// The EVP contexts that hold key schedules are not per key: each thread keeps a bounded cache
/// of them (see clanyard_crypto.c), so a key costs 48 bytes however many there are. A key is
/// read-only after creation: several threads may seal or open with it at once; freeing it must
/// not race with its use.
typedef struct clanyard_aead clanyard_aead;

/// Copies a 32-byte key. Returns NULL on failure. The only allocation.
clanyard_aead *clanyard_aead_new(const uint8_t *key);

/// Cleanses and frees the key, and overwrites its schedule in the calling thread's cache; a
/// schedule another thread cached stays until that slot is reused or the thread exits (when the
/// cache is freed and cleansed). Accepts NULL.
void clanyard_aead_free(clanyard_aead *ctx);

/// Encrypts `buf[0..<len]` in place and writes the 16-byte tag to `tag`.
int clanyard_aead_seal(clanyard_aead *ctx, const uint8_t *nonce,
                       const uint8_t *aad, size_t aad_len,
                       uint8_t *buf, size_t len, uint8_t *tag);

/// Decrypts `buf[0..<len]` in place if `tag` verifies; returns CLANYARD_ERR_AUTH otherwise
/// (the buffer content is then unspecified and must not be used).
int clanyard_aead_open(clanyard_aead *ctx, const uint8_t *nonce,
                       const uint8_t *aad, size_t aad_len,
                       uint8_t *buf, size_t len, const uint8_t *tag);

#ifdef __cplusplus
}
#endif

#endif
