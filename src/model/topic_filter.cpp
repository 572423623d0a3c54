#include "timing_sidecar/topic_filter.hpp"

#include <re2/re2.h>

namespace timing_sidecar {

namespace {

// Compiled as "^(?:expression)$", as Prometheus compiles relabelling regexes, so that an
// alternation "a|b" is anchored as a whole.
std::variant<std::unique_ptr<re2::RE2>, std::string> compile(const std::string& expression,
                                                             const char* flag) {
  if (expression.empty()) return std::unique_ptr<re2::RE2>();
  re2::RE2::Options options;
  options.set_log_errors(false);
  auto compiled = std::make_unique<re2::RE2>("^(?:" + expression + ")$", options);
  if (!compiled->ok()) {
    return std::string(flag) + " \"" + expression +
           "\" is not a valid RE2 expression: " + compiled->error();
  }
  return compiled;
}

}  // namespace

std::variant<std::shared_ptr<const TopicFilter>, std::string> TopicFilter::make(
    const std::string& include, const std::string& exclude) {
  auto included = compile(include, "--topics.include");
  if (auto* error = std::get_if<std::string>(&included)) return *error;
  auto excluded = compile(exclude, "--topics.exclude");
  if (auto* error = std::get_if<std::string>(&excluded)) return *error;
  std::shared_ptr<TopicFilter> filter(new TopicFilter());
  filter->include_ = std::move(std::get<std::unique_ptr<re2::RE2>>(included));
  filter->exclude_ = std::move(std::get<std::unique_ptr<re2::RE2>>(excluded));
  return std::shared_ptr<const TopicFilter>(std::move(filter));
}

TopicFilter::~TopicFilter() = default;

bool TopicFilter::admits(std::string_view topic) const {
  const re2::StringPiece name(topic.data(), topic.size());
  if (include_ && !re2::RE2::FullMatch(name, *include_)) return false;
  return !(exclude_ && re2::RE2::FullMatch(name, *exclude_));
}

}  // namespace timing_sidecar
