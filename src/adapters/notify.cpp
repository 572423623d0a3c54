#include "timing_sidecar/notify.hpp"

#include <httplib.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <iostream>
#include <iterator>

#include "timing_sidecar/config.hpp"
#include "timing_sidecar/signature.hpp"

namespace timing_sidecar {

int run_notify(int argc, const char* const* argv) {
  CLI::App app{
      "Sends events to a timing-sidecar webhook, signed with the shared secret.\n"
      "Example: timing-sidecar notify --secret-file /etc/timing-sidecar/secret "
      "--data '{\"type\":\"topic.deleted\",\"topic\":\"orders\"}'",
      "timing-sidecar notify"};
  std::string url = "http://127.0.0.1:9878";
  std::string secret_file;
  std::string data;
  std::string ca_file;
  int64_t timeout_ms = 10'000;
  app.add_option("--url", url, "The sidecar's webhook base URL")->capture_default_str();
  app.add_option("--secret-file", secret_file,
                 "File with the secret shared with --webhook.secret-file, signed with its first "
                 "line; without it the request is sent unsigned (accepted on loopback only)")
      ->check(CLI::ExistingFile);
  app.add_option("--data", data, "The events JSON; read from standard input when absent");
  app.add_option("--cacert", ca_file, "CA certificate to verify an https sidecar with")
      ->check(CLI::ExistingFile);
  app.add_option_function<std::string>(
         "--timeout",
         [&timeout_ms](const std::string& value) {
           timeout_ms = parse_duration_ms(value).value_or(timeout_ms);
         },
         "How long to wait for the reply")
      ->default_str("10s");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    return app.exit(error);
  }
  if (data.empty()) data.assign(std::istreambuf_iterator<char>(std::cin), {});

  httplib::Client client(url);
  if (!client.is_valid()) {
    std::cerr << "timing-sidecar notify: --url " << url << " is not a valid http(s) URL\n";
    return 2;
  }
  if (!ca_file.empty()) client.set_ca_cert_path(ca_file.c_str());
  client.set_connection_timeout(std::chrono::milliseconds(timeout_ms));
  client.set_read_timeout(std::chrono::milliseconds(timeout_ms));
  httplib::Headers headers;
  if (!secret_file.empty()) {
    try {
      const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count();
      headers.emplace(std::string(kSignatureHeader),
                      sign_request(read_secret_file(secret_file).front(), now, data));
    } catch (const std::exception& error) {
      std::cerr << "timing-sidecar notify: " << error.what() << "\n";
      return 2;
    }
  }
  const auto reply = client.Post("/v1/events", headers, data, "application/json");
  if (!reply) {
    std::cerr << "timing-sidecar notify: " << url << ": " << httplib::to_string(reply.error())
              << "\n";
    return 1;
  }
  std::cout << reply->body << "\n";
  return reply->status == 200 ? 0 : 1;
}

}  // namespace timing_sidecar
