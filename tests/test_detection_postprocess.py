"""TFLite_Detection_PostProcess against TFLM: regular and fast NMS over the options of its flexbuffer
(background class or not, several classes per detection, wide box encodings, thresholds, scales,
defaults and the flexbuffer's number conversions), ties and NaN scores, merge-sort sizes, anchors
in flash or in the arena, boxes TFLM rejects, the refusals; glibc's exp and the emulated fused
multiply-add the kernel computes it with; one merged graph on qemu-m55 and ARMv6-M."""

from __future__ import annotations

import ctypes
import subprocess
import zlib
from pathlib import Path

import numpy as np
import pytest
from flatbuffers import flexbuffers

from chosen_inputs import assert_invoke_fails, host_run
from conftest import assert_bit_exact, assert_bit_exact_on_targets
from tinyq.boards import get_board
from tinyq.driver import compile_graph
from tinyq.errors import TinyqError
from tinyq.golden import tflm_run
from tinyq.lower import support_report
from tinyq.ops.base import CustomOptions
from tinyq.ops.detection_postprocess import glibc_exp_table
from tinyq.tflite.builder import GraphBuilder

OP = "custom:TFLite_Detection_PostProcess"
KERNELS = Path(__file__).resolve().parent.parent / "templates" / "reference" / "kernels"
BASE = dict(max_detections=5, max_classes_per_detection=1, detections_per_class=3, use_regular_nms=False,
            nms_score_threshold=0.0, nms_iou_threshold=0.5, num_classes=3, y_scale=10.0, x_scale=10.0,
            h_scale=5.0, w_scale=5.0)


def _rng(name: str) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(name.encode()))


def anchors_for(num_boxes: int, seed: str = "anchors") -> np.ndarray:
    """Centers in [0, 1], heights and widths in [0.05, 0.5]: every decoded box is valid."""
    rng = _rng(seed)
    centers = rng.uniform(0.0, 1.0, (num_boxes, 2))
    sizes = rng.uniform(0.05, 0.5, (num_boxes, 2))
    return np.concatenate([centers, sizes], axis=1).astype(np.float32)


def entries(options: dict) -> int:
    """How many detections TFLM may write (fast NMS: categories^2 * max_detections)."""
    if options.get("use_regular_nms"):
        return options["max_detections"]
    categories = min(options["max_classes_per_detection"], options["num_classes"])
    return categories * categories * options["max_detections"]


def detection_graph(num_boxes=12, background=True, box_stride=4, anchors="const", flex=None, dtype="float32",
                    out=None, out_dtype="float32", anchor_values=None, n_outputs=4, **overrides):
    """One post-process op; `flex` replaces the options' flexbuffer bytes, `overrides` edit BASE
    (a value of None drops the key)."""
    options = {k: v for k, v in {**BASE, **overrides}.items() if v is not None}
    nc = int(options.get("num_classes", 0))
    b = GraphBuilder("detect")
    q = dict(scale=0.05, zero_point=0) if dtype == "int8" else {}
    boxes = b.input((1, num_boxes, box_stride), dtype, **q)
    scores = b.input((1, num_boxes, nc + (1 if background else 0)), dtype, **q)
    values = anchors_for(num_boxes) if anchor_values is None else anchor_values
    a = b.const(values) if anchors == "const" else b.input(values.shape, "float32")
    n = out if out is not None else entries({**BASE, **overrides})
    outs = [b.activation((1, n, 4), out_dtype), b.activation((1, n), out_dtype), b.activation((1, n), out_dtype),
            b.activation((1,), out_dtype)][:n_outputs]
    data = bytes(flexbuffers.Dumps(options)) if flex is None else flex
    b.op(OP, [boxes, scores, a], outs, options=CustomOptions(data))
    return b.build(outputs=outs)


def records(graph, n: int, seed: str, scores=None, boxes=None, anchors=None):
    """Box encodings ~ N(0, 1), scores uniform in [0, 1] (or drawn by `scores(rng, shape)`)."""
    rng = _rng(seed)
    shapes = [graph.tensors[t].shape for t in graph.inputs]
    result = []
    for _ in range(n):
        record = [(boxes or (lambda r, s: r.normal(0.0, 1.0, s)))(rng, shapes[0]).astype(np.float32),
                  (scores or (lambda r, s: r.uniform(0.0, 1.0, s)))(rng, shapes[1]).astype(np.float32)]
        if len(shapes) == 3:
            record.append(anchors_for(shapes[2][0], seed) if anchors is None else anchors)
        result.append(record)
    return result


