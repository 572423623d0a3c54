#pragma once

// The server's TLS certificate (with its chain) and private key, loaded and checked whole before
// any handshake may use them, and the slot handshakes take them from. A reload builds a new
// identity off the hot path and swaps it into the slot; a handshake already under way keeps the
// identity it started with (OpenSSL holds references to it).

#include <memory>
#include <string>

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;

namespace timing_sidecar {

class TlsIdentity {
 public:
  // Throws std::runtime_error naming the file and what is wrong: unreadable, not PEM, or a key
  // that does not match the certificate.
  static std::shared_ptr<const TlsIdentity> load(const std::string& cert_file,
                                                 const std::string& key_file);
  ~TlsIdentity();
  TlsIdentity(const TlsIdentity&) = delete;
  TlsIdentity& operator=(const TlsIdentity&) = delete;

  // Makes `ssl` present this identity; false when OpenSSL refuses.
  bool present(SSL* ssl) const;
  // The leaf certificate's serial number in hex, for the log.
  const std::string& serial() const { return serial_; }

 private:
  TlsIdentity() = default;

  struct Holder;
  std::unique_ptr<Holder> holder_;
  std::string serial_;
};

class TlsIdentitySlot {
 public:
  void set(std::shared_ptr<const TlsIdentity> identity);
  std::shared_ptr<const TlsIdentity> get() const;

  // Sets up a listener's context: TLS 1.2 at least, and the certificate of each handshake taken
  // from this slot at that handshake. The slot must outlive the context.
  void serve_from(SSL_CTX& context);

 private:
  std::shared_ptr<const TlsIdentity> identity_;  // accessed with std::atomic_load/atomic_store
};

}  // namespace timing_sidecar
