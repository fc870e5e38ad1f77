/* The per-packet cost of each ChaCha20-Poly1305 call this machine's packages offer, side by side:
 *   0 openssl-evp     what Lanyard does (CLanyardCrypto): EVP contexts made once per key, then
 *                     Init(nonce) / Update / Final / ctrl(tag) per packet
 *   1 libsodium       crypto_aead_chacha20poly1305_ietf_{en,de}crypt_detached, one call each way
 *   2 openssl-params  as 0, with the tag passed in prebuilt OSSL_PARAM arrays (no ctrl layer)
 *   3 openssl-key-per-packet  one shared context pair, the key given with every packet (what a
 *                     switch holding no context per member would pay: saves 2 x 1,056 bytes of
 *                     EVP context per session)
 * Built and run by bench/aead.sh: seal + open in place of one packet, wall time and (under
 * callgrind) instructions. */
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }
int main(int argc, char **argv) {
    int which = atoi(argv[1]); long n = atol(argv[2]); int len = argc > 3 ? atoi(argv[3]) : 1392;
    unsigned char key[32] = {1}, nonce[12] = {0}, buf[2048], tag[16];
    memset(buf, 7, sizeof buf);
    EVP_CIPHER_CTX *enc = EVP_CIPHER_CTX_new(), *dec = EVP_CIPHER_CTX_new();
    EVP_CipherInit_ex(enc, EVP_chacha20_poly1305(), NULL, key, NULL, 1);
    EVP_CipherInit_ex(dec, EVP_chacha20_poly1305(), NULL, key, NULL, 0);
    if (sodium_init() < 0) return 1;
    double t0 = now(); int out; unsigned char scratch[16];
    for (long i = 0; i < n; i++) {
        memcpy(nonce + 4, &i, 8);
        if (which == 0) {
            EVP_EncryptInit_ex(enc, NULL, NULL, NULL, nonce);
            EVP_EncryptUpdate(enc, buf, &out, buf, len);
            EVP_EncryptFinal_ex(enc, scratch, &out);
            EVP_CIPHER_CTX_ctrl(enc, EVP_CTRL_AEAD_GET_TAG, 16, tag);
            EVP_DecryptInit_ex(dec, NULL, NULL, NULL, nonce);
            EVP_CIPHER_CTX_ctrl(dec, EVP_CTRL_AEAD_SET_TAG, 16, tag);
            EVP_DecryptUpdate(dec, buf, &out, buf, len);
            if (EVP_DecryptFinal_ex(dec, scratch, &out) != 1) { puts("auth fail"); return 1; }
        } else if (which == 3) {
            /* one shared context pair; the key given with every packet (no context per key) */
            EVP_EncryptInit_ex(enc, NULL, NULL, key, nonce);
            EVP_EncryptUpdate(enc, buf, &out, buf, len);
            EVP_EncryptFinal_ex(enc, scratch, &out);
            EVP_CIPHER_CTX_ctrl(enc, EVP_CTRL_AEAD_GET_TAG, 16, tag);
            EVP_DecryptInit_ex(dec, NULL, NULL, key, nonce);
            EVP_CIPHER_CTX_ctrl(dec, EVP_CTRL_AEAD_SET_TAG, 16, tag);
            EVP_DecryptUpdate(dec, buf, &out, buf, len);
            if (EVP_DecryptFinal_ex(dec, scratch, &out) != 1) { puts("auth fail"); return 1; }
        } else if (which == 2) {
            OSSL_PARAM get[2] = { OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, tag, 16), OSSL_PARAM_construct_end() };
            OSSL_PARAM set[2] = { OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, tag, 16), OSSL_PARAM_construct_end() };
            EVP_EncryptInit_ex2(enc, NULL, NULL, nonce, NULL);
            EVP_EncryptUpdate(enc, buf, &out, buf, len);
            EVP_EncryptFinal_ex(enc, scratch, &out);
            EVP_CIPHER_CTX_get_params(enc, get);
            EVP_DecryptInit_ex2(dec, NULL, NULL, nonce, set);
            EVP_DecryptUpdate(dec, buf, &out, buf, len);
            if (EVP_DecryptFinal_ex(dec, scratch, &out) != 1) { puts("auth fail"); return 1; }
        } else {
            unsigned long long maclen;
            crypto_aead_chacha20poly1305_ietf_encrypt_detached(buf, tag, &maclen, buf, len, NULL, 0, NULL, nonce, key);
            if (crypto_aead_chacha20poly1305_ietf_decrypt_detached(buf, NULL, buf, len, tag, NULL, 0, nonce, key) != 0) { puts("auth fail"); return 1; }
        }
    }
    double t = now() - t0;
    printf("%s: %ld seal+open of %d bytes: %.0f ns each, %.2f Gbit/s (one direction)\n", which == 1 ? "libsodium" : which == 2 ? "openssl-params" : which == 3 ? "openssl-key-per-packet" : "openssl-evp", n, len, t / n * 1e9, len * 8.0 * n / t / 1e9);
    return 0;
}
