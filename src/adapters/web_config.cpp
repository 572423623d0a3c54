#include "timing_sidecar/web_config.hpp"

#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <stdexcept>

namespace timing_sidecar {

namespace {

constexpr size_t kMaxRememberedCredentials = 1024;

std::runtime_error config_error(const std::string& path, const std::string& message) {
  return std::runtime_error("--web.config.file " + path + ": " + message);
}

// Relative paths are read from the config file's folder, as the exporter-toolkit does.
std::string resolve(const std::string& config_path, const std::string& file) {
  const std::filesystem::path path(file);
  if (path.is_absolute()) return file;
  return (std::filesystem::path(config_path).parent_path() / path).string();
}

bool is_bcrypt(const std::string& hash) {
  return hash.size() == 60 &&
         (hash.rfind("$2a$", 0) == 0 || hash.rfind("$2b$", 0) == 0 || hash.rfind("$2y$", 0) == 0);
}

std::string sha256(std::string_view text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(text.data(), text.size(), digest, &length, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<char*>(digest), length);
}

std::optional<std::string> decode_base64(std::string_view text) {
  std::string decoded(text.size() / 4 * 3 + 3, '\0');
  const int length = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(decoded.data()),
                                     reinterpret_cast<const unsigned char*>(text.data()),
                                     static_cast<int>(text.size()));
  if (length < 0 || text.size() % 4 != 0) return std::nullopt;
  // EVP_DecodeBlock counts the padding as output bytes.
  size_t padding = 0;
  while (padding < 2 && padding < text.size() && text[text.size() - 1 - padding] == '=') ++padding;
  decoded.resize(static_cast<size_t>(length) - padding);
  return decoded;
}

}  // namespace

WebConfig load_web_config(const std::string& path) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::Exception& error) {
    throw config_error(path, error.what());
  }
  WebConfig config;
  if (!root.IsMap()) throw config_error(path, "expected a mapping at the top level");
  for (const auto& section : root) {
    const std::string key = section.first.as<std::string>();
    if (key == "tls_server_config") {
      for (const auto& setting : section.second) {
        const std::string name = setting.first.as<std::string>();
        if (name == "cert_file") {
          config.cert_file = resolve(path, setting.second.as<std::string>());
        } else if (name == "key_file") {
          config.key_file = resolve(path, setting.second.as<std::string>());
        } else {
          throw config_error(path, "tls_server_config." + name +
                                       " is not supported (supported: cert_file, key_file)");
        }
      }
      if (config.cert_file.empty() || config.key_file.empty()) {
        throw config_error(path, "tls_server_config needs both cert_file and key_file");
      }
    } else if (key == "basic_auth_users") {
      for (const auto& user : section.second) {
        const std::string name = user.first.as<std::string>();
        const std::string hash = user.second.as<std::string>();
        if (!is_bcrypt(hash)) {
          throw config_error(path, "basic_auth_users." + name + " is not a bcrypt hash ($2y$...)");
        }
        config.basic_auth_users[name] = hash;
      }
    } else {
      throw config_error(path, key +
                                   " is not supported (supported: tls_server_config, "
                                   "basic_auth_users)");
    }
  }
  return config;
}

BasicAuth::BasicAuth(std::map<std::string, std::string> users) : users_(std::move(users)) {}

bool BasicAuth::allows(std::string_view header) {
  constexpr std::string_view kScheme = "Basic ";
  if (header.substr(0, kScheme.size()) != kScheme) return false;
  const std::optional<std::string> credentials = decode_base64(header.substr(kScheme.size()));
  if (!credentials) return false;
  const size_t colon = credentials->find(':');
  if (colon == std::string::npos) return false;
  const auto user = users_.find(credentials->substr(0, colon));
  if (user == users_.end()) return false;

  const std::string fingerprint = sha256(*credentials);
  {
    std::lock_guard lock(mutex_);
    if (verified_.count(fingerprint) != 0) return true;
  }
  crypt_data scratch{};
  const char* hashed = crypt_r(credentials->c_str() + colon + 1, user->second.c_str(), &scratch);
  if (hashed == nullptr || user->second.size() != std::char_traits<char>::length(hashed) ||
      CRYPTO_memcmp(hashed, user->second.data(), user->second.size()) != 0) {
    return false;
  }
  std::lock_guard lock(mutex_);
  if (verified_.size() >= kMaxRememberedCredentials) verified_.clear();
  verified_.insert(fingerprint);
  return true;
}

}  // namespace timing_sidecar
