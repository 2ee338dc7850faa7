// The compiled stream kernels, by element type and embedding width.
#pragma once

#include "cuda/common/problem_view.hpp"

namespace colmax::cuda {

// Host-side handle of stream_kernel<E, kStreamKSteps[ks_index]>; E is bf16 or f16.
const void* stream_kernel_bf16(int ks_index);
const void* stream_kernel_f16(int ks_index);
// stream_tma_kernel<E, kStreamKSteps[ks_index]> (sm_90 code only).
const void* stream_tma_kernel_bf16(int ks_index);
const void* stream_tma_kernel_f16(int ks_index);
// stream_tma_kernel<E, kWgKSteps[wg_index], true>: with winners (training's forward with
// saved state where few query rows meet each document).
const void* stream_tma_winners_kernel_bf16(int wg_index);
const void* stream_tma_winners_kernel_f16(int wg_index);
// stream_wg_kernel<E, kWgKSteps[wg_index]> (sm_90a code only).
const void* stream_wg_kernel_bf16(int wg_index);
const void* stream_wg_kernel_f16(int wg_index);
// The same with winners (stream_wg_kernel<E, KS, true>): training's forward with saved state.
const void* stream_wg_winners_kernel_bf16(int wg_index);
const void* stream_wg_winners_kernel_f16(int wg_index);
const void* stream_wg2_kernel_bf16(int wg_index);  // two warpgroups a block
const void* stream_wg2_kernel_f16(int wg_index);
// stream_wgq_kernel<E, kWgKSteps[wg_index], winners, kWgqWarpgroups, blocks> (sm_90a code
// only): query rows in registers, documents through a tensor map (a CUtensorMap after
// StreamParams); blocks = 2 (scores only): two 64-row blocks a warpgroup.
const void* stream_wgq_kernel_bf16(int wg_index, bool winners, int blocks);
const void* stream_wgq_kernel_f16(int wg_index, bool winners, int blocks);

}  // namespace colmax::cuda