def written(options: dict, count: float, size: int) -> np.ndarray:
    """Which detection entries TFLM wrote, given its num_detections: all of them with regular NMS;
    with fast NMS entry c of the k-th written entry at categories * k + c, the rest left as they were
    (in TFLM's arena that is whatever it held: not comparable)."""
    mask = np.zeros(size, dtype=bool)
    if options.get("use_regular_nms"):
        mask[:] = True
        return mask
    categories = min(options["max_classes_per_detection"], options["num_classes"])
    k = np.arange(int(count))
    mask[categories * k + k % categories] = True
    return mask


def assert_detections_match(graph, recs, options: dict) -> None:
    """The generated code and TFLM agree byte for byte on every record: num_detections, and every
    entry TFLM wrote."""
    compiled, ours = host_run(graph, recs)
    golden = tflm_run(compiled.model, recs)
    for r, (mine, theirs) in enumerate(zip(ours, golden)):
        boxes, classes, scores, count = (np.ascontiguousarray(a) for a in mine)
        want = [np.ascontiguousarray(b).reshape(a.shape) for a, b in zip(mine, theirs)]
        assert count.tobytes() == want[3].tobytes(), f"record {r}: num_detections {count} TFLM {want[3]}"
        mask = written(options, float(want[3][0]), classes.size)
        for name, a, b in (("boxes", boxes.reshape(-1, 4), want[0].reshape(-1, 4)),
                           ("classes", classes.reshape(-1), want[1].reshape(-1)),
                           ("scores", scores.reshape(-1), want[2].reshape(-1))):
            assert a[mask].tobytes() == b[mask].tobytes(), \
                f"record {r}, {name}: ours {a[mask][:8].tolist()} TFLM {b[mask][:8].tolist()}"


def check(recs_seed: str, n: int = 24, **kwargs) -> None:
    """A one-op graph over `kwargs` (detection_graph's), compared on `n` records."""
    graph = detection_graph(**kwargs)
    options = {**BASE, **{k: v for k, v in kwargs.items() if k in BASE}}
    assert_detections_match(graph, records(graph, n, recs_seed), options)


# --- bit-exact over the options --------------------------------------------------------------------

@pytest.mark.parametrize("regular", [False, True])
@pytest.mark.parametrize("case", [
    dict(),
    dict(background=False),
    dict(box_stride=6),
    dict(num_boxes=1, max_detections=1),
    dict(num_boxes=64, max_detections=10, detections_per_class=None),  # merge sort; 100 per class by default
    dict(num_boxes=300, max_detections=20, nms_iou_threshold=0.3),
    dict(max_detections=20),  # more outputs than boxes
    dict(nms_iou_threshold=1.0),
    dict(nms_iou_threshold=0.01),
    dict(nms_score_threshold=0.7),
    dict(nms_score_threshold=-5.0),
    dict(num_classes=1, background=False),
    dict(y_scale=1.0, x_scale=2.5, h_scale=0.7, w_scale=-3.0),
    dict(detections_per_class=1),
])
def test_random_records(case, regular):
    check(f"{case}{regular}", use_regular_nms=regular, **case)


@pytest.mark.parametrize("case", [
    dict(max_classes_per_detection=2),
    dict(max_classes_per_detection=3, max_detections=2),
    dict(max_classes_per_detection=7, num_boxes=30),  # more than num_classes: all of them
])
def test_fast_nms_several_classes_per_detection(case):
    """TFLM writes entry c of the k-th written entry at categories * k + c."""
    check(str(case), **case)


@pytest.mark.parametrize("regular", [False, True])
def test_verify_records(regular):
    """verify's own records (uniform in [-1, 1]) through the generated code's normal path."""
    assert_bit_exact(detection_graph(num_boxes=40, use_regular_nms=regular), n_inputs=30)


@pytest.mark.parametrize("regular", [False, True])
def test_ties_break_as_tflm(regular):
    """Scores from a few values (and boxes from a few encodings): the sort orders and NMS ties decide."""
    options = dict(num_boxes=48, max_detections=12, detections_per_class=6, use_regular_nms=regular,
                   nms_score_threshold=0.5)
    graph = detection_graph(**options)
    recs = records(graph, 30, f"ties{regular}", scores=lambda r, s: r.choice([0.25, 0.5, 0.5, 0.75, 1.0], s),
                   boxes=lambda r, s: r.choice([-0.5, 0.0, 0.5], s))
    assert_detections_match(graph, recs, {**BASE, **options})


