"""colmax on NumPy arrays: every layout against the float64 reference, both mask modes,
normalize, dtypes, strided and read-only views, edge cases and errors."""

import itertools

import numpy as np
import pytest

import colmax
import reference as ref

MODES = ["exclude", "zero"]


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("normalize", [False, True])
def test_cross_product(seed, mode, normalize):
    c = ref.Cases(seed)
    nq, nd = c.rng.integers(1, 5), c.rng.integers(1, 7)
    lq, ld, dim = c.rng.integers(1, 12), c.rng.integers(1, 40), int(c.rng.choice([1, 3, 48, 100]))
    Q, D = c.tokens(nq, lq, dim), c.tokens(nd, ld, dim)
    qm, dm = c.mask(nq, lq), c.mask(nd, ld)
    got = colmax.maxsim(Q, D, qm, dm, mask_mode=mode, normalize=normalize)
    assert isinstance(got, np.ndarray) and got.dtype == np.float32
    want, tol = ref.cross(Q, D, qm, dm, mode=mode, normalize=normalize)
    ref.assert_close(got, want, tol)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("mode", MODES)
def test_candidates(seed, mode):
    c = ref.Cases(seed + 100)
    nq, k, lq, ld, dim = 3, 4, 7, 19, 24
    Q, D = c.tokens(nq, lq, dim), c.tokens(nq, k, ld, dim)
    qm, dm = c.mask(nq, lq), c.mask(nq, k, ld)
    got = colmax.maxsim(Q, D, qm, dm, mask_mode=mode)
    want, tol = ref.cross(Q, D, qm, dm, mode=mode)
    assert got.shape == (nq, k)
    ref.assert_close(got, want, tol)


@pytest.mark.parametrize("mode", MODES)
def test_pairs(mode):
    c = ref.Cases(7)
    Q, D = c.tokens(5, 6, 16), c.tokens(5, 30, 16)
    qm, dm = c.mask(5, 6), c.mask(5, 30)
    got = colmax.maxsim_pairs(Q, D, qm, dm, mask_mode=mode, normalize=True)
    want, tol = ref.pairs(Q, D, qm, dm, mode=mode, normalize=True)
    ref.assert_close(got, want, tol)


@pytest.mark.parametrize("offsets_dtype", [np.int32, np.int64])
@pytest.mark.parametrize("mode", MODES)
def test_varlen_and_pair_list(offsets_dtype, mode):
    c = ref.Cases(11)
    cu_q, cu_d = c.offsets(4, 0, 9), c.offsets(6, 0, 50)
    Q, D = c.tokens(cu_q[-1], 32), c.tokens(cu_d[-1], 32)
    qm, dm = c.mask(cu_q[-1], empty_rows=False), c.mask(cu_d[-1], empty_rows=False)
    cq, cd = cu_q.astype(offsets_dtype), cu_d.astype(offsets_dtype)
    got = colmax.maxsim_varlen(Q, D, cq, cd, q_mask=qm, d_mask=dm, mask_mode=mode)
    want, tol = ref.packed(Q, cu_q, D, cu_d, qm, dm, mode=mode)
    ref.assert_close(got, want, tol)

    pq = c.rng.integers(0, 4, size=9).astype(offsets_dtype)
    pd = c.rng.integers(0, 6, size=9).astype(offsets_dtype)
    got = colmax.maxsim_packed_pairs(Q, D, cq, cd, pq, pd, q_mask=qm, d_mask=dm,
                                     mask_mode=mode)
    want, tol = ref.packed(Q, cu_q, D, cu_d, qm, dm, pq, pd, mode=mode)
    ref.assert_close(got, want, tol)
    assert colmax.score_pairs_packed is colmax.maxsim_packed_pairs


def test_padded_lengths():
    c = ref.Cases(12)
    B, C, lq, ld, dim = 3, 2, 6, 11, 8
    Q, D = c.tokens(B, lq, dim), c.tokens(B, C, ld, dim)
    ql = np.array([6, 3, 0])
    dl = np.array([[11, 4], [0, 1], [7, 11]])
    Q[1, 3:] = np.nan  # past the length: never read
    D[0, 1, 4:] = np.nan
    got = colmax.maxsim_padded(Q, D, ql, dl)
    qm = np.arange(lq) < ql[:, None]
    dm = np.arange(ld) < dl[..., None]
    want, tol = ref.cross(Q, D, qm, dm)
    ref.assert_close(got, want, tol)
    with pytest.raises(ValueError, match="doc_lengths"):
        colmax.maxsim_padded(Q, D, ql, dl + 20, validate=True)


