#include "timing_sidecar/tls_identity.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cstdio>
#include <stdexcept>

namespace timing_sidecar {

namespace {

// OpenSSL's reason for the last failure on this thread, and the queue emptied.
std::string openssl_reason() {
  const unsigned long code = ERR_peek_last_error();
  ERR_clear_error();
  if (code == 0) return "no PEM data";
  char text[256];
  ERR_error_string_n(code, text, sizeof text);
  return text;
}

struct FileCloser {
  void operator()(std::FILE* file) const { std::fclose(file); }
};
using File = std::unique_ptr<std::FILE, FileCloser>;

File open_pem(const std::string& path, const char* what) {
  File file(std::fopen(path.c_str(), "rb"));
  if (!file) throw std::runtime_error(std::string("cannot read ") + what + " " + path);
  return file;
}

std::string serial_hex(X509* certificate) {
  BIGNUM* number = ASN1_INTEGER_to_BN(X509_get0_serialNumber(certificate), nullptr);
  char* hex = number != nullptr ? BN_bn2hex(number) : nullptr;
  std::string serial = hex != nullptr ? hex : "";
  OPENSSL_free(hex);
  BN_free(number);
  return serial;
}

using CertificateStack = STACK_OF(X509);

}  // namespace

struct TlsIdentity::Holder {
  X509* certificate = nullptr;
  EVP_PKEY* key = nullptr;
  CertificateStack* chain = nullptr;

  ~Holder() {
    X509_free(certificate);
    EVP_PKEY_free(key);
    sk_X509_pop_free(chain, X509_free);
  }
};

std::shared_ptr<const TlsIdentity> TlsIdentity::load(const std::string& cert_file,
                                                     const std::string& key_file) {
  ERR_clear_error();
  std::shared_ptr<TlsIdentity> identity(new TlsIdentity());
  identity->holder_ = std::make_unique<Holder>();
  Holder& holder = *identity->holder_;
  {
    File file = open_pem(cert_file, "certificate");
    holder.certificate = PEM_read_X509(file.get(), nullptr, nullptr, nullptr);
    if (holder.certificate == nullptr) {
      throw std::runtime_error("certificate " + cert_file +
                               " is not a PEM certificate: " + openssl_reason());
    }
    // The rest of the file is the chain to a root, as SSL_CTX_use_certificate_chain_file reads.
    holder.chain = sk_X509_new_null();
    while (X509* intermediate = PEM_read_X509(file.get(), nullptr, nullptr, nullptr)) {
      sk_X509_push(holder.chain, intermediate);
    }
    ERR_clear_error();  // the end of the file
  }
  {
    File file = open_pem(key_file, "key");
    holder.key = PEM_read_PrivateKey(file.get(), nullptr, nullptr, nullptr);
    if (holder.key == nullptr) {
      throw std::runtime_error("key " + key_file +
                               " is not an unencrypted PEM private key: " + openssl_reason());
    }
  }
  if (X509_check_private_key(holder.certificate, holder.key) != 1) {
    ERR_clear_error();
    throw std::runtime_error("key " + key_file + " does not match certificate " + cert_file);
  }
  identity->serial_ = serial_hex(holder.certificate);
  return identity;
}

TlsIdentity::~TlsIdentity() = default;

bool TlsIdentity::present(SSL* ssl) const {
  return SSL_use_cert_and_key(ssl, holder_->certificate, holder_->key, holder_->chain, 1) == 1;
}

void TlsIdentitySlot::set(std::shared_ptr<const TlsIdentity> identity) {
  std::atomic_store(&identity_, std::move(identity));
}

std::shared_ptr<const TlsIdentity> TlsIdentitySlot::get() const {
  return std::atomic_load(&identity_);
}

void TlsIdentitySlot::serve_from(SSL_CTX& context) {
  SSL_CTX_set_min_proto_version(&context, TLS1_2_VERSION);
  SSL_CTX_set_options(&context, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  // Called by OpenSSL at each handshake, before it picks the certificate to send.
  SSL_CTX_set_cert_cb(
      &context,
      [](SSL* ssl, void* slot) {
        const std::shared_ptr<const TlsIdentity> identity =
            static_cast<const TlsIdentitySlot*>(slot)->get();
        return identity != nullptr && identity->present(ssl) ? 1 : 0;
      },
      this);
}

}  // namespace timing_sidecar
