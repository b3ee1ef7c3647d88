#ifndef SEALPOST_COPENSSL_SHIM_H
#define SEALPOST_COPENSSL_SHIM_H

#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/objects.h>
#include <openssl/crypto.h>
#include <openssl/cms.h>
#include <string.h>
#include <sys/eventfd.h>
#include <malloc.h>

// Not OpenSSL, but needed next to it: a non-blocking, close-on-exec eventfd for waking poll(2) (the Glibc
// module does not export <sys/eventfd.h>).
static inline int sealpost_eventfd(void) { return eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK); }

// Not OpenSSL either: one malloc arena for the whole process (the Glibc module does not export <malloc.h>).
// glibc gives each new thread an arena of its own, which grows by an mprotect(2) per step and zero-fills fresh
// pages; a send's two threads cost 90 system calls and 3 % of its CPU that way (issue 14). Sealpost's threads
// allocate little, so sharing one arena costs no waiting that shows.
static inline void sealpost_single_malloc_arena(void) { (void)mallopt(M_ARENA_MAX, 1); }

// Macros that do not import into Swift, wrapped as functions.
static inline long sealpost_SSL_set_tlsext_host_name(SSL *ssl, const char *name) {
  return SSL_set_tlsext_host_name(ssl, name);
}
static inline long sealpost_SSL_CTX_set_min_proto_version(SSL_CTX *ctx, int version) {
  return SSL_CTX_set_min_proto_version(ctx, version);
}
static inline long sealpost_SSL_CTX_set_max_proto_version(SSL_CTX *ctx, int version) {
  return SSL_CTX_set_max_proto_version(ctx, version);
}

// Modes and options.
static inline long sealpost_SSL_CTX_set_mode_moving_write_buffer(SSL_CTX *ctx) {
  return SSL_CTX_set_mode(ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
}
/// After QUIT many servers close without close_notify; OpenSSL 3 would call that an error.
static inline void sealpost_SSL_CTX_ignore_unexpected_eof(SSL_CTX *ctx) {
  SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
}
static inline void sealpost_SSL_CTX_no_renegotiation(SSL_CTX *ctx) {
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
}

// App data (ex_data index 0), used to reach the Swift context from C callbacks.
static inline int sealpost_SSL_set_app_data(SSL *ssl, void *data) { return SSL_set_ex_data(ssl, 0, data); }
static inline void *sealpost_SSL_get_app_data(const SSL *ssl) { return SSL_get_ex_data(ssl, 0); }
/// The SSL a verify callback runs for.
static inline SSL *sealpost_X509_STORE_CTX_get_ssl(X509_STORE_CTX *store) {
  return (SSL *)X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx());
}

// Negotiated parameters.
static inline int sealpost_SSL_get_negotiated_group(SSL *ssl) { return (int)SSL_get_negotiated_group(ssl); }
static inline int sealpost_SSL_get_peer_signature_nid(SSL *ssl, int *nid) {
  return (int)SSL_get_peer_signature_nid(ssl, nid);
}
static inline X509 *sealpost_SSL_get_peer_certificate(const SSL *ssl) { return SSL_get1_peer_certificate(ssl); }

// Stacks.
static inline int sealpost_sk_X509_num(const STACK_OF(X509) *stack) { return sk_X509_num(stack); }
static inline X509 *sealpost_sk_X509_value(const STACK_OF(X509) *stack, int index) {
  return sk_X509_value(stack, index);
}

// subjectAltName: 0 = unsupported entry, 1 = DNS, 2 = IP; *data/*length point into the certificate.
static inline GENERAL_NAMES *sealpost_X509_get_subject_alt_names(const X509 *cert) {
  return (GENERAL_NAMES *)X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
}
static inline int sealpost_GENERAL_NAMES_num(const GENERAL_NAMES *names) { return sk_GENERAL_NAME_num(names); }
static inline int sealpost_GENERAL_NAMES_entry(const GENERAL_NAMES *names, int index, const unsigned char **data,
                                              int *length) {
  const GENERAL_NAME *name = sk_GENERAL_NAME_value(names, index);
  *data = NULL;
  *length = 0;
  if (name == NULL) return 0;
  switch (name->type) {
  case GEN_DNS:
    *data = ASN1_STRING_get0_data(name->d.dNSName);
    *length = ASN1_STRING_length(name->d.dNSName);
    return 1;
  case GEN_IPADD:
    *data = ASN1_STRING_get0_data(name->d.iPAddress);
    *length = ASN1_STRING_length(name->d.iPAddress);
    return 2;
  default:
    return 0;
  }
}
static inline void sealpost_GENERAL_NAMES_free(GENERAL_NAMES *names) { GENERAL_NAMES_free(names); }

