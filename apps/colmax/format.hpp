// format.hpp — numbers for people: "20,000", "1.23 s", "259 k/s", "848 MiB".
#pragma once

#include <cstdint>
#include <string>

namespace colmax::cli {

std::string grouped(int64_t n);             // 20,000
std::string fixed(double v, int decimals);  // 3.14
std::string duration(double seconds);       // 850 us, 12.3 ms, 1.23 s, 2m05s
std::string rate(double per_second);        // 512, 259 k, 43.1 M, 1.2 G (3 digits)
std::string byte_size(double bytes);        // 848 MiB
std::string scientific(double v);           // 3.1e-06

}  // namespace colmax::cli
