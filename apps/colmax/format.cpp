// Human-readable numbers for the command line's output.
#include "format.hpp"

#include <cmath>
#include <cstdio>

namespace colmax::cli {

std::string grouped(int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n), r;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0) r += ',';
    r += digits[i];
  }
  return n < 0 ? "-" + r : r;
}

std::string fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string duration(double s) {
  if (s < 1e-3) return fixed(s * 1e6, 0) + " us";
  if (s < 1.0) return fixed(s * 1e3, s < 0.01 ? 2 : 1) + " ms";
  if (s < 60.0) return fixed(s, 2) + " s";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%dm%02ds", int(s) / 60, int(s) % 60);
  return buf;
}

std::string rate(double v) {
  const char* units[] = {"", " k", " M", " G", " T"};
  int u = 0;
  while (std::fabs(v) >= 1000 && u < 4) {
    v /= 1000;
    ++u;
  }
  const int decimals = std::fabs(v) >= 100 ? 0 : (std::fabs(v) >= 10 ? 1 : 2);
  return fixed(v, u == 0 ? 0 : decimals) + units[u];
}

std::string byte_size(double b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (b >= 1024 && u < 4) {
    b /= 1024;
    ++u;
  }
  return fixed(b, u == 0 || b >= 100 ? 0 : 1) + " " + units[u];
}

std::string scientific(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1e", v);
  return buf;
}

}  // namespace colmax::cli
