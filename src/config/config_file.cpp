#include "timing_sidecar/config_file.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <iterator>
#include <sstream>

namespace timing_sidecar {

namespace {

// Options that steer the parse itself rather than configure the sidecar.
bool is_file_key(const std::string& name) {
  return name != "help" && name != "version" && name != "config";
}

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

class TomlConfig : public CLI::Config {
 public:
  explicit TomlConfig(const CLI::App& app) : app_(app) {}

  std::string to_config(const CLI::App* app, bool default_also, bool write_description,
                        std::string prefix) const override {
    return CLI::ConfigTOML().to_config(app, default_also, write_description, std::move(prefix));
  }

  std::vector<CLI::ConfigItem> from_config(std::istream& input) const override {
    const std::string text{std::istreambuf_iterator<char>(input), std::istreambuf_iterator<char>()};
    const std::string file = file_name();
    toml::table document;
    try {
      document = toml::parse(text, file);
    } catch (const toml::parse_error& error) {
      throw CLI::ConfigError(where(file, error.source()) + ": " + std::string(error.description()));
    }
    std::vector<CLI::ConfigItem> items;
    flatten(document, "", file, known_keys(), items);
    return items;
  }

 private:
  std::string file_name() const {
    const CLI::Option* option = app_.get_config_ptr();
    return option != nullptr && !option->results().empty() ? option->results().front()
                                                           : std::string("config");
  }

  std::vector<std::string> known_keys() const {
    std::vector<std::string> keys;
    for (const CLI::Option* option : app_.get_options()) {
      for (const std::string& name : option->get_lnames()) {
        if (is_file_key(name)) keys.push_back(name);
      }
    }
    return keys;
  }

  static std::string where(const std::string& file, const toml::source_region& region) {
    return file + ":" + std::to_string(region.begin.line) + ":" +
           std::to_string(region.begin.column);
  }

  static void flatten(const toml::table& table, const std::string& prefix, const std::string& file,
                      const std::vector<std::string>& known, std::vector<CLI::ConfigItem>& items) {
    for (const auto& [key, node] : table) {
      const std::string name =
          prefix.empty() ? std::string(key.str()) : prefix + "." + std::string(key.str());
      if (const toml::table* nested = node.as_table()) {
        flatten(*nested, name, file, known, items);
        continue;
      }
      if (std::find(known.begin(), known.end(), name) == known.end()) {
        const std::string suggestion = closest_key(name, known);
        throw CLI::ConfigError(where(file, key.source()) + ": unknown key " + name +
                               (suggestion.empty() ? std::string(" (--help lists the flags)")
                                                   : " (did you mean " + suggestion + "?)"));
      }
      CLI::ConfigItem item;
      item.name = name;
      if (const toml::array* values = node.as_array()) {
        for (const toml::node& value : *values) item.inputs.push_back(scalar(value, name, file));
      } else {
        item.inputs.push_back(scalar(node, name, file));
      }
      items.push_back(std::move(item));
    }
  }

  // CLI11 converts and validates the text exactly as it does a command-line argument.
  static std::string scalar(const toml::node& node, const std::string& name,
                            const std::string& file) {
    if (const auto* text = node.as_string()) return text->get();
    if (const auto* boolean = node.as_boolean()) return boolean->get() ? "true" : "false";
    if (const auto* integer = node.as_integer()) return std::to_string(integer->get());
    if (const auto* number = node.as_floating_point()) {
      std::ostringstream out;
      out.precision(17);
      out << number->get();
      return out.str();
    }
    throw CLI::ConfigError(where(file, node.source()) + ": " + name +
                           " takes a string, a number or a boolean");
  }

  const CLI::App& app_;
};

}  // namespace

std::shared_ptr<CLI::Config> make_toml_config(const CLI::App& app) {
  return std::make_shared<TomlConfig>(app);
}

std::string closest_key(std::string_view key, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_distance = std::max<size_t>(2, key.size() / 3) + 1;
  for (const std::string& candidate : candidates) {
    const size_t distance = edit_distance(key, candidate);
    if (distance < best_distance) {
      best_distance = distance;
      best = candidate;
    }
  }
  return best;
}

}  // namespace timing_sidecar
