#include "timing_sidecar/live_security.hpp"

#include <crypt.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

using namespace timing_sidecar;

namespace {

// One folder per process: CTest runs the test cases in parallel, each a process of its own.
struct Files {
  Files()
      : dir(std::filesystem::temp_directory_path() /
            ("timing_sidecar_live_security_" + std::to_string(getpid()))) {
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
  }
  ~Files() { std::filesystem::remove_all(dir); }

  // Written beside and renamed into place, as a deployment tool does: a new inode every time.
  std::string write(const std::string& name, const std::string& content) const {
    const auto path = dir / name;
    std::ofstream(dir / (name + ".tmp")) << content;
    std::filesystem::rename(dir / (name + ".tmp"), path);
    return path.string();
  }
  std::filesystem::path dir;
};

std::string bcrypt(const char* password) {
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  REQUIRE(crypt_gensalt_rn("$2b$", 4, nullptr, 0, salt, sizeof salt) != nullptr);
  crypt_data scratch{};
  return crypt_r(password, salt, &scratch);
}

std::string basic(const std::string& credentials) {
  std::string encoded(4 * ((credentials.size() + 2) / 3) + 1, '\0');
  const int length = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(encoded.data()),
                                     reinterpret_cast<const unsigned char*>(credentials.data()),
                                     static_cast<int>(credentials.size()));
  encoded.resize(static_cast<size_t>(length));
  return "Basic " + encoded;
}

std::string users(const std::string& name, const char* password) {
  return "basic_auth_users:\n  " + name + ": '" + bcrypt(password) + "'\n";
}

}  // namespace

TEST_CASE("live security: basic-auth users added and removed take effect at the next look",
          "[live_security]") {
  Files files;
  prometheus::Registry registry;
  ManualClock clock(1'000'000);
  ReloadStatus status(registry, {}, clock);
  const std::string web = files.write("web.yml", users("alice", "a-pw"));
  LiveSecurity security(web, "", status);
  CHECK_FALSE(security.tls());
  CHECK(security.basic_auth()->allows(basic("alice:a-pw")));

  security.reload(false);  // nothing changed: the same users, their cache kept
  const std::shared_ptr<BasicAuth> before = security.basic_auth();
  security.reload(false);
  CHECK(security.basic_auth() == before);

  files.write("web.yml", users("bob", "b-pw"));
  clock.advance(5'000);
  security.reload(false);
  CHECK(security.basic_auth()->allows(basic("bob:b-pw")));
  CHECK_FALSE(security.basic_auth()->allows(basic("alice:a-pw")));
  CHECK(status.successful());
}

TEST_CASE("live security: a broken web config keeps the last good one until fixed",
          "[live_security]") {
  Files files;
  prometheus::Registry registry;
  ManualClock clock(1'000'000);
  ReloadStatus status(registry, {}, clock);
  const std::string web = files.write("web.yml", users("alice", "a-pw"));
  LiveSecurity security(web, "", status);

  files.write("web.yml", "basic_auth_users:\n  alice: plaintext\n");
  security.reload(false);
  CHECK_FALSE(status.successful());
  CHECK(security.basic_auth()->allows(basic("alice:a-pw")));

  files.write("web.yml", "tls_server_config:\n  cert_file: c.pem\n  key_file: k.pem\n");
  security.reload(false);  // turning TLS on needs a restart
  CHECK_FALSE(status.successful());
  CHECK_FALSE(security.tls());

  files.write("web.yml", users("alice", "new-pw"));
  security.reload(false);
  CHECK(status.successful());
  CHECK(security.basic_auth()->allows(basic("alice:new-pw")));
}

TEST_CASE("live security: webhook secrets rotate, an empty file keeps the last good ones",
          "[live_security]") {
  Files files;
  prometheus::Registry registry;
  ManualClock clock(1'000'000);
  ReloadStatus status(registry, {}, clock);
  const std::string secret = files.write("secret", "old\n");
  LiveSecurity security("", secret, status);
  CHECK(*security.webhook_secrets() == std::vector<std::string>{"old"});

  files.write("secret", "new\nold\n");
  security.reload(false);
  CHECK(*security.webhook_secrets() == std::vector<std::string>{"new", "old"});

  files.write("secret", "\n");
  security.reload(false);
  CHECK_FALSE(status.successful());
  CHECK(*security.webhook_secrets() == std::vector<std::string>{"new", "old"});

  files.write("secret", "new\n");
  security.reload(false);
  CHECK(status.successful());
  CHECK(*security.webhook_secrets() == std::vector<std::string>{"new"});
}

TEST_CASE("live security: broken files refuse the start", "[live_security]") {
  Files files;
  prometheus::Registry registry;
  ManualClock clock(0);
  ReloadStatus status(registry, {}, clock);
  CHECK_THROWS_WITH(LiveSecurity("", files.write("secret", ""), status),
                    Catch::Contains("is empty"));
  const std::string web =
      files.write("web.yml", "tls_server_config:\n  cert_file: none.crt\n  key_file: none.key\n");
  CHECK_THROWS_WITH(LiveSecurity(web, "", status), Catch::Contains("cannot read certificate"));
}
