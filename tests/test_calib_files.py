"""Calibration files as users really have them: cut short, empty, damaged, pickled, of the wrong kind.
Each must end as one line `tinyq: error: <file>: <what is wrong> (<hint>)`, exit 2, through the real
command line, and nothing written; good files in every .npy flavour must load exactly as np.load does."""

import io
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from tinyq.cli import main
from tinyq.ir import Graph
from tinyq.quantize.data import load_calibration
from tinyq.quantize.prepare import prepare_float_graph
from tinyq.tflite.builder import GraphBuilder
from tinyq.tflite.writer import write_model

SAMPLES = np.random.default_rng(3).normal(size=(16, 4)).astype(np.float32)


def float_model(input_name: str = "features") -> Graph:
    rng = np.random.default_rng(8)
    b = GraphBuilder("mlp")
    x = b.input((1, 4), "float32", name=input_name)
    w = b.const(rng.normal(size=(3, 4)).astype(np.float32))
    y = b.activation((1, 3), "float32")
    b.op("fully_connected", [x, w, b.const(np.zeros(3, np.float32))], [y], fused_activation_function="RELU")
    return b.build([y])


@pytest.fixture
def model(tmp_path):
    path = tmp_path / "mlp.tflite"
    path.write_bytes(write_model(float_model()))
    return path


def npy_bytes(array, **kw) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array, **kw)
    return buf.getvalue()


def npz_bytes(compress: bool = False, **arrays) -> bytes:
    buf = io.BytesIO()
    (np.savez_compressed if compress else np.savez)(buf, **arrays)
    return buf.getvalue()


def quantize_error(tmp_path, model, calib, capsys) -> str:
    """Run `tinyq quantize` and return its one error line; asserts exit 2 and nothing written."""
    out = tmp_path / "out" / "q.tflite"
    with pytest.raises(SystemExit) as exc:
        main(["quantize", str(model), "--calib", str(calib), "-o", str(out)])
    err = capsys.readouterr().err
    assert exc.value.code == 2, err
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert err.startswith("tinyq: error: ") and "Traceback" not in err
    assert not out.parent.exists()
    return err


def valid_npy() -> bytes:
    return npy_bytes(SAMPLES)


def valid_npz(compress=False) -> bytes:
    return npz_bytes(compress, features=SAMPLES)


def flip_in_data(data: bytes) -> bytes:
    """A compressed .npz with bytes of its first member's deflate stream damaged."""
    damaged = bytearray(data)
    for i in range(60, 90):
        damaged[i] ^= 0x5A
    return bytes(damaged)


BAD_FILES = [
    ("empty.npy", lambda: b"", "the file is empty (0 bytes)"),
    ("cut.npy", lambda: valid_npy()[:200], "the file is truncated: its header announces 16 x 4 float32 values (256 B)"),
    ("cut-header.npy", lambda: valid_npy()[:40], "truncated or damaged .npy header"),
    ("magic-only.npy", lambda: valid_npy()[:7], "truncated or in an unknown .npy format version"),
    ("text.npy", lambda: b"0.1, 0.2, 0.3\n" * 20, "is not a NumPy .npy array"),
    ("zip.npy", lambda: valid_npz(), "is an .npz archive, not a .npy array"),
    ("objects.npy", lambda: npy_bytes(np.array([{"a": 1}] * 16, dtype=object), allow_pickle=True),
     "holds Python objects (pickled), not numbers"),
    ("pickle.npy", lambda: __import__("pickle").dumps(SAMPLES), "is not a NumPy .npy array"),
    ("empty.npz", lambda: b"", "the file is empty (0 bytes)"),
    ("cut.npz", lambda: valid_npz()[:300], "the file is truncated or not an .npz (zip) archive"),
    ("damaged.npz", lambda: flip_in_data(valid_npz(compress=True)), "array 'features' is damaged"),
    ("objects.npz", lambda: npz_bytes(features=np.array([{"a": 1}] * 16, dtype=object)),
     "array 'features' holds Python objects (pickled), not numbers"),
    ("cut-member.npz", lambda: _npz_with_member(valid_npy()[:150]), "array 'features' is truncated"),
    ("no-arrays.npz", lambda: _zip({"readme.txt": b"hello"}), "holds readme.txt, which is not a .npy array"),
    ("complex.npy", lambda: npy_bytes(SAMPLES.astype(np.complex64)), "is complex64, the model takes float32"),
    ("bool.npy", lambda: npy_bytes(SAMPLES > 0), "is bool, the model takes float32"),
    ("ints.npy", lambda: npy_bytes(np.zeros((16, 4), np.int8)), "is int8, the model takes float32"),
    ("record.npy", lambda: npy_bytes(np.zeros(16, dtype=[("a", "f4"), ("b", "f4")])), "the model takes float32"),
    ("scalar.npy", lambda: npy_bytes(np.float32(1.0)), "is a single value; the model wants N x (4,)"),
    ("shape.npy", lambda: npy_bytes(np.zeros((16, 5), np.float32)), "has shape (16, 5); the model wants N x (4,)"),
    ("nan.npy", lambda: npy_bytes(np.full((16, 4), np.inf, np.float32)), "holds 64 NaN/Inf value(s)"),
    ("few.npy", lambda: npy_bytes(SAMPLES[:2]), "only 2 calibration sample(s)"),
]


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _npz_with_member(npy: bytes) -> bytes:
    return _zip({"features.npy": npy})


