#pragma once

// --topics.include / --topics.exclude: which topic names the sidecar tracks. Both are RE2
// expressions anchored at both ends, as Prometheus anchors relabelling regexes: "tmp-.*" matches
// "tmp-scratch", not "my-tmp-scratch". A topic is tracked when it matches include and not
// exclude. Pure: no I/O, and thread-safe to share once built.

#include <memory>
#include <string>
#include <string_view>
#include <variant>

namespace re2 {
class RE2;
}

namespace timing_sidecar {

class TopicFilter {
 public:
  // Either filter may be empty: no include keeps every topic, no exclude drops none. Returns the
  // error, naming the flag, for an expression RE2 refuses.
  static std::variant<std::shared_ptr<const TopicFilter>, std::string> make(
      const std::string& include, const std::string& exclude);
  ~TopicFilter();

  bool admits(std::string_view topic) const;

 private:
  TopicFilter() = default;

  std::unique_ptr<re2::RE2> include_;
  std::unique_ptr<re2::RE2> exclude_;
};

}  // namespace timing_sidecar
