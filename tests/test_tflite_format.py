"""tinyq's description of the TFLite format (tinyq/tflite/format.py) against the schema module the
pinned tflite-micro generates with flatc: every enum member, every described field's slot, type and
default, the slots left out, and every test model read and written byte for byte as flatc's module
does. Without tflite-micro these tests skip (tinyq itself reads and writes .tflite files without it)."""

from __future__ import annotations

from pathlib import Path

import flatbuffers
import numpy as np
import pytest

from tinyq.tflite.flatbuf import SCALARS
from tinyq.tflite.reader import read_model
from tinyq.tflite.schema import fb
from tinyq.tflite.writer import write_model

tflm = pytest.importorskip("tflite_micro.tensorflow.lite.micro.python.schema_py_generated",
                           reason="tflite-micro is not installed (its schema module is the reference)")

SHARED = Path(__file__).resolve().parents[2] / "shared" / "models"
MODELS = sorted(SHARED.glob("**/*.tflite")) if SHARED.is_dir() else []
# Fields tinyq leaves out (`-` in format.py): TFLM's objects carry them, tinyq's do not.
SKIPPED = {"ModelT": ("signatureDefs", "externalBufferGroups", "externalBuffers"),
           "TensorT": ("sparsity", "variantTensors"),
           "QuantizationParametersT": ("details",)}


class Recorder:
    """A stand-in builder that records the one call a generated `<Table>Add<Field>` makes."""

    def __init__(self):
        self.calls = []

    def __getattr__(self, name):
        def record(*args):
            self.calls.append((name, args))
            return 0
        return record


def _tflm_slots(table: str) -> tuple[int, dict[int, tuple[str, tuple]]]:
    """(slot count, {slot: (builder method, args)}) of TFLM's generated table `table`."""
    rec = Recorder()
    getattr(tflm, table + "Start")(rec)
    count = rec.calls[0][1][0]
    slots = {}
    for name in dir(tflm):
        if name.startswith(table + "Add"):
            rec = Recorder()
            getattr(tflm, name)(rec, 7)
            (method, args), = rec.calls
            slots[args[0]] = (name[len(table) + 3:], method, args)
    return count, slots


def test_enums_and_unions_match_tflm():
    for name, members in fb.enums.items():
        theirs = {k: v for k, v in vars(getattr(tflm, name)).items() if not k.startswith("_")}
        assert theirs == {m: i for i, m in enumerate(members)}, name
    for name, members in fb.unions.items():
        theirs = {k: v for k, v in vars(getattr(tflm, name)).items() if not k.startswith("_")}
        assert theirs == {"NONE": 0, **{m: i + 1 for i, m in enumerate(members)}}, name


@pytest.mark.parametrize("table", sorted(fb.tables))
def test_every_field_matches_tflm(table):
    definition = fb.tables[table]
    count, theirs = _tflm_slots(table)
    assert definition.slots <= count, f"{table}: tinyq describes {definition.slots} slots, TFLM has {count}"
    described = {f.slot: f for f in definition.fields}
    for slot, (attr, method, args) in sorted(theirs.items()):
        if slot not in described:
            # a slot tinyq leaves out must be one it says it leaves out
            assert attr[:1].lower() + attr[1:] in SKIPPED.get(table + "T", ()) or \
                attr[:1].lower() + attr[1:-4] in SKIPPED.get(table + "T", ()), \
                f"{table}.{attr} (slot {slot}) is in TFLM's schema but not in tinyq/tflite/format.py"
            continue
        f = described[slot]
        assert f.attr[:1].upper() + f.attr[1:] == attr, (table, slot)
        if method == "PrependUOffsetTRelativeSlot":
            assert f.kind in ("string", "table", "union", "vector"), (table, attr)
        else:
            assert method == f"Prepend{SCALARS[f.type][1]}Slot", (table, attr, method, f.type)
            assert args[2] == f.default, (table, attr, args[2], f.default)
    assert set(described) <= set(theirs), f"{table}: slots TFLM's schema does not have"


def test_every_builtin_options_table_is_described():
    """A new options table in TFLM's schema (a new op) must be added to format.py with its fields."""
    for member in fb.unions["BuiltinOptions"] + fb.unions["BuiltinOptions2"]:
        count, _ = _tflm_slots(member)
        assert fb.tables[member].slots == count, f"{member}: TFLM's has {count} slots"


def _without_skipped(obj):
    for name, attrs in SKIPPED.items():
        if type(obj).__name__ == name:
            for attr in attrs:
                setattr(obj, attr, None)
                if hasattr(obj, attr + "Type"):
                    setattr(obj, attr + "Type", 0)
    for value in vars(obj).values():
        for item in value if isinstance(value, list) else [value]:
            if hasattr(item, "Pack"):
                _without_skipped(item)
    return obj


def _packed(obj) -> bytes:
    builder = flatbuffers.Builder(1024)
    builder.Finish(obj.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


@pytest.mark.skipif(not MODELS, reason="../shared/models is absent")
def test_models_unpack_and_pack_as_tflm_does():
    for path in MODELS:
        data = path.read_bytes()
        ours = _packed(fb.ModelT.InitFromPackedBuf(data, 0))
        theirs = _packed(_without_skipped(tflm.ModelT.InitFromPackedBuf(data, 0)))
        assert ours == theirs, path.name


@pytest.mark.skipif(not MODELS, reason="../shared/models is absent")
def test_tinyq_files_read_back_by_tflm_schema():
    """What tinyq writes, TFLM's schema module reads as the same graph."""
    checked = 0
    for path in MODELS[:40]:
        try:
            graph = read_model(path.read_bytes(), where=path.name)
        except Exception:  # models tinyq refuses are the reader's tests' business
            continue
        model = tflm.ModelT.InitFromPackedBuf(write_model(graph), 0)
        tensors = model.subgraphs[0].tensors
        assert [list(t.shape) if t.shape is not None else [] for t in tensors] == \
            [list(t.shape) for t in graph.tensors], path.name
        for t, ours in zip(tensors, graph.tensors):
            if ours.data is not None:
                raw = model.buffers[t.buffer].data
                assert raw is not None and len(raw) > 0, (path.name, ours.name)
        checked += 1
    assert checked > 10


def test_object_api_defaults_and_vectors():
    op = fb.OperatorT()
    assert op.debugMetadataIndex == -1 and op.builtinOptions is None and op.inputs is None
    assert fb.OperatorCodeT().version == 1 and fb.AddOptionsT().potScaleInt16 is True
    assert fb.UniqueOptionsT().idxOutType == fb.TensorType.INT32
    op.inputs = [1, 2]
    op.builtinOptionsType = fb.BuiltinOptions.AddOptions
    op.builtinOptions = fb.AddOptionsT(fusedActivationFunction=fb.ActivationFunctionType.RELU)
    builder = flatbuffers.Builder(64)
    builder.Finish(op.Pack(builder))
    back = fb.OperatorT.InitFromPackedBuf(bytes(builder.Output()))
    assert isinstance(back.inputs, np.ndarray) and back.inputs.tolist() == [1, 2]
    assert back.builtinOptions.fusedActivationFunction == fb.ActivationFunctionType.RELU
    assert back.builtinOptions.potScaleInt16 is True
