// The .npy format: a 6-byte magic, a version, a little-endian header length, a Python dict
// literal {'descr': ..., 'fortran_order': ..., 'shape': (...), } padded to 64 bytes, then
// the raw data. https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
#include "npy.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string_view>

namespace colmax::cli {
namespace {

static_assert(std::endian::native == std::endian::little, "colmax reads .npy on little-endian");

constexpr std::string_view kMagic = "\x93NUMPY";
constexpr size_t kPreamble = 8;            // magic + major + minor
constexpr uint64_t kMaxHeader = 1u << 20;  // NumPy itself writes a few hundred bytes
constexpr uint64_t kMaxDataBytes = uint64_t(1) << 48;

struct Header {
  NpyType type = NpyType::float32;
  bool big_endian = false;
  bool fortran_order = false;
  std::vector<int64_t> shape;
  uint64_t data_offset = 0;  // bytes from the start of the file
};

[[noreturn]] void fail(const std::string& name, const std::string& what) {
  throw NpyError(name + ": " + what);
}

std::string printable(std::string_view s) {
  std::string r;
  for (unsigned char c : s) {
    if (c >= 0x20 && c < 0x7f) {
      r += char(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      r += buf;
    }
  }
  return r;
}

// "<f4" -> float32, with the byte order. Throws on anything colmax does not read.
void parse_descr(const std::string& d, Header& h, const std::string& name) {
  const std::string supported =
      "; supported: bool, int8/16/32/64, uint8/16/32/64, float16/32/64 and 2-byte void "
      "(bfloat16)";
  if (d.size() < 3 || std::string_view("<>|=").find(d[0]) == std::string_view::npos) {
    fail(name, "unsupported dtype '" + printable(d) + "'" + supported);
  }
  const std::string code = d.substr(1);
  struct Entry {
    const char* code;
    NpyType type;
  };
  static constexpr std::array<Entry, 13> kTypes{{
      {"b1", NpyType::boolean},
      {"i1", NpyType::int8},
      {"u1", NpyType::uint8},
      {"i2", NpyType::int16},
      {"u2", NpyType::uint16},
      {"i4", NpyType::int32},
      {"u4", NpyType::uint32},
      {"i8", NpyType::int64},
      {"u8", NpyType::uint64},
      {"f2", NpyType::float16},
      {"f4", NpyType::float32},
      {"f8", NpyType::float64},
      {"V2", NpyType::void16},
  }};
  for (const Entry& e : kTypes) {
    if (code == e.code) {
      h.type = e.type;
      h.big_endian = d[0] == '>';
      return;
    }
  }
  std::string kind = "dtype '" + printable(d) + "'";
  if (code[0] == 'O') kind = "Python objects (dtype '" + printable(d) + "', pickled)";
  if (code[0] == 'c') kind = "complex numbers (dtype '" + printable(d) + "')";
  if (code[0] == 'U' || code[0] == 'S') kind = "strings (dtype '" + printable(d) + "')";
  fail(name, "unsupported " + kind + supported);
}

// A recursive-descent reader for the header's Python dict literal.
class HeaderParser {
 public:
  HeaderParser(std::string_view text, const std::string& name) : s_(text), name_(name) {}

  void parse(Header& h) {
    bool seen_descr = false, seen_order = false, seen_shape = false;
    skip_space();
    expect('{');
    for (;;) {
      skip_space();
      if (eat('}')) break;
      const std::string key = string_literal();
      skip_space();
      expect(':');
      skip_space();
      if (key == "descr") {
        once(seen_descr, key);
        if (peek() == '[') bad("a structured dtype (a list of fields); colmax reads plain arrays");
        parse_descr(string_literal(), h, name_);
      } else if (key == "fortran_order") {
        once(seen_order, key);
        h.fortran_order = boolean();
      } else if (key == "shape") {
        once(seen_shape, key);
        h.shape = tuple();
      } else {
        bad("unexpected key '" + printable(key) + "' in the header");
      }
      skip_space();
      if (eat('}')) break;
      expect(',');
    }
    while (i_ < s_.size() && is_space(s_[i_])) ++i_;
    if (i_ != s_.size()) bad("unexpected text after the header dict");
    if (!seen_descr) bad("the header has no 'descr'");
    if (!seen_order) bad("the header has no 'fortran_order'");
    if (!seen_shape) bad("the header has no 'shape'");
  }

 private:
  [[noreturn]] void bad(const std::string& what) const {
    fail(name_,
         "malformed .npy header: " + what + " (header: " + printable(s_.substr(0, 200)) + ")");
  }
  static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
  void skip_space() {
    while (i_ < s_.size() && is_space(s_[i_])) ++i_;
  }
  char peek() const { return i_ < s_.size() ? s_[i_] : '\0'; }
  bool eat(char c) {
    if (peek() != c) return false;
    ++i_;
    return true;
  }
  void expect(char c) {
    if (!eat(c)) bad(std::string("expected '") + c + "'");
  }
  void once(bool& seen, const std::string& key) {
    if (seen) bad("key '" + key + "' appears twice");
    seen = true;
  }
  std::string string_literal() {
    const char quote = peek();
    if (quote != '\'' && quote != '"') bad("expected a quoted string");
    ++i_;
    const size_t end = s_.find(quote, i_);
    if (end == std::string_view::npos) bad("unterminated string");
    std::string r(s_.substr(i_, end - i_));
    i_ = end + 1;
    return r;
  }
  bool boolean() {
    if (s_.substr(i_, 4) == "True") {
      i_ += 4;
      return true;
    }
    if (s_.substr(i_, 5) == "False") {
      i_ += 5;
      return false;
    }
    bad("'fortran_order' must be True or False");
  }
  int64_t integer() {
    if (peek() < '0' || peek() > '9') bad("a shape entry must be a non-negative integer");
    int64_t v = 0;
    while (peek() >= '0' && peek() <= '9') {
      if (v > (INT64_MAX - 9) / 10) bad("a shape entry is too large");
      v = v * 10 + (s_[i_++] - '0');
    }
    eat('L');  // Python 2 long literals, as old NumPy wrote them
    return v;
  }
  std::vector<int64_t> tuple() {
    std::vector<int64_t> r;
    expect('(');
    skip_space();
    if (eat(')')) return r;
    for (;;) {
      skip_space();
      r.push_back(integer());
      skip_space();
      if (eat(')')) {
        if (r.size() == 1) bad("a 1-d shape is written (n,)");
        return r;
      }
      expect(',');
      skip_space();
      if (eat(')')) return r;
    }
  }

  std::string_view s_;
  size_t i_ = 0;
  const std::string& name_;
};

uint32_t read_le(const std::byte* p, int bytes) {
  uint32_t v = 0;
  for (int k = bytes - 1; k >= 0; --k) v = (v << 8) | uint32_t(p[k]);
  return v;
}

// Magic and version; returns how many bytes hold the header length (2 or 4).
int check_preamble(std::span<const std::byte> head, const std::string& name) {
  if (head.empty()) fail(name, "the file is empty (0 bytes), not a .npy file");
  const std::string_view got(reinterpret_cast<const char*>(head.data()),
                             std::min(head.size(), kMagic.size()));
  if (got != kMagic) {
    if (got.substr(0, 2) == "PK") {
      fail(name, "this is a .npz archive (zip); colmax reads single .npy arrays (np.save)");
    }
    fail(name, "not a .npy file: it does not start with the magic \\x93NUMPY (got '" +
                   printable(got) + "')");
  }
  if (head.size() < kPreamble) fail(name, "truncated: the file ends inside the .npy preamble");
  const int major = int(head[6]), minor = int(head[7]);
  if (major < 1 || major > 3 || minor != 0) {
    fail(name, "unsupported .npy format version " + std::to_string(major) + "." +
                   std::to_string(minor) + " (expected 1.0, 2.0 or 3.0)");
  }
  return major == 1 ? 2 : 4;
}

uint64_t data_bytes(const Header& h, const std::string& name) {
  uint64_t n = uint64_t(npy_type_size(h.type));
  for (int64_t d : h.shape) {
    if (d != 0 && n > kMaxDataBytes / uint64_t(d)) {
      fail(name, "shape " + shape_string(h.shape) + " is too large");
    }
    n *= uint64_t(d);
  }
  for (int64_t d : h.shape) {
    if (d == 0) return 0;
  }
  return n;
}

Header parse_header(std::span<const std::byte> head, int len_bytes, const std::string& name) {
  const uint64_t header_len = read_le(head.data() + kPreamble, len_bytes);
  Header h;
  h.data_offset = kPreamble + uint64_t(len_bytes) + header_len;
  if (head.size() < h.data_offset) fail(name, "truncated: the file ends inside the .npy header");
  const std::string_view text(reinterpret_cast<const char*>(head.data()) + kPreamble + len_bytes,
                              header_len);
  HeaderParser(text, name).parse(h);
  return h;
}

void byteswap(std::vector<std::byte>& data, int elem) {
  if (elem == 1) return;
  for (size_t i = 0; i + size_t(elem) <= data.size(); i += size_t(elem)) {
    std::reverse(data.begin() + std::ptrdiff_t(i), data.begin() + std::ptrdiff_t(i) + elem);
  }
}

// Fortran-order data (first index fastest) to C order (last index fastest).
std::vector<std::byte> fortran_to_c(const std::vector<std::byte>& f,
                                    const std::vector<int64_t>& shape, int elem) {
  const int rank = int(shape.size());
  std::vector<std::byte> c(f.size());
  if (f.empty()) return c;
  std::vector<int64_t> fstride(size_t(rank), 1), idx(size_t(rank), 0);
  for (int k = 1; k < rank; ++k) fstride[size_t(k)] = fstride[size_t(k - 1)] * shape[size_t(k - 1)];
  int64_t offset = 0;  // Fortran element offset of idx
  const size_t count = f.size() / size_t(elem);
  for (size_t out = 0; out < count; ++out) {
    std::memcpy(c.data() + out * size_t(elem), f.data() + size_t(offset) * size_t(elem),
                size_t(elem));
    for (int k = rank - 1; k >= 0; --k) {  // advance the C-order index
      const size_t uk = size_t(k);
      if (++idx[uk] < shape[uk]) {
        offset += fstride[uk];
        break;
      }
      offset -= fstride[uk] * (shape[uk] - 1);
      idx[uk] = 0;
    }
  }
  return c;
}

void finish(NpyArray& a, const Header& h) {
  if (h.big_endian) byteswap(a.data, npy_type_size(h.type));
  if (h.fortran_order && a.shape.size() > 1) {
    a.data = fortran_to_c(a.data, a.shape, npy_type_size(h.type));
  }
}

void check_size(uint64_t have, uint64_t need, const Header& h, const std::string& name) {
  const std::string what = "the header says " + shape_string(h.shape) + " " +
                           npy_type_name(h.type) + " = " + std::to_string(need) +
                           " bytes of data, the file has " + std::to_string(have);
  if (have < need) fail(name, "truncated: " + what);
  if (have > need) fail(name, "unexpected trailing bytes: " + what);
}

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

}  // namespace

int npy_type_size(NpyType type) noexcept {
  switch (type) {
    case NpyType::boolean:
    case NpyType::int8:
    case NpyType::uint8:
      return 1;
    case NpyType::int16:
    case NpyType::uint16:
    case NpyType::float16:
    case NpyType::void16:
      return 2;
    case NpyType::int32:
    case NpyType::uint32:
    case NpyType::float32:
      return 4;
    case NpyType::int64:
    case NpyType::uint64:
    case NpyType::float64:
      return 8;
  }
  return 1;
}

const char* npy_type_name(NpyType type) noexcept {
  switch (type) {
    case NpyType::boolean:
      return "bool";
    case NpyType::int8:
      return "int8";
    case NpyType::uint8:
      return "uint8";
    case NpyType::int16:
      return "int16";
    case NpyType::uint16:
      return "uint16";
    case NpyType::int32:
      return "int32";
    case NpyType::uint32:
      return "uint32";
    case NpyType::int64:
      return "int64";
    case NpyType::uint64:
      return "uint64";
    case NpyType::float16:
      return "float16";
    case NpyType::float32:
      return "float32";
    case NpyType::float64:
      return "float64";
    case NpyType::void16:
      return "void16";
  }
  return "?";
}

std::string npy_descr(NpyType type) {
  switch (type) {
    case NpyType::boolean:
      return "|b1";
    case NpyType::int8:
      return "|i1";
    case NpyType::uint8:
      return "|u1";
    case NpyType::int16:
      return "<i2";
    case NpyType::uint16:
      return "<u2";
    case NpyType::int32:
      return "<i4";
    case NpyType::uint32:
      return "<u4";
    case NpyType::int64:
      return "<i8";
    case NpyType::uint64:
      return "<u8";
    case NpyType::float16:
      return "<f2";
    case NpyType::float32:
      return "<f4";
    case NpyType::float64:
      return "<f8";
    case NpyType::void16:
      return "|V2";
  }
  return "?";
}

int64_t NpyArray::numel() const noexcept {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string shape_string(std::span<const int64_t> shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

NpyArray parse_npy(std::span<const std::byte> file, const std::string& name) {
  const int len_bytes = check_preamble(file, name);
  if (file.size() < kPreamble + size_t(len_bytes)) {
    fail(name, "truncated: the file ends inside the .npy preamble");
  }
  const Header h = parse_header(file, len_bytes, name);
  NpyArray a;
  a.type = h.type;
  a.shape = h.shape;
  const uint64_t need = data_bytes(h, name);
  check_size(file.size() - h.data_offset, need, h, name);
  a.data.assign(file.begin() + std::ptrdiff_t(h.data_offset), file.end());
  finish(a, h);
  return a;
}

NpyArray read_npy(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) fail(path, "is a directory, not a .npy file");
  std::unique_ptr<std::FILE, FileCloser> f(std::fopen(path.c_str(), "rb"));
  if (!f) fail(path, std::string("cannot open: ") + std::strerror(errno));
  const uint64_t file_size = std::filesystem::file_size(path, ec);
  if (ec) fail(path, "cannot read its size: " + ec.message());

  // The preamble and header first; at most kMaxHeader bytes.
  std::vector<std::byte> head(std::min<uint64_t>(file_size, kPreamble + 4));
  if (std::fread(head.data(), 1, head.size(), f.get()) != head.size()) {
    fail(path, "read error");
  }
  const int len_bytes = check_preamble(head, path);
  if (head.size() < kPreamble + size_t(len_bytes)) {
    fail(path, "truncated: the file ends inside the .npy preamble");
  }
  const uint64_t header_len = read_le(head.data() + kPreamble, len_bytes);
  if (header_len > kMaxHeader) {
    fail(path, "malformed .npy header: it claims " + std::to_string(header_len) + " bytes");
  }
  const uint64_t data_offset = kPreamble + uint64_t(len_bytes) + header_len;
  if (data_offset > file_size) fail(path, "truncated: the file ends inside the .npy header");
  head.resize(size_t(data_offset));
  std::fseek(f.get(), 0, SEEK_SET);
  if (std::fread(head.data(), 1, head.size(), f.get()) != head.size()) {
    fail(path, "read error");
  }
  const Header h = parse_header(head, len_bytes, path);

  const uint64_t need = data_bytes(h, path);
  check_size(file_size - data_offset, need, h, path);
  NpyArray a;
  a.type = h.type;
  a.shape = h.shape;
  a.data.resize(size_t(need));
  if (std::fread(a.data.data(), 1, a.data.size(), f.get()) != a.data.size()) {
    fail(path, "truncated: the file ended while reading its data");
  }
  finish(a, h);
  return a;
}

std::vector<std::byte> serialize_npy(NpyType type, std::span<const int64_t> shape,
                                     std::span<const std::byte> data, bool fortran_order) {
  std::string dict = "{'descr': '" + npy_descr(type) +
                     "', 'fortran_order': " + (fortran_order ? "True" : "False") + ", 'shape': (";
  for (size_t i = 0; i < shape.size(); ++i) {
    dict += std::to_string(shape[i]);
    if (i + 1 < shape.size() || shape.size() == 1) dict += ",";
    if (i + 1 < shape.size()) dict += " ";
  }
  dict += "), }";
  // Version 1.0 holds headers up to 65535 bytes; pad with spaces and end with '\n' so that
  // the data starts at a multiple of 64 bytes.
  int len_bytes = 2;
  size_t total = kPreamble + 2 + dict.size() + 1;
  total = (total + 63) / 64 * 64;
  if (total - kPreamble - 2 > 65535) {
    len_bytes = 4;
    total = (kPreamble + 4 + dict.size() + 1 + 63) / 64 * 64;
  }
  const size_t header_len = total - kPreamble - size_t(len_bytes);
  dict.append(header_len - dict.size() - 1, ' ');
  dict += '\n';

  std::vector<std::byte> out;
  out.reserve(total + data.size());
  for (char c : kMagic) out.push_back(std::byte(c));
  out.push_back(std::byte(len_bytes == 2 ? 1 : 2));
  out.push_back(std::byte(0));
  for (int k = 0; k < len_bytes; ++k) out.push_back(std::byte((header_len >> (8 * k)) & 0xff));
  for (char c : dict) out.push_back(std::byte(c));
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

void write_npy(const std::string& path, NpyType type, std::span<const int64_t> shape,
               std::span<const std::byte> data) {
  const std::vector<std::byte> bytes = serialize_npy(type, shape, data);
  std::unique_ptr<std::FILE, FileCloser> f(std::fopen(path.c_str(), "wb"));
  if (!f) fail(path, std::string("cannot write: ") + std::strerror(errno));
  if (std::fwrite(bytes.data(), 1, bytes.size(), f.get()) != bytes.size()) {
    fail(path, std::string("write error: ") + std::strerror(errno));
  }
  if (std::fclose(f.release()) != 0) {
    fail(path, std::string("write error: ") + std::strerror(errno));
  }
}

}  // namespace colmax::cli