def test_single_sequences_drop_dimensions():
    c = ref.Cases(13)
    Q, D = c.tokens(3, 5, 8), c.tokens(4, 9, 8)
    full = colmax.maxsim(Q, D)
    np.testing.assert_allclose(colmax.maxsim(Q[1], D), full[1], rtol=1e-6)
    np.testing.assert_allclose(colmax.maxsim(Q, D[2]), full[:, 2], rtol=1e-6)
    one = colmax.maxsim(Q[1], D[2])
    assert one.shape == () and np.isclose(one, full[1, 2])


@pytest.mark.parametrize("dtype", ["float16", "float32"])
def test_dtypes_and_mixed_inputs(dtype):
    c = ref.Cases(14)
    Q, D = c.tokens(2, 7, 40).astype(dtype), c.tokens(3, 13, 40)
    got = colmax.maxsim(Q, D)
    assert got.dtype == np.float32
    want, tol = ref.cross(Q, D)
    ref.assert_close(got, want, tol, dtype)


@pytest.mark.parametrize("mask_dtype", [bool, np.uint8, np.int32, np.int64, np.float32])
def test_mask_dtypes(mask_dtype):
    c = ref.Cases(15)
    Q, D = c.tokens(2, 5, 8), c.tokens(3, 9, 8)
    qm, dm = c.mask(2, 5), c.mask(3, 9)
    got = colmax.maxsim(Q, D, qm.astype(mask_dtype), dm.astype(mask_dtype))
    np.testing.assert_array_equal(got, colmax.maxsim(Q, D, qm, dm))


def test_strided_and_read_only_views():
    c = ref.Cases(16)
    big_q, big_d = c.tokens(4, 10, 20), c.tokens(6, 30, 20)
    Q, D = big_q[::2, 1::3, :], big_d[1::2, ::2, :]  # strides on every dimension but the last
    Q.setflags(write=False)
    D.setflags(write=False)
    want, tol = ref.cross(Q, D)
    ref.assert_close(colmax.maxsim(Q, D), want, tol)


def test_nan_reaches_every_score_it_touches():
    c = ref.Cases(17)
    Q, D = c.tokens(2, 4, 8), c.tokens(3, 6, 8)
    D[1, 2, 5] = np.nan
    got = colmax.maxsim(Q, D)
    assert np.isnan(got[:, 1]).all() and not np.isnan(got[:, [0, 2]]).any()
    dm = np.ones((3, 6), bool)
    dm[1, 2] = False  # masked: never read
    assert not np.isnan(colmax.maxsim(Q, D, None, dm)).any()


def test_empty_batches_and_sequences():
    c = ref.Cases(18)
    assert colmax.maxsim(c.tokens(0, 4, 8), c.tokens(3, 5, 8)).shape == (0, 3)
    assert colmax.maxsim(c.tokens(2, 4, 8), c.tokens(0, 5, 8)).shape == (2, 0)
    np.testing.assert_array_equal(colmax.maxsim(c.tokens(2, 0, 8), c.tokens(3, 5, 8)), 0)
    np.testing.assert_array_equal(colmax.maxsim(c.tokens(2, 4, 8), c.tokens(3, 0, 8)), 0)
    assert colmax.maxsim_pairs(c.tokens(0, 4, 8), c.tokens(0, 5, 8)).shape == (0,)
    s, i = colmax.retrieve(c.tokens(2, 4, 8), c.tokens(0, 5, 8), 3)
    assert s.shape == i.shape == (2, 0)


def test_exclude_and_zero_differ_only_when_the_best_valid_similarity_is_negative():
    Q = np.array([[[1.0, 0.0]]], np.float32)
    D = np.array([[[-1.0, 0.0], [5.0, 0.0]]], np.float32)
    dm = np.array([[True, False]])
    assert colmax.maxsim(Q, D, None, dm, mask_mode="exclude")[0, 0] == -1.0
    assert colmax.maxsim(Q, D, None, dm, mask_mode="zero")[0, 0] == 0.0
    # A fully masked document scores 0 in both modes.
    for mode in MODES:
        assert colmax.maxsim(Q, D, None, np.zeros((1, 2), bool), mask_mode=mode)[0, 0] == 0


@pytest.mark.parametrize("k", [0, 1, 3, 50])
def test_retrieve_matches_sorted_scores(k):
    c = ref.Cases(19)
    Q, D = c.tokens(3, 5, 16), c.tokens(40, 12, 16)
    dm = c.mask(40, 12)
    scores, ids = colmax.retrieve(Q, D, k, None, dm, normalize=False)
    full = colmax.maxsim(Q, D, None, dm)
    n = min(k, 40)
    assert scores.shape == ids.shape == (3, n) and ids.dtype == np.int64
    order = np.argsort(-full, axis=1, kind="stable")[:, :n]
    np.testing.assert_array_equal(ids, order)
    np.testing.assert_array_equal(scores, np.take_along_axis(full, order, 1))


