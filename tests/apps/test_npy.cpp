// The .npy reader and writer: NumPy's own files, round trips of every dtype and shape, and
// every kind of malformed file.
#include "npy.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>

#include "cli_test_util.hpp"

namespace colmax::cli::test {
namespace {

std::vector<std::byte> bytes_of(const std::string& s) {
  std::vector<std::byte> b(s.size());
  if (!s.empty()) std::memcpy(b.data(), s.data(), s.size());
  return b;
}

std::string string_of(const std::vector<std::byte>& b) {
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

std::vector<std::byte> file_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::string s((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  return bytes_of(s);
}

void write_bytes(const std::string& path, const std::string& s) {
  std::ofstream f(path, std::ios::binary);
  f.write(s.data(), std::streamsize(s.size()));
}

// A version 1.0 file with the given header dict (padded as NumPy pads) and data bytes.
std::string npy_file(const std::string& dict, const std::string& data) {
  std::string header = dict;
  const size_t total = (10 + header.size() + 1 + 63) / 64 * 64;
  header.append(total - 10 - header.size() - 1, ' ');
  header += '\n';
  std::string s = "\x93NUMPY";
  s += '\x01';
  s += '\x00';
  s += char(header.size() & 0xff);
  s += char(header.size() >> 8);
  return s + header + data;
}

// Expects parse_npy to fail with a message that names the file and contains `what`.
void expect_error(const std::string& file, const std::string& what) {
  try {
    parse_npy(bytes_of(file), "bad.npy");
    ADD_FAILURE() << "no error; expected one containing '" << what << "'";
  } catch (const NpyError& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.rfind("bad.npy: ", 0), 0u) << msg;
    EXPECT_NE(msg.find(what), std::string::npos) << "message: " << msg << "\nwanted: " << what;
  }
}

template <class T>
std::vector<T> arange(int64_t n) {
  std::vector<T> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[size_t(i)] = T(i);
  return v;
}

TEST(NpyGolden, ReadsNumPyFloat32) {
  const NpyArray a = read_npy(data_file("f4_2x3.npy"));
  EXPECT_EQ(a.type, NpyType::float32);
  EXPECT_EQ(a.shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(values_of<float>(a), arange<float>(6));
}

TEST(NpyGolden, WriterMatchesNumPyByteForByte) {
  const auto data = arange<float>(6);
  const std::vector<int64_t> shape{2, 3};
  EXPECT_EQ(string_of(serialize_npy(NpyType::float32, shape,
                                    std::as_bytes(std::span<const float>(data)))),
            string_of(file_bytes(data_file("f4_2x3.npy"))));
}

TEST(NpyGolden, FortranOrderBecomesCOrder) {
  const NpyArray a = read_npy(data_file("f4_fortran_2x3x4.npy"));
  EXPECT_EQ(a.shape, (std::vector<int64_t>{2, 3, 4}));
  EXPECT_EQ(values_of<float>(a), arange<float>(24));
}

TEST(NpyGolden, BigEndianIsSwapped) {
  const NpyArray f = read_npy(data_file("f8_bigendian_3x2.npy"));
  EXPECT_EQ(f.type, NpyType::float64);
  EXPECT_EQ(values_of<double>(f), arange<double>(6));
  const NpyArray i = read_npy(data_file("i4_bigendian_5.npy"));
  EXPECT_EQ(i.type, NpyType::int32);
  EXPECT_EQ(values_of<int32_t>(i), arange<int32_t>(5));
}

TEST(NpyGolden, EveryDtype) {
  const NpyArray f2 = read_npy(data_file("f2_2x2x2.npy"));
  EXPECT_EQ(f2.type, NpyType::float16);
  EXPECT_EQ(f2.shape, (std::vector<int64_t>{2, 2, 2}));
  EXPECT_EQ(values_of<uint16_t>(f2)[3], 0x4200);  // 3.0 in float16
  const NpyArray u2 = read_npy(data_file("u2_4x3.npy"));
  EXPECT_EQ(u2.type, NpyType::uint16);
  EXPECT_EQ(values_of<uint16_t>(u2), arange<uint16_t>(12));
  const NpyArray v2 = read_npy(data_file("v2_3.npy"));
  EXPECT_EQ(v2.type, NpyType::void16);
  EXPECT_EQ(values_of<uint16_t>(v2), arange<uint16_t>(3));
  const NpyArray b1 = read_npy(data_file("b1_2x3.npy"));
  EXPECT_EQ(b1.type, NpyType::boolean);
  EXPECT_EQ(values_of<uint8_t>(b1), (std::vector<uint8_t>{0, 1, 0, 1, 0, 1}));
  const NpyArray u1 = read_npy(data_file("u1_6.npy"));
  EXPECT_EQ(u1.type, NpyType::uint8);
  EXPECT_EQ(values_of<uint8_t>(u1), arange<uint8_t>(6));
  const NpyArray i8 = read_npy(data_file("i8_2x2.npy"));
  EXPECT_EQ(i8.type, NpyType::int64);
  EXPECT_EQ(values_of<int64_t>(i8), arange<int64_t>(4));
}

TEST(NpyGolden, ScalarsEmptyArraysAndLaterVersions) {
  const NpyArray s = read_npy(data_file("f4_scalar.npy"));
  EXPECT_TRUE(s.shape.empty());
  EXPECT_EQ(values_of<float>(s), std::vector<float>{7.0f});
  const NpyArray e = read_npy(data_file("f4_0x3.npy"));
  EXPECT_EQ(e.shape, (std::vector<int64_t>{0, 3}));
  EXPECT_TRUE(e.data.empty());
  for (const char* name : {"f4_v2_2x3.npy", "f4_v3_2x3.npy"}) {
    const NpyArray a = read_npy(data_file(name));
    EXPECT_EQ(a.shape, (std::vector<int64_t>{2, 3})) << name;
    EXPECT_EQ(values_of<float>(a), arange<float>(6)) << name;
  }
}

TEST(NpyGolden, RefusesWhatItCannotRead) {
  const auto refuse = [](const char* name, const std::string& what) {
    try {
      read_npy(data_file(name));
      ADD_FAILURE() << name << ": no error";
    } catch (const NpyError& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find(name), std::string::npos) << msg;
      EXPECT_NE(msg.find(what), std::string::npos) << msg;
    }
  };
  refuse("c8_2.npy", "complex");
  refuse("structured_2.npy", "structured");
  refuse("archive.npz", ".npz archive");
}

// Writes `values` with `type` and `shape`, reads the file back, expects the same array.
template <class T>
void round_trip(NpyType type, std::vector<int64_t> shape, const TempDir& dir) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  std::vector<T> values(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) values[size_t(i)] = T((i * 7 + 3) % 100);
  const std::string path = dir.file(std::string(npy_type_name(type)) + ".npy");
  save(path, type, shape, values);
  const NpyArray a = read_npy(path);
  EXPECT_EQ(a.type, type) << npy_type_name(type);
  EXPECT_EQ(a.shape, shape) << npy_type_name(type);
  EXPECT_EQ(values_of<T>(a), values) << npy_type_name(type) << " " << shape_string(shape);
}

TEST(NpyRoundTrip, EveryDtypeAndShape) {
  TempDir dir;
  const std::vector<std::vector<int64_t>> shapes{
      {},     {0},       {1},       {5},          {3, 0},         {0, 4},
      {2, 3}, {1, 1, 1}, {2, 3, 4}, {2, 1, 3, 5}, {7, 2, 1, 1, 2}};
  for (const auto& shape : shapes) {
    round_trip<uint8_t>(NpyType::boolean, shape, dir);
    round_trip<int8_t>(NpyType::int8, shape, dir);
    round_trip<uint8_t>(NpyType::uint8, shape, dir);
    round_trip<int16_t>(NpyType::int16, shape, dir);
    round_trip<uint16_t>(NpyType::uint16, shape, dir);
    round_trip<int32_t>(NpyType::int32, shape, dir);
    round_trip<uint32_t>(NpyType::uint32, shape, dir);
    round_trip<int64_t>(NpyType::int64, shape, dir);
    round_trip<uint64_t>(NpyType::uint64, shape, dir);
    round_trip<uint16_t>(NpyType::float16, shape, dir);
    round_trip<float>(NpyType::float32, shape, dir);
    round_trip<double>(NpyType::float64, shape, dir);
    round_trip<uint16_t>(NpyType::void16, shape, dir);
  }
}

TEST(NpyRoundTrip, FortranOrderWrittenAndReadBack) {
  // A [2, 3] array written in Fortran order (column by column) reads back in C order.
  const std::vector<int32_t> columns{0, 3, 1, 4, 2, 5};
  const std::vector<int64_t> shape{2, 3};
  const auto file =
      serialize_npy(NpyType::int32, shape, std::as_bytes(std::span<const int32_t>(columns)), true);
  EXPECT_EQ(values_of<int32_t>(parse_npy(file, "f.npy")), arange<int32_t>(6));
}

TEST(NpyRoundTrip, LongHeaderUsesVersion2) {
  // A 3-d shape has a short header; version 2.0 is only needed past 65535 bytes, which a
  // real shape never reaches, so check the version 1.0 header is padded to 64 bytes.
  const std::vector<int64_t> shape{2, 3, 4};
  const std::vector<float> data(24, 1.0f);
  const auto file =
      serialize_npy(NpyType::float32, shape, std::as_bytes(std::span<const float>(data)));
  EXPECT_EQ(int(file[6]), 1);
  EXPECT_EQ((file.size() - data.size() * 4) % 64, 0u);
}

TEST(NpyMalformed, EachErrorNamesTheFileAndTheProblem) {
  const std::string f4_2x3 = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
  const std::string data24(24, '\0');
  expect_error("", "empty");
  expect_error("hello world, not an array", "magic");
  expect_error("PK\x03\x04 zip", ".npz archive");
  expect_error("\x93NUMPY", "truncated");
  expect_error(std::string("\x93NUMPY\x01\x00", 8), "truncated");
  expect_error(std::string("\x93NUMPY\x04\x00\x10\x00", 10), "version 4.0");
  expect_error(std::string("\x93NUMPY\x01\x00\xff\x00{'descr'", 17), "truncated");
  expect_error(npy_file(f4_2x3, data24.substr(0, 20)),
               "truncated: the header says [2, 3] float32 = 24");
  expect_error(npy_file(f4_2x3, data24 + "xx"), "trailing bytes");
  expect_error(npy_file("[1, 2]", ""), "expected '{'");
  expect_error(npy_file("{'descr': '<f4', 'shape': (2,), }", data24), "no 'fortran_order'");
  expect_error(npy_file("{'fortran_order': False, 'shape': (2,), }", ""), "no 'descr'");
  expect_error(npy_file("{'descr': '<f4', 'fortran_order': False, }", ""), "no 'shape'");
  expect_error(
      npy_file("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (), }", ""),
      "appears twice");
  expect_error(npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (), 'x': 1}", ""),
               "unexpected key 'x'");
  expect_error(npy_file("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }", ""),
               "structured");
  expect_error(npy_file("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", ""),
               "complex");
  expect_error(npy_file("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", ""),
               "unsupported");
  expect_error(npy_file("{'descr': '<U3', 'fortran_order': False, 'shape': (1,), }", ""),
               "strings");
  expect_error(npy_file("{'descr': '<f4', 'fortran_order': maybe, 'shape': (1,), }", ""),
               "True or False");
  expect_error(npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }", ""),
               "non-negative integer");
  expect_error(npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (2.5,), }", ""),
               "expected ','");
  expect_error(npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (2), }", ""), "(n,)");
  expect_error(
      npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }", ""),
      "too large");
  expect_error(
      npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }", ""),
      "too large");
  expect_error(npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), } junk", ""),
               "after the header");
  expect_error(npy_file("{'descr: '<f4', 'fortran_order': False, 'shape': (1,), }", ""),
               "expected");
}