@pytest.mark.parametrize("regular", [False, True])
def test_special_values(regular):
    """NaN and infinite scores, scores equal to the threshold, NaN box centers (comparisons with NaN
    are false: TFLM keeps such boxes), heights and widths whose exp is large, past 2^512 (glibc's
    overflow path) or infinite (valid boxes of infinite size)."""
    options = dict(num_boxes=16, max_detections=6, max_classes_per_detection=2, use_regular_nms=regular,
                   nms_score_threshold=0.5)
    graph = detection_graph(**options)
    special = np.array([np.nan, np.inf, -np.inf, 0.5, 0.5, 1.0, -0.0, 0.0, 3e38], dtype=np.float32)

    def scores(r, s):
        return np.where(r.random(s) < 0.4, r.choice(special, s), r.uniform(0.0, 1.0, s))

    def boxes(r, s):
        b = r.normal(0.0, 1.0, s)
        b[..., :2] = np.where(r.random(s[:-1] + (2,)) < 0.2, np.nan, b[..., :2])
        b[..., 2:4] = np.where(r.random(s[:-1] + (2,)) < 0.2, r.choice([40.0, 3000.0, np.inf, np.nan], s[:-1] + (2,)),
                               b[..., 2:4])
        return b

    recs = records(graph, 30, f"special{regular}", scores=scores, boxes=boxes)
    assert_detections_match(graph, recs, {**BASE, **options})


@pytest.mark.parametrize("categories", [1, 4])
def test_nan_scores_order_as_libstdcxx(categories):
    """NaN compares false both ways: TFLM's std::partial_sort of a box's class scores then orders by
    how libstdc++'s heap select and heap sort happen to meet them; tinyq runs the same algorithm."""
    options = dict(num_boxes=24, num_classes=9, max_classes_per_detection=categories, max_detections=4,
                   nms_score_threshold=-1.0)
    graph = detection_graph(**options)

    def scores(r, s):
        return np.where(r.random(s) < 0.3, np.nan, r.choice([0.1, 0.4, 0.4, 0.7, 0.9], s))

    assert_detections_match(graph, records(graph, 40, f"nan{categories}", scores=scores), {**BASE, **options})


def test_anchors_in_the_arena():
    graph = detection_graph(anchors="input", num_boxes=20)
    recs = records(graph, 12, "arena anchors")
    for i, record in enumerate(recs):
        record[2] = anchors_for(20, f"arena {i}")
    assert_detections_match(graph, recs, BASE)


@pytest.mark.parametrize("flex_options, note", [
    (dict(BASE, y_scale=10, x_scale=10, h_scale=5, w_scale=5, nms_score_threshold=0), "integers for floats"),
    (dict(BASE, max_detections=5.9, num_classes=3.2, max_classes_per_detection=1.0), "floats for integers"),
    (dict(BASE, use_regular_nms=1), "an integer for the bool"),
    ({k: v for k, v in BASE.items() if k not in ("use_regular_nms", "detections_per_class")}, "defaults"),
    (dict(BASE, use_regular_nms=True, detections_per_class=2.0), "regular, float count"),
])
def test_flexbuffer_conversions(flex_options, note):
    """TFLM reads the options with flexbuffers' AsInt32 / AsFloat / AsBool, whatever type they hold."""
    graph = detection_graph(flex=bytes(flexbuffers.Dumps(flex_options)), out=5)
    options = {**BASE, "use_regular_nms": bool(flex_options.get("use_regular_nms"))}
    assert_detections_match(graph, records(graph, 12, note), options)


def test_boxes_tflm_rejects_fail_invoke():
    """A decoded box with ymin >= ymax (exp underflows to 0: zero height) fails Eval in TFLM; the
    generated invoke returns non-zero too, before writing any output."""
    graph = detection_graph(num_boxes=6)
    record = records(graph, 1, "reject")[0]
    record[0][0, 3, 2] = -4000.0
    assert_invoke_fails(graph, record)


def wide_float(key: str, value: float) -> bytes:
    """BASE's options with `key` a 64-bit float (Dumps packs floats in 32 bits)."""
    b = flexbuffers.Builder()
    with b.Map():
        for k, v in sorted(dict(BASE, **{key: value}).items()):
            b.Key(k)
            if k == key:
                b.Float(v, byte_width=8)
            else:
                b.Add(v)
    return bytes(b.Finish())


