#pragma once

// The web listener's HTML pages for people: the landing page (GET /) and a topic's drill-down
// (GET /topics/{topic}). Server-rendered, self-contained (inline style, no script, no external
// asset), every name and id HTML-escaped. Pure: the server gathers what they show.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "timing_sidecar/engine.hpp"

namespace prometheus {
struct MetricFamily;
}

namespace timing_sidecar {

// A source beside the webhook, as its self metrics describe it.
struct SourceState {
  std::string source;  // feed, topics_file, dashboard, timer_metrics
  std::optional<bool> up;
  std::optional<int64_t> revision;                  // the feed's
  std::optional<double> last_success_unix_seconds;  // the files' and the dashboard's
};

// Read from the sidecar's own families: timing_sidecar_feed_up, timing_sidecar_feed_revision,
// timing_sidecar_source_up and timing_sidecar_source_last_success_timestamp_seconds.
std::vector<SourceState> source_states(const std::vector<prometheus::MetricFamily>& families);

struct LandingPage {
  std::string version;
  int64_t now_ms = 0;
  std::vector<SourceState> sources;
  std::vector<TopicSummary> topics;  // every topic, in any order
  size_t offset = 0;                 // the first row shown, in the page's order
};

// Rows shown per landing page: at 100,000 topics the page stays near 50 KB.
inline constexpr size_t kLandingPageRows = 200;

// Topics with the most overdue messages first, then the most due, then by name; one page of
// kLandingPageRows from `offset`, with the count of those not shown and links to the others.
std::string render_landing_page(LandingPage page);

// The drill-down of a live topic: its counts, its overdue messages oldest first, then the next
// deliveries; `limit` as asked, to say when a list was cut.
std::string render_topic_page(const TopicDetail& detail, size_t limit);

// A page for a status other than 200, with the JSON error's message.
std::string render_error_page(int status, std::string_view message);

std::string html_escape(std::string_view text);
// The drill-down page of a topic: "/topics/" and its name, with % and | percent-encoded
// (RocketMQ's other characters need nothing in a path).
std::string topic_page_path(std::string_view topic);

}  // namespace timing_sidecar