// Memory BIOs and names.
static inline long sealpost_BIO_get_mem_data(BIO *bio, char **data) { return BIO_get_mem_data(bio, data); }
/// RFC 2253 one-line names, with non-ASCII left as UTF-8 (escaped later for display, never raw).
static inline unsigned long sealpost_XN_FLAG_RFC2253_UTF8(void) { return XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB; }
static inline void sealpost_OPENSSL_free(void *pointer) { OPENSSL_free(pointer); }

// Verification flags (plain integer macros, wrapped so their types are stable in Swift).
static inline unsigned long sealpost_X509_V_FLAG_PARTIAL_CHAIN(void) { return X509_V_FLAG_PARTIAL_CHAIN; }
static inline unsigned int sealpost_X509_CHECK_FLAGS_SAN_ONLY_NO_PARTIAL_WILDCARDS(void) {
  return X509_CHECK_FLAG_NEVER_CHECK_SUBJECT | X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS;
}

// Shared by the client (SMTPTransport) and the test kit's server, so neither repeats them.

// One SSL_write_ex attempt of bytes[*offset..<count], with the error queue cleared first so SSL_get_error speaks
// of this call only; on success (1) *offset moves past what was written.
static inline int sealpost_ssl_write_from(SSL *ssl, const void *bytes, size_t count, size_t *offset) {
  size_t written = 0;
  ERR_clear_error();
  int result = SSL_write_ex(ssl, (const unsigned char *)bytes + *offset, count - *offset, &written);
  if (result == 1) *offset += written;
  return result;
}

// Frees a connection's OpenSSL objects (either may be NULL), sending a close_notify first when `notify`.
static inline void sealpost_ssl_release(SSL *ssl, SSL_CTX *context, int notify) {
  if (ssl != NULL) {
    if (notify) {
      ERR_clear_error();
      (void)SSL_shutdown(ssl);
    }
    SSL_free(ssl);
  }
  if (context != NULL) SSL_CTX_free(context);
  ERR_clear_error();
}

// S/MIME (MessageProtection): stack macros, the rfc822Name entries of subjectAltName, and a private key read
// with a passphrase callback that never prompts (OpenSSL's default callback would ask on the terminal).

static inline STACK_OF(X509) *sealpost_sk_X509_new_null(void) { return sk_X509_new_null(); }
static inline int sealpost_sk_X509_push(STACK_OF(X509) *stack, X509 *cert) { return sk_X509_push(stack, cert); }
/// Frees the stack and drops one reference of each certificate in it.
static inline void sealpost_sk_X509_pop_free(STACK_OF(X509) *stack) { sk_X509_pop_free(stack, X509_free); }

/// 1 when entry `index` is an rfc822Name (*data/*length then point into the certificate), else 0.
static inline int sealpost_GENERAL_NAMES_email(const GENERAL_NAMES *names, int index, const unsigned char **data,
                                              int *length) {
  const GENERAL_NAME *name = sk_GENERAL_NAME_value(names, index);
  *data = NULL;
  *length = 0;
  if (name == NULL || name->type != GEN_EMAIL) return 0;
  *data = ASN1_STRING_get0_data(name->d.rfc822Name);
  *length = ASN1_STRING_length(name->d.rfc822Name);
  return 1;
}

/// The passphrase handed to the callback, and whether the key asked for one.
struct sealpost_passphrase {
  const char *bytes;
  size_t length;
  int asked;
};

static inline int sealpost_passphrase_callback(char *buffer, int size, int rwflag, void *context) {
  (void)rwflag;
  struct sealpost_passphrase *passphrase = (struct sealpost_passphrase *)context;
  passphrase->asked = 1;
  if (passphrase->bytes == NULL || size < 0 || passphrase->length > (size_t)size) return -1;
  memcpy(buffer, passphrase->bytes, passphrase->length);
  return (int)passphrase->length;
}

/// Reads a PEM private key (any PEM key form, encrypted or not) from `bio`. `bytes` may be NULL: an encrypted key
/// then fails with *asked = 1 and nobody is prompted.
static inline EVP_PKEY *sealpost_PEM_read_private_key(BIO *bio, const char *bytes, size_t length, int *asked) {
  struct sealpost_passphrase passphrase = {bytes, length, 0};
  EVP_PKEY *key = PEM_read_bio_PrivateKey(bio, NULL, sealpost_passphrase_callback, &passphrase);
  *asked = passphrase.asked;
  return key;
}

/// The key usage bits, or -1 when the certificate has no keyUsage extension.
static inline long sealpost_X509_key_usage(X509 *cert) {
  if ((X509_get_extension_flags(cert) & EXFLAG_KUSAGE) == 0) return -1;
  return (long)X509_get_key_usage(cert);
}
static inline long sealpost_KU_KEY_ENCIPHERMENT(void) { return KU_KEY_ENCIPHERMENT; }
static inline long sealpost_KU_KEY_AGREEMENT(void) { return KU_KEY_AGREEMENT; }

#endif