# --- refusals --------------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, message", [
    (dict(dtype="int8"), "is int8; TFLM's kernel reads float32 only"),
    (dict(anchor_values=np.ones((12, 4), np.int8)), r"anchors tensor 2 \(t2\) is int8"),
    (dict(anchor_values=anchors_for(6)), "anchors hold 24 values; TFLM reads 4 for each of 12 boxes"),
    (dict(anchor_values=np.full((12, 4), np.inf, np.float32)), "infinite or NaN"),
    (dict(box_stride=3), "hold 3 values per box; TFLM needs 4"),
    (dict(num_classes=0, out=5), "num_classes is 0"),
    (dict(max_detections=0, out=1), "max_detections is 0"),
    (dict(nms_iou_threshold=0.0), r"nms_iou_threshold 0.0 is outside \(0, 1\]"),
    (dict(nms_iou_threshold=1.5), r"nms_iou_threshold 1.5 is outside \(0, 1\]"),
    (dict(use_regular_nms=True, detections_per_class=0), "detections_per_class is 0"),
    (dict(max_classes_per_detection=0, out=5), "max_classes_per_detection is 0"),
    (dict(out=4), "holds 16 values; TFLM writes up to 20 there"),
    (dict(max_classes_per_detection=2, out=10), "holds 40 values; TFLM writes up to 80 there"),
    (dict(out_dtype="int8"), "is int8; TFLM writes float32"),
    (dict(n_outputs=3), "expects 4 output"),
    (dict(flex=b""), "custom_options are not a flexbuffer map"),
    (dict(flex=bytes(flexbuffers.Dumps([1, 2]))), "custom_options are not a flexbuffer map"),
    (dict(flex=bytes(flexbuffers.Dumps(dict(BASE, y_scale="10")))), "custom option y_scale is not a number"),
    (dict(flex=wide_float("h_scale", 1e39)), r"h_scale is 1e\+39, not a finite float32"),
    (dict(flex=bytes(flexbuffers.Dumps(dict(BASE, max_detections=float("nan"))))), "has no integer value"),
])
def test_refused(kwargs, message):
    graph = detection_graph(**kwargs)
    with pytest.raises(TinyqError, match=message):
        compile_graph(graph, get_board("host"))
    (op, reason), = support_report(graph)  # tinyq inspect shows the same reason
    assert reason is not None and "\n" not in reason


def test_refused_class_count_and_batch():
    g = GraphBuilder("detect")
    boxes, scores = g.input((1, 8, 4), "float32"), g.input((1, 8, 6), "float32")
    outs = [g.activation((1, 5, 4), "float32"), g.activation((1, 5), "float32"), g.activation((1, 5), "float32"),
            g.activation((1,), "float32")]
    g.op(OP, [boxes, scores, g.const(anchors_for(8))], outs, options=CustomOptions(bytes(flexbuffers.Dumps(BASE))))
    with pytest.raises(TinyqError, match="6 scores per box for num_classes 3"):
        compile_graph(g.build(outs), get_board("host"))
    g = GraphBuilder("detect")
    boxes, scores = g.input((2, 8, 4), "float32"), g.input((2, 8, 4), "float32")
    outs = [g.activation((1, 5, 4), "float32"), g.activation((1, 5), "float32"), g.activation((1, 5), "float32"),
            g.activation((1,), "float32")]
    g.op(OP, [boxes, scores, g.const(anchors_for(8))], outs, options=CustomOptions(bytes(flexbuffers.Dumps(BASE))))
    with pytest.raises(TinyqError, match="batch size is not 1"):
        compile_graph(g.build(outs), get_board("host"))


# --- glibc's exp, as the kernel computes it ----------------------------------------------------------

def _cpu_has_fma() -> bool:
    try:
        return " fma " in Path("/proc/cpuinfo").read_text().replace("\n", " ")
    except OSError:
        return False


@pytest.fixture(scope="module")
def exp_lib(tmp_path_factory):
    out = tmp_path_factory.mktemp("exp") / "libtqexp.so"
    cc = get_board("host").toolchain.cc
    subprocess.run([cc, "-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-fPIC", "-shared", f"-I{KERNELS}",
                    str(KERNELS / "tq_exp_f64.c"), "-o", str(out)], check=True)
    lib = ctypes.CDLL(str(out))
    lib.tq_exp_f64.restype = ctypes.c_double
    lib.tq_exp_f64.argtypes = [ctypes.c_double, ctypes.c_void_p]
    lib.tq_fma_f64.restype = ctypes.c_double
    lib.tq_fma_f64.argtypes = [ctypes.c_double] * 3
    return lib


