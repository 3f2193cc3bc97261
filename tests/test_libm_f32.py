"""tinyq.libm_f32 against the host's C library, function by function, when that library is the
glibc whose algorithms it models (2.27 for expf's; before 2.41, which replaced erfcf, tanhf and
expm1f with correctly rounded code): random float32 bit patterns, dense samples where the
functions' branches meet, and the inputs the lookup-table tests use."""

import ctypes
import ctypes.util
import platform

import numpy as np
import pytest

from tinyq import libm_f32

FUNCTIONS = ("expf", "expm1f", "tanhf", "erfcf")


def _glibc_version() -> tuple[int, int] | None:
    name, version = platform.libc_ver()
    if platform.system() != "Linux" or name != "glibc" or not version:
        return None
    major, minor = version.split(".")[:2]
    return int(major), int(minor)


@pytest.fixture(scope="module")
def libm():
    version = _glibc_version()
    if version is None or version < (2, 27):
        pytest.skip(f"the models are glibc's (2.27 and later); this host's C library is {platform.libc_ver()}")
    lib = ctypes.CDLL(ctypes.util.find_library("m"))
    for name in FUNCTIONS:
        getattr(lib, name).restype, getattr(lib, name).argtypes = ctypes.c_float, [ctypes.c_float]
    return lib, version


def _inputs(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    every_bit_pattern = rng.integers(0, 2**32, size=150_000, dtype=np.uint64).astype(np.uint32).view(np.float32)
    dense = rng.uniform(-30, 30, size=150_000).astype(np.float32)
    # the branches' edges: 0.5 ln2, 1.5 ln2, 27 ln2 (expm1f); 2^-55, 1, 22 (tanhf); 0.84375, 1.25, 1/0.35, 6, 28
    edges = np.array([0.3465736, 1.0397208, 18.714973, 2.0**-55, 2.0**-25, 0.25, 0.84375, 1.0, 1.25, 2.857143,
                      6.0, 22.0, 28.0, 44.0, 88.72168, 88.7228], dtype=np.float32)
    near = np.concatenate([edges.view(np.uint32)[:, None] + np.arange(-300, 300)]).astype(np.uint32).view(np.float32)
    near = np.concatenate([near.ravel(), -near.ravel()])
    return np.concatenate([every_bit_pattern, dense, near, np.array([0.0, -0.0, np.inf, -np.inf], np.float32)])


@pytest.mark.parametrize("name", FUNCTIONS)
def test_equal_to_the_c_library(libm, name):
    lib, version = libm
    if name != "expf" and version >= (2, 41):
        pytest.skip(f"glibc {version[0]}.{version[1]} computes {name} with CORE-MATH, not fdlibm")
    x = _inputs(seed=len(name))
    x = x[~np.isnan(x)]
    if name == "expf":  # the FMA build of glibc's expf differs at two inputs (tinyq/libm_f32.py)
        x = x[(x > -63) & (x < 32)]
    ours = getattr(libm_f32, name)(x)
    c_function = getattr(lib, name)
    theirs = np.array([c_function(float(v)) for v in x], dtype=np.float32)
    differ = np.nonzero(ours.view(np.uint32) != theirs.view(np.uint32))[0]
    assert differ.size == 0, [(float(x[i]).hex(), float(ours[i]).hex(), float(theirs[i]).hex()) for i in differ[:5]]


def test_special_values():
    assert libm_f32.expf(np.float32(-200.0)) == 0 and np.isinf(libm_f32.expf(np.float32(100.0)))
    assert libm_f32.expm1f(np.float32(-50.0)) == -1 and libm_f32.expm1f(np.float32(0.0)) == 0
    assert libm_f32.tanhf(np.float32(-30.0)) == -1 and libm_f32.erfcf(np.float32(-30.0)) == 2
    assert all(np.isnan(f(np.float32(np.nan))) for f in (libm_f32.expf, libm_f32.expm1f, libm_f32.tanhf,
                                                            libm_f32.erfcf))
