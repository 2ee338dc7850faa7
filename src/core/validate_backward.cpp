#include "core/validate_backward.hpp"

#include <string>
#include <vector>

#include "colmax/error.hpp"
#include "core/validate.hpp"

namespace colmax::detail {
namespace {

[[noreturn]] void fail(ErrorKind kind, const char* fn, const char* arg, const std::string& what) {
  throw Error(kind, std::string("colmax.") + fn + ": " + arg + ": " + what);
}

std::string shape_string(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

void build_problem(Problem& p, const char* fn, const TrainingArgs& a, const char* out_name) {
  using L = TrainingArgs::Layout;
  switch (a.layout) {
    case L::padded:
      build_padded(p, fn, a.Q, a.D, a.out, a.masks, a.options, out_name);
      return;
    case L::pairs:
      build_pairs(p, fn, a.Q, a.D, a.out, a.masks, a.options, out_name);
      return;
    case L::packed:
      build_packed(p, fn, a.Q, a.cu_q, a.D, a.cu_d, {}, {}, a.out, a.masks, a.options, out_name);
      return;
    case L::packed_pairs:
      if (!a.pair_q.present())
        fail(ErrorKind::value, fn, "pair_q", "is required but was not given");
      if (!a.pair_d.present())
        fail(ErrorKind::value, fn, "pair_d", "is required but was not given");
      build_packed(p, fn, a.Q, a.cu_q, a.D, a.cu_d, a.pair_q, a.pair_d, a.out, a.masks, a.options,
                   out_name);
      return;
  }
}

// Sequence lengths are known on the host for padded tensors and for packed ones whose
// offsets are in CPU memory.
bool lengths_known(const Problem& p, const SeqSet& s) {
  return !s.packed() || p.device.kind == DeviceKind::cpu;
}

// winners [*out.shape, W]: int16/int32, row-major contiguous, W = Lq (padded) or >= the
// longest query (packed).
void fill_winners(Training& tr, const char* fn, const TrainingArgs& a) {
  const Problem& p = tr.p;
  const TensorView& w = a.winners;
  std::vector<int64_t> want(a.out.shape().begin(), a.out.shape().end());
  const bool packed = p.q.packed();
  if (!(w.device() == a.Q.device())) {
    fail(ErrorKind::device, fn, "winners",
         "is on " + device_name(w.device()) + " but Q is on " + device_name(a.Q.device()));
  }
  if (w.dtype() != DType::int16 && w.dtype() != DType::int32) {
    fail(ErrorKind::dtype, fn, "winners",
         std::string("expected int16 or int32, got ") + dtype_name(w.dtype()));
  }
  bool shape_ok = w.rank() == int(want.size()) + 1;
  for (size_t i = 0; shape_ok && i < want.size(); ++i) shape_ok = w.size(int(i)) == want[i];
  const char* layout =
      packed ? "(the scores' shape plus W >= the longest query)" : "(the scores' shape plus Lq)";
  if (shape_ok && !packed) shape_ok = w.size(w.rank() - 1) == p.q.length;
  if (!shape_ok) {
    std::vector<int64_t> shown = want;
    if (!packed) shown.push_back(p.q.length);
    fail(ErrorKind::shape, fn, "winners",
         "expected shape " + shape_string(shown) + (packed ? " + [W] " : " ") + layout + ", got " +
             w.describe());
  }
  const int64_t width = w.size(w.rank() - 1);
  if (packed && lengths_known(p, p.q) && width < max_query_length(p)) {
    fail(ErrorKind::shape, fn, "winners",
         "the last dimension W = " + std::to_string(width) +
             " is shorter than the longest query (" + std::to_string(max_query_length(p)) +
             " tokens)");
  }
  int64_t expected_stride = 1;
  for (int i = w.rank() - 1; i >= 0 && w.numel() > 0; --i) {
    if (w.size(i) > 1 && w.stride(i) != expected_stride) {
      fail(ErrorKind::layout, fn, "winners", "must be row-major contiguous, got " + w.describe());
    }
    expected_stride *= w.size(i);
  }
  if (w.dtype() == DType::int16 && lengths_known(p, p.d) && max_document_length(p) > 32768) {
    fail(ErrorKind::dtype, fn, "winners",
         "int16 holds positions of documents of up to 32,768 tokens, but a document has " +
             std::to_string(max_document_length(p)) + "; use int32 (see winners_dtype())");
  }
  tr.winners.data = w.data();
  tr.winners.dtype = w.dtype();
  tr.winners.width = width;
}

// A gradient output: the input's shape and dtype, last dimension contiguous, no two tokens
// on the same memory.
void fill_grad(GradOut& g, const char* fn, const char* arg, const TensorView& t,
               const TensorView& input, const char* input_name, const SeqSet& seqs) {
  if (!(t.device() == input.device())) {
    fail(ErrorKind::device, fn, arg,
         "is on " + device_name(t.device()) + " but " + input_name + " is on " +
             device_name(input.device()));
  }
  if (t.dtype() != input.dtype()) {
    fail(ErrorKind::dtype, fn, arg,
         std::string("expected ") + input_name + "'s dtype " + dtype_name(input.dtype()) +
             ", got " + dtype_name(t.dtype()));
  }
  bool same = t.rank() == input.rank();
  for (int i = 0; same && i < t.rank(); ++i) same = t.size(i) == input.size(i);
  if (!same) {
    fail(ErrorKind::shape, fn, arg,
         std::string("expected ") + input_name + "'s shape " + input.describe() + ", got " +
             t.describe());
  }
  const int last = t.rank() - 1;
  if (t.size(last) > 1 && t.stride(last) != 1) {
    fail(ErrorKind::layout, fn, arg,
         "the last (embedding) dimension must be contiguous (stride 1), got " + t.describe());
  }
  for (int i = 0; i < last; ++i) {
    if (t.size(i) > 1 && t.stride(i) == 0) {
      fail(ErrorKind::layout, fn, arg,
           "dimension " + std::to_string(i) + " has stride 0: gradient rows would overlap (" +
               t.describe() + ")");
    }
  }
  g.data = static_cast<std::byte*>(t.data());
  g.seqs = seqs;
  g.seqs.data = g.data;
  g.seqs.mask = nullptr;
  switch (t.rank()) {
    case 2:
      g.seqs.token_stride = t.stride(0);
      break;  // packed [T, dim]
    case 3:
      g.seqs.outer_stride = t.stride(0);
      g.seqs.token_stride = t.stride(1);
      break;
    default:
      g.seqs.outer_stride = t.stride(0);
      g.seqs.inner_stride = t.stride(1);
      g.seqs.token_stride = t.stride(2);
      break;
  }
}

}  // namespace

void build_forward(Training& tr, const char* fn, const TrainingArgs& a) {
  build_problem(tr.p, fn, a, "out");
  if (!a.winners.present()) {
    fail(ErrorKind::value, fn, "winners", "is required but was not given");
  }
  fill_winners(tr, fn, a);
}

void build_backward(Training& tr, const char* fn, const TrainingArgs& a) {
  if (a.strategy != BackwardStrategy::automatic && a.strategy != BackwardStrategy::fast &&
      a.strategy != BackwardStrategy::deterministic) {
    fail(ErrorKind::value, fn, "strategy", "expected automatic, fast or deterministic");
  }
  build_problem(tr.p, fn, a, "grad_out");
  if (a.winners.present()) fill_winners(tr, fn, a);
  if (!a.grad_Q.present() && !a.grad_D.present()) {
    fail(ErrorKind::value, fn, "grad_Q",
         "grad_Q and grad_D are both absent: give at least one gradient to compute");
  }
  if (a.grad_Q.present()) fill_grad(tr.grad_q, fn, "grad_Q", a.grad_Q, a.Q, "Q", tr.p.q);
  if (a.grad_D.present()) fill_grad(tr.grad_d, fn, "grad_D", a.grad_D, a.D, "D", tr.p.d);
  tr.strategy = a.strategy;
}

}  // namespace colmax::detail