def _libm():
    libm = ctypes.CDLL("libm.so.6")
    libm.exp.restype = ctypes.c_double
    libm.exp.argtypes = [ctypes.c_double]
    libm.fma.restype = ctypes.c_double
    libm.fma.argtypes = [ctypes.c_double] * 3
    return libm


def _bits(x: float) -> int:
    return int(np.float64(x).view(np.uint64))


@pytest.mark.skipif(not Path("/lib/x86_64-linux-gnu/libm.so.6").exists() or not _cpu_has_fma(),
                    reason="glibc on an x86-64 CPU with FMA is the exp TFLM's Python interpreter calls here")
def test_exp_is_glibcs(exp_lib):
    """Every double: random in the ranges SSD encodings give, across the whole range, raw bit patterns,
    and the thresholds (tiny, 512, overflow, underflow, infinities, NaN)."""
    libm = _libm()
    table = glibc_exp_table()
    rng = _rng("exp")
    xs = np.concatenate([
        rng.uniform(-30.0, 30.0, 60000), rng.uniform(-750.0, 750.0, 30000), rng.normal(0.0, 1e-3, 5000),
        rng.uniform(700.0, 710.0, 5000), rng.uniform(-746.0, -700.0, 5000),
        rng.integers(0, 2**64, 20000, dtype=np.uint64).view(np.float64),
        [0.0, -0.0, np.inf, -np.inf, np.nan, 512.0, -512.0, 1024.0, 709.782712893384, 709.7827128933841,
         -745.1332191019411, -745.1332191019412, 2.0**-54, -(2.0**-54), 2.0**-55, 1e-300]])
    bad = [x for x in xs.tolist()
           if _bits(exp_lib.tq_exp_f64(x, table.ctypes.data)) != _bits(libm.exp(x))
           and not (np.isnan(x))]
    assert not bad, [float(x).hex() for x in bad[:5]]
    assert np.isnan(exp_lib.tq_exp_f64(float("nan"), table.ctypes.data))


def test_emulated_fma_rounds_once(exp_lib):
    """tq_fma_f64 (no FMA instruction on the host build) against glibc's fma, including sums that
    cancel and products whose low half decides the rounding."""
    libm = _libm()
    rng = _rng("fma")
    cases = []
    for _ in range(20000):
        a, b = rng.uniform(-1.0, 1.0, 2) * 2.0 ** rng.integers(-40, 40, 2)
        c = float(rng.uniform(-1.0, 1.0) * 2.0 ** rng.integers(-80, 80))
        cases.append((a, b, c))
        cases.append((a, b, -(a * b)))  # the rounding error of a * b, exactly
        cases.append((a, b, -(a * b) * (1 + 2.0**-52)))
    bad = [(a, b, c) for a, b, c in cases if _bits(exp_lib.tq_fma_f64(a, b, c)) != _bits(libm.fma(a, b, c))]
    assert not bad, bad[:3]


def test_exp_table_is_two_to_the_k_over_128():
    """Entry 2k+1 plus k << 45 is the double nearest 2^(k/128); entry 2k the relative remainder."""
    table = glibc_exp_table()
    for k in range(128):
        high = np.int64(table[2 * k + 1] + (k << 45)).view(np.float64)
        tail = np.int64(table[2 * k]).view(np.float64)
        assert abs(high - 2.0 ** (k / 128)) <= np.spacing(high)
        assert abs(tail) < 2.0**-52


# --- on the targets ----------------------------------------------------------------------------------

def test_on_targets():
    """Both NMS modes in one graph (one build per target): hard-float Helium and soft-float ARMv6-M."""
    b = GraphBuilder("detect_targets")
    nb = 30
    boxes, scores = b.input((1, nb, 4), "float32"), b.input((1, nb, 4), "float32")
    anchors = b.const(anchors_for(nb))
    outputs = []
    for regular, categories, threshold in ((True, 1, 0.0), (False, 1, -2.0)):
        options = dict(BASE, use_regular_nms=regular, max_classes_per_detection=categories,
                       nms_score_threshold=threshold)
        n = entries(options)
        outs = [b.activation((1, n, 4), "float32"), b.activation((1, n), "float32"),
                b.activation((1, n), "float32"), b.activation((1,), "float32")]
        b.op(OP, [boxes, scores, anchors], outs, options=CustomOptions(bytes(flexbuffers.Dumps(options))))
        outputs += outs
    # fast NMS with a threshold below every score fills its outputs (what it leaves unwritten would hold
    # whatever each planner put there; several classes per detection leave gaps, so one each here)
    assert_bit_exact_on_targets(b.build(outputs), n_inputs=8)
