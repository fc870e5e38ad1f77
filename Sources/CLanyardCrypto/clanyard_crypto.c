#include "clanyard_crypto.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

/* A key's two EVP contexts are made on first use, one per direction: a WireGuard session seals
   with one key and opens with the other, and each context takes about 1 KB of heap, so making
   both for both keys up front cost every session 2 KB it never used. */
struct clanyard_aead {
    EVP_CIPHER_CTX *enc;
    EVP_CIPHER_CTX *dec;
    uint8_t key[32];
};

static EVP_CIPHER_CTX *make_ctx(const uint8_t *key, int encrypt) {
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (ctx == NULL) return NULL;
    if (EVP_CipherInit_ex(ctx, EVP_chacha20_poly1305(), NULL, key, NULL, encrypt) != 1) {
        EVP_CIPHER_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

clanyard_aead *clanyard_aead_new(const uint8_t *key) {
    if (key == NULL) return NULL;
    clanyard_aead *a = calloc(1, sizeof(*a));
    if (a == NULL) return NULL;
    memcpy(a->key, key, sizeof(a->key));
    return a;
}

void clanyard_aead_free(clanyard_aead *a) {
    if (a == NULL) return;
    EVP_CIPHER_CTX_free(a->enc); /* frees and cleanses the key schedule */
    EVP_CIPHER_CTX_free(a->dec);
    OPENSSL_cleanse(a->key, sizeof(a->key));
    free(a);
}

static int check_args(clanyard_aead *a, const uint8_t *nonce, const uint8_t *aad, size_t aad_len,
                      const uint8_t *buf, size_t len, const uint8_t *tag) {
    if (a == NULL || nonce == NULL || tag == NULL) return 0;
    if (aad_len > INT_MAX || len > INT_MAX) return 0;
    if (aad_len > 0 && aad == NULL) return 0;
    if (len > 0 && buf == NULL) return 0;
    return 1;
}

int clanyard_aead_seal(clanyard_aead *a, const uint8_t *nonce,
                       const uint8_t *aad, size_t aad_len,
                       uint8_t *buf, size_t len, uint8_t *tag) {
    if (!check_args(a, nonce, aad, aad_len, buf, len, tag)) return CLANYARD_ERR_ARGUMENT;
    if (a->enc == NULL && (a->enc = make_ctx(a->key, 1)) == NULL) return CLANYARD_ERR_INTERNAL;
    EVP_CIPHER_CTX *ctx = a->enc;
    int out = 0;
    if (EVP_EncryptInit_ex(ctx, NULL, NULL, NULL, nonce) != 1) return CLANYARD_ERR_INTERNAL;
    if (aad_len > 0 && EVP_EncryptUpdate(ctx, NULL, &out, aad, (int)aad_len) != 1) return CLANYARD_ERR_INTERNAL;
    if (len > 0 && EVP_EncryptUpdate(ctx, buf, &out, buf, (int)len) != 1) return CLANYARD_ERR_INTERNAL;
    uint8_t scratch[16]; /* ChaCha20-Poly1305 writes nothing at final; never index a NULL buffer */
    if (EVP_EncryptFinal_ex(ctx, scratch, &out) != 1) return CLANYARD_ERR_INTERNAL;
    if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, CLANYARD_AEAD_TAG_SIZE, tag) != 1) return CLANYARD_ERR_INTERNAL;
    return CLANYARD_OK;
}

int clanyard_aead_open(clanyard_aead *a, const uint8_t *nonce,
                       const uint8_t *aad, size_t aad_len,
                       uint8_t *buf, size_t len, const uint8_t *tag) {
    if (!check_args(a, nonce, aad, aad_len, buf, len, tag)) return CLANYARD_ERR_ARGUMENT;
    if (a->dec == NULL && (a->dec = make_ctx(a->key, 0)) == NULL) return CLANYARD_ERR_INTERNAL;
    EVP_CIPHER_CTX *ctx = a->dec;
    int out = 0;
    if (EVP_DecryptInit_ex(ctx, NULL, NULL, NULL, nonce) != 1) return CLANYARD_ERR_INTERNAL;
    if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, CLANYARD_AEAD_TAG_SIZE, (void *)tag) != 1) return CLANYARD_ERR_INTERNAL;
    if (aad_len > 0 && EVP_DecryptUpdate(ctx, NULL, &out, aad, (int)aad_len) != 1) return CLANYARD_ERR_INTERNAL;
    if (len > 0 && EVP_DecryptUpdate(ctx, buf, &out, buf, (int)len) != 1) return CLANYARD_ERR_INTERNAL;
    uint8_t scratch[16];
    if (EVP_DecryptFinal_ex(ctx, scratch, &out) != 1) return CLANYARD_ERR_AUTH;
    return CLANYARD_OK;
}
