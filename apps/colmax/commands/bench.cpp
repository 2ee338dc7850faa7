// `colmax bench`: median time of many runs of named (or custom) shapes, as a table or JSON.
#include <chrono>
#include <cstdio>
#include <ctime>
#include <sstream>

#include "../args.hpp"
#include "../bench_shapes.hpp"
#include "../device.hpp"
#include "../format.hpp"
#include "../timing.hpp"
#include "commands.hpp"

namespace colmax::cli {
namespace {

struct Measured {
  BenchShape shape;
  int runs = 0;
  double median_s = 0, min_s = 0, flops = 0, bytes = 0;
};

struct Budget {
  int min_runs = 5, max_runs = 1000;
  double min_time = 1.0;  // seconds of timed runs per shape
};

// Warm-up, then timed samples until both `min_runs` samples and `min_time` seconds. On a GPU
// a sample is a burst of back-to-back calls (about a millisecond) divided by its length, so
// launch latency does not hide the kernel time.
Measured measure(BenchCase& c, Arena& arena, const Options& options, const Budget& budget) {
  Measured m;
  c.run(options);
  arena.synchronize();
  Stopwatch once;
  c.run(options);
  arena.synchronize();
  const double first = once.seconds();
  const int burst = arena.on_gpu() ? std::clamp(int(1e-3 / std::max(first, 1e-7)), 1, 1000) : 1;

  std::vector<double> samples;
  Stopwatch total;
  while (int(samples.size()) < budget.max_runs &&
         (int(samples.size()) < budget.min_runs || total.seconds() < budget.min_time)) {
    Stopwatch clock;
    for (int i = 0; i < burst; ++i) c.run(options);
    arena.synchronize();
    samples.push_back(clock.seconds() / burst);
  }
  m.runs = int(samples.size());
  m.median_s = median(samples);
  m.min_s = *std::min_element(samples.begin(), samples.end());
  m.flops = c.flops();
  m.bytes = c.bytes();
  return m;
}

std::string dtype_short(DType d) {
  return d == DType::bfloat16 ? "bf16" : (d == DType::float16 ? "fp16" : "fp32");
}

void print_table(std::ostream& out, const std::vector<Measured>& rows, DType dtype) {
  char line[256];
  std::snprintf(line, sizeof line, "%-28s %-10s %-5s %6s %11s %11s %10s %9s\n", "shape", "layout",
                "dtype", "runs", "median ms", "min ms", "GFLOP/s", "GB/s");
  out << line;
  for (const Measured& m : rows) {
    std::snprintf(line, sizeof line, "%-28s %-10s %-5s %6d %11.3f %11.3f %10.1f %9.1f\n",
                  m.shape.name.c_str(), layout_name(m.shape.layout), dtype_short(dtype).c_str(),
                  m.runs, m.median_s * 1e3, m.min_s * 1e3, m.flops / m.median_s / 1e9,
                  m.bytes / m.median_s / 1e9);
    out << line;
  }
}

std::string json_escape(const std::string& s) {
  std::string r;
  for (char c : s) {
    if (c == '"' || c == '\\') r += '\\';
    if (static_cast<unsigned char>(c) < 0x20) continue;
    r += c;
  }
  return r;
}

void print_json(std::ostream& out, const std::vector<Measured>& rows, DType dtype,
                const std::string& device, int threads) {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  char date[32];
  std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  out << "{\n  \"colmax\": \"" << version() << "\",\n  \"date\": \"" << date
      << "\",\n  \"device\": \"" << json_escape(device) << "\",\n  \"cpu_simd\": \""
      << cpu_simd_level() << "\",\n  \"threads\": " << threads << ",\n  \"dtype\": \""
      << dtype_name(dtype) << "\",\n  \"results\": [";
  for (size_t i = 0; i < rows.size(); ++i) {
    const Measured& m = rows[i];
    const BenchShape& s = m.shape;
    char nums[256];
    std::snprintf(nums, sizeof nums,
                  "\"runs\": %d, \"median_ms\": %.6f, \"min_ms\": %.6f, \"gflops\": %.3f, "
                  "\"gbps\": %.3f",
                  m.runs, m.median_s * 1e3, m.min_s * 1e3, m.flops / m.median_s / 1e9,
                  m.bytes / m.median_s / 1e9);
    out << (i ? "," : "") << "\n    {\"shape\": \"" << json_escape(s.name) << "\", \"layout\": \""
        << layout_name(s.layout) << "\", \"nq\": " << s.nq << ", \"nd\": " << s.nd << ", \"lq\": \""
        << lengths_text(s.lq_min, s.lq_max) << "\", \"ld\": \"" << lengths_text(s.ld_min, s.ld_max)
        << "\", \"dim\": " << s.dim << ", " << nums << "}";
  }
  out << "\n  ]\n}\n";
}

// "A..B" or "N" -> [lo, hi].
void parse_lengths(const Args& args, const std::string& name, int64_t fallback, int64_t& lo,
                   int64_t& hi) {
  lo = hi = fallback;
  if (!args.has(name)) return;
  const std::string t = args.text(name);
  try {
    const size_t dots = t.find("..");
    if (dots == std::string::npos) {
      lo = hi = parse_integer(t);
    } else {
      lo = parse_integer(t.substr(0, dots));
      hi = parse_integer(t.substr(dots + 2));
    }
  } catch (const std::invalid_argument&) {
    args.error("--" + name + ": expected N or MIN..MAX, got '" + t + "'");
  }
  if (lo < 0 || hi < lo) args.error("--" + name + ": expected 0 <= MIN <= MAX, got '" + t + "'");
}

std::vector<BenchShape> selected_shapes(const Args& args, bool gpu) {
  std::vector<BenchShape> shapes;
  const bool custom =
      args.has("nq") || args.has("nd") || args.has("lq") || args.has("ld") || args.has("dim");
  if (custom) {
    if (args.has("shape")) args.error("give either --shape or a custom shape (--nq ...), not both");
    BenchShape s;
    s.nq = args.integer("nq", 1, 0);
    s.nd = args.integer("nd", 1000, 0);
    parse_lengths(args, "lq", 32, s.lq_min, s.lq_max);
    parse_lengths(args, "ld", 300, s.ld_min, s.ld_max);
    s.dim = args.integer("dim", 128, 1, 1 << 16);
    s.layout =
        s.lq_min != s.lq_max || s.ld_min != s.ld_max ? BenchLayout::packed : BenchLayout::cross;
    s.name = "custom-" + std::to_string(s.nq) + "x" + std::to_string(s.nd) + "x" +
             lengths_text(s.lq_min, s.lq_max) + "x" + lengths_text(s.ld_min, s.ld_max) +
             (s.dim != 128 ? "-dim" + std::to_string(s.dim) : "");
    return {s};
  }
  const std::string list = args.text("shape", gpu ? "all" : "cpu");
  std::stringstream names(list);
  std::string name;
  while (std::getline(names, name, ',')) {
    if (name == "all" || name == "cpu" || name == "gpu") {
      for (const BenchShape& s : named_shapes()) {
        if (name == "all" || (name == "gpu") == s.gpu) shapes.push_back(s);
      }
      continue;
    }
    const BenchShape* s = find_shape(name);
    if (!s) args.error("--shape: unknown shape '" + name + "' (see --list)");
    shapes.push_back(*s);
  }
  return shapes;
}

}  // namespace

int bench_command(std::span<const std::string> argv, Streams io) {
  Args args("bench",
            "[--shape NAME[,NAME...] | --nq N --nd N --lq N --ld N|MIN..MAX --dim N] "
            "[options]",
            "Times colmax on random unit-length inputs: a warm-up, then runs until at least "
            "--min-runs\nand --min-time; prints the median and minimum time, the effective "
            "GFLOP/s (2*dim per\nquery-document token pair) and GB/s (Q + D + scores). Default "
            "shapes: the CPU set, or all\nshapes on a GPU. A custom shape with a length range "
            "is packed (variable lengths).",
            {{"shape", "NAMES", "named shapes, comma-separated, or cpu, gpu, all (see --list)"},
             {"list", "", "list the named shapes"},
             {"nq", "N", "custom shape: queries"},
             {"nd", "N", "custom shape: documents"},
             {"lq", "N|A..B", "custom shape: query tokens"},
             {"ld", "N|A..B", "custom shape: document tokens"},
             {"dim", "N", "custom shape: embedding dimension (128)"},
             {"dtype", "TYPE", "bf16 (default), fp16 or fp32 inputs"},
             {"device", "DEV", "auto (default), cpu, cuda or cuda:N"},
             {"threads", "T", "CPU threads (default: all cores)"},
             {"min-runs", "N", "timed runs per shape, at least (5)"},
             {"min-time", "SECONDS", "timed seconds per shape, at least (1)"},
             {"seed", "S", "random seed (1)"},
             {"json", "", "print JSON instead of the table"}});
  if (!args.parse(argv, io.out)) return 0;
  if (args.flag("list")) {
    for (const BenchShape& s : named_shapes()) {
      char line[160];
      std::snprintf(line, sizeof line, "%-28s %-4s %-10s %s\n", s.name.c_str(),
                    s.gpu ? "gpu" : "cpu", layout_name(s.layout), s.about.c_str());
      io.out << line;
    }
    return 0;
  }
  const std::string dt = args.choice("dtype", {"bf16", "fp16", "fp32"}, "bf16");
  const DType dtype =
      dt == "fp32" ? DType::float32 : (dt == "fp16" ? DType::float16 : DType::bfloat16);
  const Device device = choose_device(args.text("device", "auto"));
  Options options;
  options.num_threads = int(args.integer("threads", 0, 0, 4096));
  const int threads = options.num_threads > 0 ? options.num_threads : default_num_threads();
  Budget budget;
  budget.min_runs = int(args.integer("min-runs", budget.min_runs, 1, budget.max_runs));
  budget.min_time = args.number("min-time", budget.min_time, 0.0, 3600.0);
  const uint64_t seed = uint64_t(args.integer("seed", 1, 0));
  const std::vector<BenchShape> shapes = selected_shapes(args, device.kind == DeviceKind::cuda);
  const bool json = args.flag("json");

  const std::string where = describe_device(device, threads);
  if (!json) io.out << "colmax " << version() << " bench on " << where << "\n\n";
  std::vector<Measured> rows;
  for (const BenchShape& s : shapes) {
    io.err << "bench: " << s.name << " ..." << std::flush;
    Measured m;
    {
      Arena arena(device);
      BenchCase c(s, dtype, arena, seed, threads);
      m = measure(c, arena, options, budget);
    }
    m.shape = s;
    io.err << " " << duration(m.median_s) << "\n";
    rows.push_back(m);
  }
  if (json) {
    print_json(io.out, rows, dtype, where, threads);
  } else {
    print_table(io.out, rows, dtype);
  }
  return 0;
}

}  // namespace colmax::cli