def test_retrieve_ties_nan_and_smallest():
    Q = np.ones((1, 1, 2), np.float32)
    D = np.array([[[1, 0]], [[2, 0]], [[1, 0]], [[np.nan, 0]], [[2, 0]]], np.float32)
    scores, ids = colmax.retrieve(Q, D, 5, normalize=False)
    np.testing.assert_array_equal(ids[0], [3, 1, 4, 0, 2])  # NaN first, ties to lower index
    s, i = colmax.retrieve(Q[0], D[:3], 2, normalize=False, largest=False)
    np.testing.assert_array_equal(i, [0, 2])
    np.testing.assert_array_equal(s, [1, 1])


def test_retrieve_normalizes_by_default_and_packed_corpus():
    c = ref.Cases(20)
    Q = c.tokens(2, 4, 8)
    cu_d = c.offsets(7, 1, 9)
    Dp = c.tokens(cu_d[-1], 8)
    s, i = colmax.retrieve_packed(Q, Dp, cu_d, 3)
    full = colmax.maxsim_varlen(Q.reshape(-1, 8), Dp, np.array([0, 4, 8]), cu_d,
                                normalize=True)
    order = np.argsort(-full, axis=1, kind="stable")[:, :3]
    np.testing.assert_array_equal(i, order)


def test_threads_do_not_change_results():
    c = ref.Cases(21)
    Q, D = c.tokens(3, 8, 64), c.tokens(50, 33, 64)
    runs = [colmax.maxsim(Q, D, num_threads=t) for t in (1, 2, 3)]
    for r in runs[1:]:
        np.testing.assert_array_equal(r, runs[0])


def test_reference_backend_agrees():
    c = ref.Cases(22)
    Q, D = c.tokens(2, 5, 12), c.tokens(4, 7, 12)
    np.testing.assert_allclose(colmax.maxsim(Q, D, backend="reference"), colmax.maxsim(Q, D),
                               rtol=1e-5)


@pytest.mark.parametrize("call, error, match", [
    (lambda Q, D: colmax.maxsim(Q.astype(np.int32), D), TypeError, "Q"),
    (lambda Q, D: colmax.maxsim(Q, D.astype(np.float64)), TypeError, "D"),
    (lambda Q, D: colmax.maxsim(Q[..., :4], D), ValueError, "embedding dimension"),
    (lambda Q, D: colmax.maxsim(Q[0, 0], D), ValueError, "rank 3"),
    (lambda Q, D: colmax.maxsim(Q, D, np.ones((2, 9), bool)), ValueError, "q_mask"),
    (lambda Q, D: colmax.maxsim(Q, D, mask_mode="max"), ValueError, "mask_mode"),
    (lambda Q, D: colmax.maxsim(Q, D, fp32_precision="fp8"), ValueError, "fp32_precision"),
    (lambda Q, D: colmax.maxsim(Q, D, num_threads=-1), ValueError, "num_threads"),
    (lambda Q, D: colmax.maxsim(Q, D, backward="sometimes"), ValueError, "backward"),
    (lambda Q, D: colmax.maxsim(Q, D, backend="cuda"), ValueError, "CUDA"),
    (lambda Q, D: colmax.maxsim([[[1.0]]], D), TypeError, "list"),
    (lambda Q, D: colmax.maxsim(Q[..., ::2], D[..., ::2]), ValueError, "contiguous"),
    (lambda Q, D: colmax.retrieve(Q, D, -1), ValueError, "k"),
    (lambda Q, D: colmax.maxsim_pairs(Q, D), ValueError, "as many documents"),
])
def test_errors_name_the_problem(call, error, match):
    c = ref.Cases(23)
    Q, D = c.tokens(2, 5, 8), c.tokens(3, 7, 8)
    with pytest.raises(error, match=match):
        call(Q, D)


def test_runtime_information():
    assert colmax.__version__.count(".") == 2
    assert isinstance(colmax.cpu_simd_level(), str)
    assert isinstance(colmax.cuda_devices(), list)
    before = colmax.get_num_threads()
    colmax.set_num_threads(1)
    assert colmax.get_num_threads() == 1
    colmax.set_num_threads(0)
    assert colmax.get_num_threads() == before or before >= 1


def test_many_random_cases_every_option():
    """A small sweep over shape classes, both modes, normalize, holes and fully masked rows."""
    c = ref.Cases(24)
    for mode, normalize, dim in itertools.product(MODES, [False, True], [1, 7, 64]):
        nq, nd, lq, ld = (int(x) for x in c.rng.integers(1, 6, size=4))
        Q, D = c.tokens(nq, lq, dim), c.tokens(nd, ld * 9, dim)
        qm, dm = c.mask(nq, lq), c.mask(nd, ld * 9)
        want, tol = ref.cross(Q, D, qm, dm, mode=mode, normalize=normalize)
        ref.assert_close(colmax.maxsim(Q, D, qm, dm, mask_mode=mode, normalize=normalize),
                         want, tol)
