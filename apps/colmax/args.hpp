// args.hpp — a small parser for "--name value", "--name=value" and "--flag" options.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <map>
#include <ostream>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace colmax::cli {

// A mistake on the command line (unknown option, missing value, bad number): exit code 2.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct OptionSpec {
  std::string name;        // without the leading "--"
  std::string value_name;  // e.g. "N", "FILE"; empty for a flag that takes no value
  std::string help;
};

class Args {
 public:
  // `usage` is the synopsis line after "colmax <command>", `about` a paragraph under it.
  Args(std::string command, std::string usage, std::string about, std::vector<OptionSpec> specs);

  // Parses argv (the words after the command name). Returns false when --help (or -h) was
  // given; the help text has then been written to `out`. Throws UsageError.
  bool parse(std::span<const std::string> argv, std::ostream& out);

  std::string help() const;

  bool has(const std::string& name) const;  // given on the command line
  bool flag(const std::string& name) const;
  std::string text(const std::string& name, const std::string& fallback = "") const;
  // The value, which must be given.
  std::string required(const std::string& name) const;
  int64_t integer(const std::string& name, int64_t fallback, int64_t min = INT64_MIN,
                  int64_t max = INT64_MAX) const;
  double number(const std::string& name, double fallback, double min, double max) const;
  // One of `choices`.
  std::string choice(const std::string& name, std::initializer_list<const char*> choices,
                     const std::string& fallback) const;

  // A UsageError that names this command, e.g. "colmax score: --out: ...".
  [[noreturn]] void error(const std::string& message) const;

 private:
  const OptionSpec* find(const std::string& name) const;

  std::string command_, usage_, about_;
  std::vector<OptionSpec> specs_;
  std::map<std::string, std::string> values_;
};

// Parses "12", "-3", "20000" or "20k" / "1M" (decimal suffixes); throws std::invalid_argument.
int64_t parse_integer(const std::string& text);

}  // namespace colmax::cli
