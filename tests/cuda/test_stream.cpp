// Options::stream, CUDA graph capture, and scratch memory: no host synchronisation or
// allocation happens inside a forward call, so both it and a warmed-up retrieve can be
// captured and replayed.
#include <gtest/gtest.h>

#include "support/cases.hpp"
#include "support/device.hpp"

namespace colmax::test {
namespace {

CaseSpec shape(uint64_t seed) {
  CaseSpec s;
  s.layout = Layout::cross;
  s.nq = 4;
  s.nd = 700;
  s.lq_min = s.lq_max = 32;
  s.ld_min = s.ld_max = 100;
  s.dim = 128;
  s.q_dtype = s.d_dtype = DType::bfloat16;
  s.d_mask = MaskKind::holes;
  s.seed = seed;
  return s;
}

TEST(CudaStream, RunsOnTheGivenStream) {
  COLMAX_REQUIRE_GPU();
  const Case c = make_large_case(shape(1));
  const std::vector<float> want = gpu_scores(c, c.options());
  cudaStream_t stream;
  CUDA_OK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  DevicePlacer dev;
  TensorView out = dev.poisoned_output(c.out_shape);
  Options o = c.options();
  o.stream = stream;
  run_case(c, dev.placer(), out, o);
  CUDA_OK(cudaStreamSynchronize(stream));
  EXPECT_EQ(compare_scores(to_host(out), want, 0.0), "");
  CUDA_OK(cudaStreamDestroy(stream));
}

TEST(CudaStream, ForwardCapturesIntoAGraph) {
  COLMAX_REQUIRE_GPU();
  const Case a = make_large_case(shape(2));
  const Case b = make_large_case(shape(3));
  const std::vector<float> want_a = gpu_scores(a, a.options());
  const std::vector<float> want_b = gpu_scores(b, b.options());
  DevicePlacer dev;
  const TensorView Q = dev.place(a.Q), D = dev.place(a.D), dm = dev.place(a.d_mask);
  TensorView out = dev.poisoned_output(a.out_shape);
  cudaStream_t stream;
  CUDA_OK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  Options o = a.options();
  o.stream = stream;
  cudaGraph_t graph;
  CUDA_OK(cudaStreamBeginCapture(stream, cudaStreamCaptureModeGlobal));
  maxsim(Q, D, out, {TensorView(), dm}, o);
  CUDA_OK(cudaStreamEndCapture(stream, &graph));
  cudaGraphExec_t exec;
  CUDA_OK(cudaGraphInstantiate(&exec, graph, 0));
  CUDA_OK(cudaGraphLaunch(exec, stream));
  CUDA_OK(cudaStreamSynchronize(stream));
  EXPECT_EQ(compare_scores(to_host(out), want_a, 0.0), "");
  // Replay on new inputs copied into the same buffers.
  CUDA_OK(cudaMemcpy(Q.data(), b.Q.bytes.data(), b.Q.bytes.size(), cudaMemcpyHostToDevice));
  CUDA_OK(cudaMemcpy(D.data(), b.D.bytes.data(), b.D.bytes.size(), cudaMemcpyHostToDevice));
  CUDA_OK(
      cudaMemcpy(dm.data(), b.d_mask.bytes.data(), b.d_mask.bytes.size(), cudaMemcpyHostToDevice));
  CUDA_OK(cudaGraphLaunch(exec, stream));
  CUDA_OK(cudaStreamSynchronize(stream));
  EXPECT_EQ(compare_scores(to_host(out), want_b, 0.0), "");
  CUDA_OK(cudaGraphExecDestroy(exec));
  CUDA_OK(cudaGraphDestroy(graph));
  CUDA_OK(cudaStreamDestroy(stream));
}

// retrieve in a graph: with the caller's workspace, or once the pool has grown.
TEST(CudaStream, RetrieveCapturesWithWorkspace) {
  COLMAX_REQUIRE_GPU();
  const Case c = make_large_case(shape(4));
  const int64_t k = 10;
  DevicePlacer dev;
  const TensorView Q = dev.place(c.Q), D = dev.place(c.D), dm = dev.place(c.d_mask);
  auto scores_at = [&](int i) {
    (void)i;
    return dev.poisoned_output({c.spec.nq, k});
  };
  TensorView s0 = scores_at(0), s1 = scores_at(1);
  auto* i0 = static_cast<int64_t*>(dev.alloc(size_t(c.spec.nq * k) * 8));
  auto* i1 = static_cast<int64_t*>(dev.alloc(size_t(c.spec.nq * k) * 8));
  const Device gpu{DeviceKind::cuda, 0};
  TensorView iv0(i0, DType::int64, {c.spec.nq, k}, gpu), iv1(i1, DType::int64, {c.spec.nq, k}, gpu);
  Options o = c.options();
  retrieve(Q, D, k, s0, iv0, {TensorView(), dm}, o);  // not captured: the reference result

  cudaStream_t stream;
  CUDA_OK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  o.stream = stream;
  // A cold pool cannot grow during capture: a clear error, and the capture is abandoned.
  cudaGraph_t graph;
  CUDA_OK(cudaStreamBeginCapture(stream, cudaStreamCaptureModeGlobal));
  EXPECT_THROW(retrieve(Q, D, k, s1, iv1, {TensorView(), dm}, o), Error);
  (void)cudaStreamEndCapture(stream, &graph);
  if (graph) (void)cudaGraphDestroy(graph);
  (void)cudaGetLastError();
  // With the caller's workspace it captures.
  o.workspace = {dev.alloc(size_t(64) << 20), size_t(64) << 20};
  CUDA_OK(cudaStreamBeginCapture(stream, cudaStreamCaptureModeGlobal));
  retrieve(Q, D, k, s1, iv1, {TensorView(), dm}, o);
  CUDA_OK(cudaStreamEndCapture(stream, &graph));
  cudaGraphExec_t exec;
  CUDA_OK(cudaGraphInstantiate(&exec, graph, 0));
  CUDA_OK(cudaGraphLaunch(exec, stream));
  CUDA_OK(cudaStreamSynchronize(stream));
  EXPECT_EQ(to_host(s1), to_host(s0));
  EXPECT_EQ(to_host_i64(iv1), to_host_i64(iv0));
  CUDA_OK(cudaGraphExecDestroy(exec));
  CUDA_OK(cudaGraphDestroy(graph));
  // A workspace that is too small is an error naming the argument.
  o.workspace.bytes = 16;
  o.stream = nullptr;
  EXPECT_THROW(retrieve(Q, D, k, s1, iv1, {TensorView(), dm}, o), Error);
  CUDA_OK(cudaStreamDestroy(stream));
}

}  // namespace
}  // namespace colmax::test
