"""colmax on JAX arrays, on the CPU and (where JAX sees one) the GPU: every layout against
the float64 reference, outputs that are JAX arrays on the inputs' device, retrieve."""

import os

# JAX would otherwise take most of the GPU's memory at import, starving the other tests.
os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

jax = pytest.importorskip("jax")
jnp = jax.numpy

import colmax  # noqa: E402
import reference as ref  # noqa: E402


def platforms():
    found = ["cpu"]
    try:
        if jax.devices("gpu") and colmax.cuda_built() and colmax.cuda_devices():
            found.append("gpu")
    except RuntimeError:
        pass
    return found


def put(x, platform):
    return None if x is None else jax.device_put(np.asarray(x), jax.devices(platform)[0])


def same_place(got, platform):
    assert isinstance(got, jax.Array)
    want = {"cpu"} if platform == "cpu" else {"gpu", "cuda"}
    assert {d.platform for d in got.devices()} <= want


@pytest.mark.parametrize("platform", platforms())
@pytest.mark.parametrize("normalize", [False, True])
def test_cross_product(platform, normalize):
    c = ref.Cases(7)
    Q, D = c.tokens(3, 9, 64), c.tokens(5, 40, 64)
    qm, dm = c.mask(3, 9), c.mask(5, 40)
    got = colmax.maxsim(put(Q, platform), put(D, platform), put(qm, platform), put(dm, platform),
                        normalize=normalize)
    same_place(got, platform)
    want, tol = ref.cross(Q, D, qm, dm, normalize=normalize)
    ref.assert_close(np.asarray(got), want, tol)


@pytest.mark.parametrize("platform", platforms())
def test_bf16_pairs_and_packed(platform):
    c = ref.Cases(8)
    Q, D = c.tokens(4, 32, 128), c.tokens(4, 300, 128)
    Qb, Db = (put(x, platform).astype(jnp.bfloat16) for x in (Q, D))
    got = colmax.maxsim_pairs(Qb, Db)
    same_place(got, platform)
    want, tol = ref.pairs(np.asarray(Qb.astype(jnp.float32)), np.asarray(Db.astype(jnp.float32)))
    ref.assert_close(np.asarray(got), want, tol, "bfloat16")

    cu_q, cu_d = c.offsets(3, 1, 20), c.offsets(4, 0, 50)
    Qp, Dp = c.tokens(int(cu_q[-1]), 48), c.tokens(int(cu_d[-1]), 48)
    got = colmax.maxsim_varlen(put(Qp, platform), put(Dp, platform), put(cu_q, platform),
                               put(cu_d, platform))
    same_place(got, platform)
    want, tol = ref.packed(Qp, cu_q, Dp, cu_d)
    ref.assert_close(np.asarray(got), want, tol)


@pytest.mark.parametrize("platform", platforms())
def test_retrieve(platform):
    c = ref.Cases(9)
    Q, D = c.tokens(2, 8, 32), c.tokens(30, 20, 32)
    scores, indices = colmax.retrieve(put(Q, platform), put(D, platform), 5, normalize=False)
    same_place(scores, platform)
    same_place(indices, platform)
    want, tol = ref.cross(Q, D)
    order = np.argsort(-want, axis=1, kind="stable")[:, :5]
    np.testing.assert_array_equal(np.asarray(indices), order)
    ref.assert_close(np.asarray(scores), np.take_along_axis(want, order, 1),
                     np.take_along_axis(tol, order, 1))


def test_many_calls_reuse_no_stale_memory():
    """Device outputs are fresh per call and owned by JAX (freed with the array)."""
    if "gpu" not in platforms():
        pytest.skip("no GPU for JAX")
    c = ref.Cases(10)
    Q, D = put(c.tokens(2, 8, 32), "gpu"), put(c.tokens(6, 20, 32), "gpu")
    first = colmax.maxsim(Q, D)
    for _ in range(50):
        again = colmax.maxsim(Q * 2, D)
    np.testing.assert_allclose(np.asarray(again), 2 * np.asarray(first), rtol=1e-5)
