// The option parser: every command lists its options; anything else is a usage error.
#include "args.hpp"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <sstream>

namespace colmax::cli {

int64_t parse_integer(const std::string& text) {
  if (text.empty()) throw std::invalid_argument("empty");
  int64_t scale = 1;
  std::string digits = text;
  const char last = digits.back();
  if (last == 'k' || last == 'K') scale = 1000;
  if (last == 'm' || last == 'M') scale = 1000000;
  if (scale != 1) digits.pop_back();
  if (digits.empty()) throw std::invalid_argument("no digits");
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(digits.c_str(), &end, 10);
  if (errno != 0 || end != digits.c_str() + digits.size()) {
    throw std::invalid_argument("not an integer");
  }
  if (v > INT64_MAX / scale || v < INT64_MIN / scale) throw std::invalid_argument("too large");
  return int64_t(v) * scale;
}

Args::Args(std::string command, std::string usage, std::string about, std::vector<OptionSpec> specs)
    : command_(std::move(command)),
      usage_(std::move(usage)),
      about_(std::move(about)),
      specs_(std::move(specs)) {}

const OptionSpec* Args::find(const std::string& name) const {
  for (const OptionSpec& s : specs_) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

void Args::error(const std::string& message) const {
  throw UsageError("colmax " + command_ + ": " + message + "\n(see 'colmax " + command_ +
                   " --help')");
}

bool Args::parse(std::span<const std::string> argv, std::ostream& out) {
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& word = argv[i];
    if (word == "--help" || word == "-h") {
      out << help();
      return false;
    }
    if (word.size() < 3 || word.compare(0, 2, "--") != 0) {
      error("unexpected argument '" + word + "' (options start with --)");
    }
    std::string name = word.substr(2), value;
    const size_t eq = name.find('=');
    const bool inline_value = eq != std::string::npos;
    if (inline_value) {
      value = name.substr(eq + 1);
      name.resize(eq);
    }
    const OptionSpec* spec = find(name);
    if (!spec) error("unknown option --" + name);
    if (spec->value_name.empty()) {
      if (inline_value) error("--" + name + " takes no value");
      value.assign(1, '1');  // not = "1": GCC 12 -O3 reports a false -Wrestrict there
    } else if (!inline_value) {
      if (i + 1 >= argv.size()) error("--" + name + " needs a value (" + spec->value_name + ")");
      value = argv[++i];
    }
    if (values_.count(name)) error("--" + name + " is given twice");
    values_[name] = value;
  }
  return true;
}

std::string Args::help() const {
  std::ostringstream s;
  s << "usage: colmax " << command_ << " " << usage_ << "\n\n" << about_ << "\n";
  if (!specs_.empty()) s << "\noptions:\n";
  size_t width = 0;
  for (const OptionSpec& o : specs_) {
    width = std::max(width, o.name.size() + (o.value_name.empty() ? 0 : o.value_name.size() + 1));
  }
  for (const OptionSpec& o : specs_) {
    std::string left = "--" + o.name + (o.value_name.empty() ? "" : " " + o.value_name);
    s << "  " << left << std::string(width + 4 - left.size() + 2, ' ') << o.help << "\n";
  }
  s << "  --help" << std::string(width + 4 - 6 + 2, ' ') << "show this help\n";
  return s.str();
}

bool Args::has(const std::string& name) const {
  return values_.count(name) > 0;
}

bool Args::flag(const std::string& name) const {
  return has(name);
}

std::string Args::text(const std::string& name, const std::string& fallback) const {
  auto it = values_.find(name);
  return it == values_.end() ? fallback : it->second;
}

std::string Args::required(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) {
    const OptionSpec* spec = find(name);
    error("--" + name + " " + (spec ? spec->value_name : std::string("VALUE")) + " is required");
  }
  return it->second;
}

int64_t Args::integer(const std::string& name, int64_t fallback, int64_t min, int64_t max) const {
  if (!has(name)) return fallback;
  const std::string& t = values_.at(name);
  int64_t v = 0;
  try {
    v = parse_integer(t);
  } catch (const std::invalid_argument&) {
    error("--" + name + ": expected an integer, got '" + t + "'");
  }
  if (v < min || v > max) {
    std::string range = max == INT64_MAX ? ">= " + std::to_string(min)
                                         : std::to_string(min) + ".." + std::to_string(max);
    error("--" + name + ": expected an integer " + range + ", got " + t);
  }
  return v;
}

double Args::number(const std::string& name, double fallback, double min, double max) const {
  if (!has(name)) return fallback;
  const std::string& t = values_.at(name);
  char* end = nullptr;
  const double v = std::strtod(t.c_str(), &end);
  if (t.empty() || end != t.c_str() + t.size() || !std::isfinite(v) || v < min || v > max) {
    std::ostringstream range;
    range << min << ".." << max;
    error("--" + name + ": expected a number in " + range.str() + ", got '" + t + "'");
  }
  return v;
}

std::string Args::choice(const std::string& name, std::initializer_list<const char*> choices,
                         const std::string& fallback) const {
  if (!has(name)) return fallback;
  const std::string& t = values_.at(name);
  std::string list;
  for (const char* c : choices) {
    if (t == c) return t;
    if (!list.empty()) list += ", ";
    list += c;
  }
  error("--" + name + ": expected one of " + list + ", got '" + t + "'");
}

}  // namespace colmax::cli