@pytest.mark.parametrize("name, make, message", BAD_FILES, ids=[f[0] for f in BAD_FILES])
def test_bad_calibration_file_is_one_line_naming_it(tmp_path, model, capsys, name, make, message):
    calib = tmp_path / name
    calib.write_bytes(make())
    err = quantize_error(tmp_path, model, calib, capsys)
    assert f"{calib}: " in err and message in err, err


def test_bad_file_in_a_folder_names_that_file(tmp_path, model, capsys):
    folder = tmp_path / "calib"
    folder.mkdir()
    for i in range(10):
        np.save(folder / f"{i:02d}.npy", SAMPLES[i])
    (folder / "05.npy").write_bytes(b"")  # one empty file among good ones
    err = quantize_error(tmp_path, model, folder, capsys)
    assert f"{folder / '05.npy'}: the file is empty" in err, err


def test_missing_calibration_file(tmp_path, model, capsys):
    err = quantize_error(tmp_path, model, tmp_path / "nope.npy", capsys)
    assert "nope.npy: no such file or folder" in err, err


def test_an_empty_npy_is_an_error_not_an_interrupt(tmp_path, model):
    """numpy raises EOFError on a 0-byte file, which click used to turn into 'interrupted' (exit 130)."""
    calib = tmp_path / "empty.npy"
    calib.write_bytes(b"")
    run = subprocess.run([sys.executable, "-m", "tinyq", "quantize", str(model), "--calib", str(calib), "-o",
                          str(tmp_path / "q.tflite")], capture_output=True, text=True)
    assert run.returncode == 2 and "interrupted" not in run.stderr
    assert run.stderr.strip() == (f"tinyq: error: {calib}: the file is empty (0 bytes) "
                                  "(write it with np.save(path, x), x an array of numbers)")


@pytest.mark.parametrize("variant", ["plain", "fortran", "big-endian", "version-2", "float64", "npz",
                                     "npz-compressed", "folder"])
def test_good_files_load_exactly_as_numpy_does(tmp_path, variant):
    graph = prepare_float_graph(float_model())
    data = SAMPLES.astype(np.float64) if variant == "float64" else SAMPLES
    path = tmp_path / ("calib.npz" if variant.startswith("npz") else "calib.npy")
    if variant == "fortran":
        data = np.asfortranarray(data)
    if variant == "big-endian":
        data = data.astype(">f4")
    if variant == "version-2":
        buf = io.BytesIO()
        np.lib.format.write_array(buf, data, version=(2, 0))
        path.write_bytes(buf.getvalue())
    elif variant.startswith("npz"):
        path.write_bytes(npz_bytes(variant == "npz-compressed", features=data))
    elif variant == "folder":
        path = tmp_path / "calib"
        path.mkdir()
        for i, sample in enumerate(data):
            np.save(path / f"{i:03d}.npy", sample)
    else:
        np.save(path, data)
    loaded = load_calibration(path, graph).arrays[0]
    assert loaded.dtype == np.float32 and loaded.shape == SAMPLES.shape
    assert np.array_equal(loaded, np.asarray(data, np.float32))
    if variant in ("plain", "fortran", "big-endian", "version-2", "float64"):
        assert np.array_equal(loaded, np.load(path).astype(np.float32))


def test_compare_uses_the_same_checks(tmp_path, model, capsys):
    calib = tmp_path / "cut.npz"
    calib.write_bytes(valid_npz()[:300])
    with pytest.raises(SystemExit) as exc:
        main(["inspect", "--compare", str(model), str(model), "--calib", str(calib)])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and err.count("\n") == 1
    assert f"{calib}: the file is truncated or not an .npz (zip) archive" in err, err
