#include "cuda/tile/dispatch.hpp"

namespace colmax::cuda {
namespace {

constexpr DispatchEntry kTable[] = {
#include "cuda/tile/dispatch_table.inc"
};

}  // namespace

int arch_class(int cc) {
  if (cc >= 90) return 90;
  if (cc >= 89) return 89;
  if (cc >= 86) return 86;
  return 80;
}

int dim_class(int64_t dim) {
  return dim <= 64 ? 0 : dim <= 128 ? 1 : dim <= 256 ? 2 : 3;
}

int rows_class(int64_t rows) {
  return rows <= 32 ? 0 : rows <= 64 ? 1 : rows <= 128 ? 2 : rows <= 512 ? 3 : 4;
}

DispatchEntry dispatch_lookup(const DispatchKey& k) {
  for (const DispatchEntry& e : kTable) {
    if (e.arch == k.arch && e.dim_class == k.dim_class && e.rows_class == k.rows_class &&
        e.layout == k.layout) {
      return e;
    }
  }
  // Unreachable with a complete table; the smallest shape serves every problem.
  return {k.arch, k.dim_class, k.rows_class, k.layout, 0, 3, 2};
}

int64_t shared_query_rows(const ProblemView& v) {
  const int64_t nq = v.q.count > 0 ? v.q.count : 1;
  const int64_t per_query = v.q.cu == nullptr ? v.q.length : (v.q.total_tokens + nq - 1) / nq;
  if (v.pairing == PairingKind::cross) {
    return v.q.cu == nullptr ? per_query * nq : v.q.total_tokens;
  }
  return per_query;
}

}  // namespace colmax::cuda