TEST(NpyMalformed, FilesOnDisk) {
  TempDir dir;
  const auto expect_read_error = [](const std::string& path, const std::string& what) {
    try {
      read_npy(path);
      ADD_FAILURE() << path << ": no error";
    } catch (const NpyError& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find(path), std::string::npos) << msg;
      EXPECT_NE(msg.find(what), std::string::npos) << msg << "\nwanted: " << what;
    }
  };
  expect_read_error(dir.file("missing.npy"), "cannot open");
  expect_read_error(dir.file(""), "directory");
  write_bytes(dir.file("empty.npy"), "");
  expect_read_error(dir.file("empty.npy"), "empty");
  const std::string good = string_of(file_bytes(data_file("f4_2x3.npy")));
  write_bytes(dir.file("cut.npy"), good.substr(0, good.size() - 3));
  expect_read_error(dir.file("cut.npy"), "truncated");
  write_bytes(dir.file("cut_header.npy"), good.substr(0, 40));
  expect_read_error(dir.file("cut_header.npy"), "truncated");
  write_bytes(dir.file("long.npy"), good + "!");
  expect_read_error(dir.file("long.npy"), "trailing bytes");
  write_bytes(dir.file("huge_header.npy"), std::string("\x93NUMPY\x02\x00\xff\xff\xff\x7f", 12));
  expect_read_error(dir.file("huge_header.npy"), "claims");
  // A header that promises far more data than the file has fails before allocating it.
  write_bytes(
      dir.file("promise.npy"),
      npy_file("{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000000,), }", ""));
  expect_read_error(dir.file("promise.npy"), "truncated");
}

TEST(NpyWrite, UnwritablePathIsAnError) {
  const std::vector<float> v{1.0f};
  const std::vector<int64_t> shape{1};
  EXPECT_THROW(write_npy("/nonexistent-dir/x.npy", NpyType::float32, shape,
                         std::as_bytes(std::span<const float>(v))),
               NpyError);
}

}  // namespace
}  // namespace colmax::cli::test
