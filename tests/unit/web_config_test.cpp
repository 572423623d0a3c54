#include "timing_sidecar/web_config.hpp"

#include <crypt.h>
#include <openssl/evp.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

using namespace timing_sidecar;

namespace {

std::string write_file(const std::string& name, const std::string& content) {
  const auto path = std::filesystem::temp_directory_path() / ("timing_sidecar_" + name);
  std::ofstream(path) << content;
  return path.string();
}

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

}  // namespace

TEST_CASE("web config: the supported subset loads, paths relative to the file", "[web_config]") {
  const std::string hash = bcrypt("pw");
  const std::string path = write_file("web.yml",
                                      "tls_server_config:\n  cert_file: server.crt\n"
                                      "  key_file: /abs/server.key\n"
                                      "basic_auth_users:\n  prometheus: " +
                                          hash + "\n");
  const WebConfig config = load_web_config(path);
  CHECK(config.tls());
  CHECK(config.cert_file == (std::filesystem::path(path).parent_path() / "server.crt").string());
  CHECK(config.key_file == "/abs/server.key");
  CHECK(config.basic_auth_users.at("prometheus") == hash);
}

TEST_CASE("web config: what is not supported is refused by name", "[web_config]") {
  CHECK_THROWS_WITH(load_web_config(write_file("a.yml", "http_server_config:\n  http2: false\n")),
                    Catch::Contains("http_server_config is not supported"));
  CHECK_THROWS_WITH(load_web_config(write_file("b.yml",
                                               "tls_server_config:\n  cert_file: c\n  key_file: k\n"
                                               "  client_ca_file: ca\n")),
                    Catch::Contains("tls_server_config.client_ca_file is not supported"));
  CHECK_THROWS_WITH(load_web_config(write_file("c.yml", "basic_auth_users:\n  bob: plain\n")),
                    Catch::Contains("basic_auth_users.bob is not a bcrypt hash"));
  CHECK_THROWS_WITH(load_web_config(write_file("d.yml", "tls_server_config:\n  cert_file: c\n")),
                    Catch::Contains("needs both cert_file and key_file"));
  CHECK_THROWS_WITH(load_web_config(write_file("e.yml", "a: [\n")),
                    Catch::Contains("--web.config.file"));
}

TEST_CASE("web config: basic auth accepts the right password only", "[web_config]") {
  BasicAuth auth({{"prometheus", bcrypt("right")}});
  CHECK(auth.enabled());
  CHECK(auth.allows(basic("prometheus:right")));
  CHECK(auth.allows(basic("prometheus:right")));  // remembered
  CHECK_FALSE(auth.allows(basic("prometheus:wrong")));
  CHECK_FALSE(auth.allows(basic("nobody:right")));
  CHECK_FALSE(auth.allows("Bearer abc"));
  CHECK_FALSE(auth.allows("Basic !!!"));
  CHECK_FALSE(BasicAuth({}).enabled());
}
