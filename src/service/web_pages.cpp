#include "timing_sidecar/web_pages.hpp"

#include <prometheus/metric_family.h>
#include <time.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

namespace timing_sidecar {

namespace {

constexpr std::string_view kStyle =
    "body{font-family:sans-serif;margin:1.5em;color:#222}"
    "table{border-collapse:collapse;margin:.5em 0}"
    "th,td{border:1px solid #ccc;padding:.2em .6em;text-align:right}"
    "th:first-child,td:first-child{text-align:left}"
    "tr.overdue td{background:#fdd}.note{color:#666}";

std::string head(std::string_view title) {
  std::string out = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>";
  out += html_escape(title);
  out += "</title><style>";
  out += kStyle;
  out += "</style></head><body>\n";
  return out;
}

constexpr std::string_view kFoot = "</body></html>\n";

std::string utc_time(int64_t ms) {
  const time_t seconds = static_cast<time_t>(ms / 1000);
  tm parts{};
  gmtime_r(&seconds, &parts);
  char text[32];
  strftime(text, sizeof(text), "%Y-%m-%d %H:%M:%S", &parts);
  char millis[8];
  snprintf(millis, sizeof(millis), ".%03d", static_cast<int>(ms % 1000 + 1000) % 1000);
  return std::string(text) + millis + " UTC";
}

std::string cell(std::string_view text) {
  return "<td>" + std::string(text) + "</td>";
}

template <typename Number>
std::string number_cell(Number value) {
  return cell(std::to_string(value));
}

void render_sources(const LandingPage& page, std::string& out) {
  out += "<h2>Sources</h2>\n";
  if (page.sources.empty()) {
    out += "<p class=\"note\">Only the webhook: no feed, file or dashboard is configured.</p>\n";
    return;
  }
  out +=
      "<table id=\"sources\"><tr><th>Source</th><th>State</th><th>Feed revision</th>"
      "<th>Last success</th></tr>\n";
  for (const SourceState& source : page.sources) {
    out += "<tr>" + cell(html_escape(source.source));
    out += cell(!source.up ? "unknown" : *source.up ? "up" : "down");
    out += cell(source.revision ? std::to_string(*source.revision) : "");
    std::string last_success;
    if (source.last_success_unix_seconds && *source.last_success_unix_seconds > 0) {
      const auto ms = static_cast<int64_t>(std::llround(*source.last_success_unix_seconds * 1000));
      last_success = utc_time(ms) + " (" + std::to_string((page.now_ms - ms) / 1000) + " s ago)";
    }
    out += cell(last_success) + "</tr>\n";
  }
  out += "</table>\n";
}

std::string page_link(size_t offset, std::string_view text) {
  return "<a href=\"/?offset=" + std::to_string(offset) + "\">" + std::string(text) + "</a>";
}

void render_messages(const std::vector<ScheduledMessage>& messages, const TopicDetail& detail,
                     bool overdue, std::string_view id, std::string& out) {
  out += "<table id=\"" + std::string(id) + "\"><tr><th>Message id</th><th>Delivery time</th>";
  out += overdue ? "<th>Overdue by (ms)</th></tr>\n" : "<th>In (ms)</th></tr>\n";
  for (const ScheduledMessage& message : messages) {
    out += overdue ? "<tr class=\"overdue\">" : "<tr>";
    out += cell(html_escape(message.id)) + cell(utc_time(message.deliver_at_ms));
    out += number_cell(overdue ? detail.now_ms - message.deliver_at_ms
                               : message.deliver_at_ms - detail.now_ms);
    out += "</tr>\n";
  }
  out += "</table>\n";
}

}  // namespace

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string topic_page_path(std::string_view topic) {
  std::string path = "/topics/";
  for (const char c : topic) {
    if (c == '%') {
      path += "%25";
    } else if (c == '|') {
      path += "%7C";
    } else {
      path += c;
    }
  }
  return path;
}

std::vector<SourceState> source_states(const std::vector<prometheus::MetricFamily>& families) {
  std::map<std::string, SourceState> sources;
  const auto label = [](const prometheus::ClientMetric& metric, std::string_view name) {
    for (const prometheus::ClientMetric::Label& pair : metric.label) {
      if (pair.name == name) return pair.value;
    }
    return std::string();
  };
  for (const prometheus::MetricFamily& family : families) {
    for (const prometheus::ClientMetric& metric : family.metric) {
      const double value = metric.gauge.value;
      if (family.name == "timing_sidecar_feed_up") {
        sources["feed"].up = value == 1;
      } else if (family.name == "timing_sidecar_feed_revision") {
        sources["feed"].revision = static_cast<int64_t>(value);
      } else if (family.name == "timing_sidecar_source_up") {
        sources[label(metric, "source")].up = value == 1;
      } else if (family.name == "timing_sidecar_source_last_success_timestamp_seconds") {
        sources[label(metric, "source")].last_success_unix_seconds = value;
      }
    }
  }
  std::vector<SourceState> states;
  for (auto& [name, state] : sources) {
    state.source = name;
    states.push_back(std::move(state));
  }
  return states;
}

std::string render_landing_page(LandingPage page) {
  std::vector<TopicSummary>& topics = page.topics;
  std::sort(topics.begin(), topics.end(), [](const TopicSummary& a, const TopicSummary& b) {
    if (a.overdue != b.overdue) return a.overdue > b.overdue;
    if (a.due != b.due) return a.due > b.due;
    return a.name < b.name;
  });
  const size_t first = std::min(page.offset, topics.size());
  const size_t last = std::min(first + kLandingPageRows, topics.size());

  std::string out = head("timing-sidecar");
  out += "<h1>timing-sidecar <span id=\"version\">" + html_escape(page.version) + "</span></h1>\n";
  out +=
      "<p>Exact per-topic metrics of RocketMQ timing messages.</p>\n<ul id=\"links\">"
      "<li><a href=\"/metrics\">/metrics</a></li><li><a href=\"/healthz\">/healthz</a></li>"
      "<li><a href=\"/readyz\">/readyz</a></li><li><a href=\"/v1/topics\">/v1/topics</a></li>"
      "</ul>\n";
  render_sources(page, out);

  out += "<h2>Topics</h2>\n<p id=\"shown\">";
  if (topics.empty()) {
    out += "No topic is tracked.";
  } else {
    out += "Topics " + std::to_string(first + (first < last)) + "&ndash;" + std::to_string(last) +
           " of " + std::to_string(topics.size()) + ", most overdue first; " +
           std::to_string(topics.size() - (last - first)) + " not shown.";
  }
  if (first > 0) out += " " + page_link(first - std::min(first, kLandingPageRows), "previous");
  if (last < topics.size()) out += " " + page_link(last, "next");
  out +=
      "</p>\n<table id=\"topics\"><tr><th>Topic</th><th>Pending</th><th>Due</th>"
      "<th>Overdue</th><th>Enqueued</th><th>Dequeued</th></tr>\n";
  for (size_t row = first; row < last; ++row) {
    const TopicSummary& topic = topics[row];
    out += topic.overdue > 0 ? "<tr class=\"overdue\">" : "<tr>";
    out += cell("<a href=\"" + html_escape(topic_page_path(topic.name)) + "\">" +
                html_escape(topic.name) + "</a>");
    out += number_cell(topic.pending) + number_cell(topic.due) + number_cell(topic.overdue) +
           number_cell(topic.enqueued) + number_cell(topic.dequeued) + "</tr>\n";
  }
  out += "</table>\n";
  out += kFoot;
  return out;
}

std::string render_topic_page(const TopicDetail& detail, size_t limit) {
  const TopicSummary& topic = detail.summary;
  std::string out = head("timing-sidecar: " + topic.name);
  out += "<p><a href=\"/\">timing-sidecar</a></p>\n<h1 id=\"topic\">" + html_escape(topic.name) +
         "</h1>\n";
  out +=
      "<table id=\"counts\"><tr><th>Pending</th><th>Due</th><th>Overdue</th><th>Enqueued</th>"
      "<th>Dequeued</th></tr>\n<tr>" +
      number_cell(topic.pending) + number_cell(topic.due) + number_cell(topic.overdue) +
      number_cell(topic.enqueued) + number_cell(topic.dequeued) + "</tr></table>\n";
  const auto cut_note = [&](size_t shown) {
    return shown == limit ? " <span class=\"note\">(the first " + std::to_string(limit) +
                                "; ?limit= shows up to 10000)</span>"
                          : std::string();
  };
  out +=
      "<h2>Overdue messages, oldest first" + cut_note(detail.messages.overdue.size()) + "</h2>\n";
  render_messages(detail.messages.overdue, detail, true, "overdue", out);
  out += "<h2>Next deliveries" + cut_note(detail.messages.upcoming.size()) + "</h2>\n";
  render_messages(detail.messages.upcoming, detail, false, "next", out);
  out += "<p class=\"note\">Also as JSON: <a href=\"/v1" +
         html_escape(topic_page_path(topic.name)) + "\">/v1" +
         html_escape(topic_page_path(topic.name)) + "</a></p>\n";
  out += kFoot;
  return out;
}

std::string render_error_page(int status, std::string_view message) {
  std::string out = head("timing-sidecar: " + std::to_string(status));
  out += "<p><a href=\"/\">timing-sidecar</a></p>\n<h1>" + std::to_string(status) +
         "</h1>\n<p id=\"error\">" + html_escape(message) + "</p>\n";
  out += kFoot;
  return out;
}

}  // namespace timing_sidecar
