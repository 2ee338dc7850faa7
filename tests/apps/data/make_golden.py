#!/usr/bin/env python3
"""Writes the golden .npy files the command-line tests read, with NumPy's own writer.

Each array holds arange(n) (cast to its dtype) in the shape its name gives, so the tests
know the expected values without reading NumPy. Run from this folder: python3 make_golden.py
"""
import numpy as np
from numpy.lib import format as npf


def save(name, a, version=None):
    with open(name, "wb") as f:
        npf.write_array(f, a, version=version, allow_pickle=False)


def ar(shape, dtype):
    return np.arange(int(np.prod(shape)), dtype=np.int64).reshape(shape).astype(dtype)


save("f4_2x3.npy", ar((2, 3), "<f4"))
save("f4_fortran_2x3x4.npy", np.asfortranarray(ar((2, 3, 4), "<f4")))
save("f8_bigendian_3x2.npy", ar((3, 2), ">f8"))
save("i4_bigendian_5.npy", ar((5,), ">i4"))
save("f2_2x2x2.npy", ar((2, 2, 2), "<f2"))
save("u2_4x3.npy", ar((4, 3), "<u2"))
save("v2_3.npy", ar((3,), "<u2").view("V2"))
save("b1_2x3.npy", (ar((2, 3), "<i8") % 2).astype("?"))
save("u1_6.npy", ar((6,), "u1"))
save("i8_2x2.npy", ar((2, 2), "<i8"))
save("f4_scalar.npy", np.array(7.0, dtype="<f4"))
save("f4_0x3.npy", np.zeros((0, 3), dtype="<f4"))
save("f4_v2_2x3.npy", ar((2, 3), "<f4"), version=(2, 0))
save("f4_v3_2x3.npy", ar((2, 3), "<f4"), version=(3, 0))
save("c8_2.npy", ar((2,), "<c8"))
save("structured_2.npy", np.zeros(2, dtype=[("a", "<f4"), ("b", "<i4")]))
np.savez("archive.npz", a=ar((2,), "<f4"))
