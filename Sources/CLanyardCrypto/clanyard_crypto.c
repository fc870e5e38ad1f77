#include "clanyard_crypto.h"

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

/* Keys and EVP contexts are kept apart.
 *
 * An initialised ChaCha20-Poly1305 EVP context takes about 1 KB of heap. A session seals with one
 * key and opens with the other, so a context per key cost every WireGuard session 2 KB: 40% of a
 * switch's memory per member at 10,000 members. Most of those members are idle most of the time.
 *
 * So a key (`clanyard_aead`) is its 32 bytes and a number, and contexts live in a cache per
 * thread and direction: `SLOTS` contexts, direct-mapped by the key's number. A key whose slot
 * holds its own schedule costs exactly what a context of its own did (the nonce is set per
 * packet either way); a key whose slot another key took sets its key in the same EVP call that
 * sets the nonce, about 700 more instructions per packet (bench/aead.sh, row
 * "openssl-key-per-packet"). Numbers are handed out in sequence, so up to SLOTS keys used in
 * turn on one thread never evict each other. Memory is bounded: at most 2 * SLOTS contexts per
 * thread, made on first use, whatever the number of sessions. */

enum { SLOTS = 1024 };

struct clanyard_aead {
    uint8_t key[32];
    uint64_t number;
};

struct slot {
    EVP_CIPHER_CTX *ctx;
    uint64_t owner; /* number of the key whose schedule ctx holds; 0 = none */
};

struct cache {
    struct slot seal[SLOTS];
    struct slot open[SLOTS];
};

static _Atomic uint64_t next_number = 1;
static pthread_key_t cache_key;
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;
static _Thread_local struct cache *thread_cache;

/* Runs on the exiting thread (a pthread key destructor). Other thread-exit destructors may run
   after it and free keys (a Swift object released when the thread's last references go), so the
   thread's pointer is cleared first: those frees then find no cache to wipe, instead of a freed one. */
static void free_cache(void *p) {
    struct cache *c = p;
    thread_cache = NULL;
    for (int i = 0; i < SLOTS; i++) {
        EVP_CIPHER_CTX_free(c->seal[i].ctx); /* frees and cleanses the key schedule */
        EVP_CIPHER_CTX_free(c->open[i].ctx);
    }
    free(c);
}

static void make_cache_key(void) { (void)pthread_key_create(&cache_key, free_cache); }

/* This thread's cache, made on first use and freed (contexts cleansed) when the thread exits. */
static struct cache *current_cache(void) {
    if (thread_cache != NULL) return thread_cache;
    pthread_once(&cache_once, make_cache_key);
    struct cache *c = calloc(1, sizeof(*c));
    if (c == NULL) return NULL;
    if (pthread_setspecific(cache_key, c) != 0) { free(c); return NULL; }
    thread_cache = c;
    return c;
}

/* A context holding `a`'s key schedule for `encrypt`, with `nonce` set: the slot's own if it
   already holds the key, the slot's context re-keyed otherwise (key and nonce in one call). */
static EVP_CIPHER_CTX *context_for(clanyard_aead *a, int encrypt, const uint8_t *nonce) {
    struct cache *c = current_cache();
    if (c == NULL) return NULL;
    struct slot *s = &(encrypt ? c->seal : c->open)[a->number % SLOTS];
    if (s->ctx == NULL) {
        if ((s->ctx = EVP_CIPHER_CTX_new()) == NULL) return NULL;
        if (EVP_CipherInit_ex(s->ctx, EVP_chacha20_poly1305(), NULL, NULL, NULL, encrypt) != 1) {
            EVP_CIPHER_CTX_free(s->ctx);
            s->ctx = NULL;
            return NULL;
        }
        s->owner = 0;
    }
    const uint8_t *key = s->owner == a->number ? NULL : a->key;
    s->owner = 0; /* until the call below has set the key */
    if (EVP_CipherInit_ex(s->ctx, NULL, NULL, key, nonce, encrypt) != 1) return NULL;
    s->owner = a->number;
    return s->ctx;
}

/* Overwrites the schedule of `number` in this thread's `slots`, if a slot still holds it. */
static void forget(struct slot *slots, uint64_t number, int encrypt) {
    struct slot *s = &slots[number % SLOTS];
    if (s->ctx == NULL || s->owner != number) return;
    static const uint8_t zero[32];
    (void)EVP_CipherInit_ex(s->ctx, NULL, NULL, zero, NULL, encrypt);
    s->owner = 0;
}

clanyard_aead *clanyard_aead_new(const uint8_t *key) {
    if (key == NULL) return NULL;
    clanyard_aead *a = malloc(sizeof(*a));
    if (a == NULL) return NULL;
    memcpy(a->key, key, sizeof(a->key));
    a->number = atomic_fetch_add_explicit(&next_number, 1, memory_order_relaxed);
    return a;
}

void clanyard_aead_free(clanyard_aead *a) {
    if (a == NULL) return;
    if (thread_cache != NULL) {
        forget(thread_cache->seal, a->number, 1);
        forget(thread_cache->open, a->number, 0);
    }
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
    EVP_CIPHER_CTX *ctx = context_for(a, 1, nonce);
    if (ctx == NULL) return CLANYARD_ERR_INTERNAL;
    int out = 0;
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
    EVP_CIPHER_CTX *ctx = context_for(a, 0, nonce);
    if (ctx == NULL) return CLANYARD_ERR_INTERNAL;
    int out = 0;
    if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, CLANYARD_AEAD_TAG_SIZE, (void *)tag) != 1) return CLANYARD_ERR_INTERNAL;
    if (aad_len > 0 && EVP_DecryptUpdate(ctx, NULL, &out, aad, (int)aad_len) != 1) return CLANYARD_ERR_INTERNAL;
    if (len > 0 && EVP_DecryptUpdate(ctx, buf, &out, buf, (int)len) != 1) return CLANYARD_ERR_INTERNAL;
    uint8_t scratch[16];
    if (EVP_DecryptFinal_ex(ctx, scratch, &out) != 1) return CLANYARD_ERR_AUTH;
    return CLANYARD_OK;
}
