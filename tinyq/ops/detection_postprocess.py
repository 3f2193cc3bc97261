"""TFLite_Detection_PostProcess, the custom op that ends SSD detectors: decode the boxes against
the anchors, non-max suppression, the top detections as float32 outputs.

TFLM's kernel (kernels/detection_postprocess.cc) reads float32 box encodings and class
scores only: on int8 ones its Eval fails, so an int8 detector dequantizes them first (the
converter puts DEQUANTIZE ops before the custom op) and tinyq refuses the others. All of its
arithmetic is float, and the C kernel (templates/reference/kernels/tq_detection_postprocess.c)
repeats it operation for operation: the box decoding in double with glibc's exp (the one libm
call, computed by tq_exp_f64.c from the table built here), the intersection-over-union in
float, the stable merge sort of the kept scores and libstdc++'s heap-based std::partial_sort
for the top scores, ties broken as TFLM breaks them. TFLM's Eval fails when a decoded box is
empty (ymin >= ymax or xmin >= xmax); the generated invoke then fails too.

The options are the flexbuffer map in the op's custom_options, read with the conversions
TFLM's flexbuffers accessors make (AsInt32, AsFloat, AsBool; a missing key reads as 0).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal, localcontext

import numpy as np
from flatbuffers import flexbuffers

from tinyq.ir import Graph, Operator, Tensor
from tinyq.ops.base import ConstArray, CustomOptions, Kernel, Lowered, OpSpec, Target, unsupported
from tinyq.ops.common import io
from tinyq.ops.operands import operand_sources

CUSTOM_CODE = "TFLite_Detection_PostProcess"
DEFAULT_DETECTIONS_PER_CLASS = 100  # TFLM's kNumDetectionsPerClass, when the key is absent
INT_OPTIONS = ("max_detections", "max_classes_per_detection", "detections_per_class", "num_classes")
FLOAT_OPTIONS = ("nms_score_threshold", "nms_iou_threshold", "y_scale", "x_scale", "h_scale", "w_scale")


@dataclass(frozen=True)
class DetectionOptions:
    """The custom options as TFLM's Init reads them (float fields hold float32 values)."""

    max_detections: int = 0
    max_classes_per_detection: int = 0
    detections_per_class: int = DEFAULT_DETECTIONS_PER_CLASS
    use_regular_nms: bool = False
    nms_score_threshold: float = 0.0
    nms_iou_threshold: float = 0.0
    num_classes: int = 0
    y_scale: float = 0.0
    x_scale: float = 0.0
    h_scale: float = 0.0
    w_scale: float = 0.0


@dataclass(frozen=True)
class DetectionParams:
    sources: tuple[int, ...]  # boxes, scores, anchors: slot in Lowered.inputs, or -1 for flash operand<i>
    num_boxes: int
    box_stride: int  # floats per box encoding (>= 4; TFLM reads the first four)
    num_classes: int
    classes_with_background: int  # floats per score row
    label_offset: int  # 1 when the scores hold a background class first
    max_detections: int
    categories_per_anchor: int  # fast NMS: min(max_classes_per_detection, num_classes)
    detections_per_class: int
    regular: bool
    score_threshold: float
    iou_threshold: float
    y_scale: float
    x_scale: float
    h_scale: float
    w_scale: float
    scratch: tuple[tuple[str, int], ...]  # (region, byte offset) in the op's scratch
    scratch_bytes: int


# --- options -------------------------------------------------------------------------------------

def _number(graph: Graph, op: Operator, key: str, ref) -> int | float | None:
    """The value under `key` as a Python number (None when absent or null)."""
    if ref is None or ref.IsNull:
        return None
    if ref.IsBool:
        return int(ref.AsBool)
    if ref.IsInt:
        return ref.AsInt
    if ref.IsFloat:
        return ref.AsFloat
    raise unsupported(graph, op, f"custom option {key} is not a number",
                      "TFLM reads it as a number; re-export the model")


def _int32(graph: Graph, op: Operator, key: str, value: int | float | None) -> int:
    """flexbuffers' AsInt32: int64 (a float truncated toward zero), then its low 32 bits."""
    if value is None:
        return 0
    if isinstance(value, float):
        if not math.isfinite(value) or abs(value) >= 2.0**63:
            raise unsupported(graph, op, f"custom option {key} is {value}, which has no integer value",
                              "TFLM's conversion of it is undefined; re-export the model")
        value = math.trunc(value)
    return (value + 2**31) % 2**32 - 2**31


def _float32(graph: Graph, op: Operator, key: str, value: int | float | None) -> float:
    """flexbuffers' AsFloat: the stored number as a double, rounded to float32."""
    with np.errstate(over="ignore"):
        result = np.float32(0.0) if value is None else np.float32(float(value))
    if not np.isfinite(result):
        raise unsupported(graph, op, f"custom option {key} is {value}, not a finite float32",
                          "re-export the model with finite NMS thresholds and scales")
    return float(result)


def _bool(graph: Graph, op: Operator, key: str, value: int | float | None) -> bool:
    """flexbuffers' AsBool: a bool or integer is true when non-zero; a float as its uint64."""
    if isinstance(value, float):
        if not 0.0 <= value < 2.0**64:
            raise unsupported(graph, op, f"custom option {key} is {value}, which has no boolean value",
                              "TFLM's conversion of it is undefined; use true or false")
        value = math.trunc(value)
    return bool(value)


def read_options(graph: Graph, op: Operator) -> DetectionOptions:
    data = op.options.data if isinstance(op.options, CustomOptions) else b""
    try:
        root = flexbuffers.GetRoot(bytearray(data))
        values = root.AsMap if root.IsMap else None
    except Exception:  # the decoder raises anything on bytes that are no flexbuffer
        values = None
    if values is None:
        raise unsupported(graph, op, "custom_options are not a flexbuffer map",
                          "TFLM reads its options from one; re-export the model")

    def get(key: str):
        try:
            return _number(graph, op, key, values[key])
        except KeyError:
            return None

    fields = {key: _int32(graph, op, key, get(key)) for key in INT_OPTIONS}
    fields.update({key: _float32(graph, op, key, get(key)) for key in FLOAT_OPTIONS})
    if get("detections_per_class") is None:
        fields["detections_per_class"] = DEFAULT_DETECTIONS_PER_CLASS
    fields["use_regular_nms"] = _bool(graph, op, "use_regular_nms", get("use_regular_nms"))
    return DetectionOptions(**fields)


# --- glibc's exp ---------------------------------------------------------------------------------

EXP_TABLE_BITS = 7


def glibc_exp_table() -> np.ndarray:
    """The 2 * 128 words of glibc's exp table (sysdeps/ieee754/dbl-64/e_exp_data.c): for
    k < 128, 2^(k/128) ~= H * (1 + T) with H the nearest double and T the nearest double to the
    relative remainder; entry 2k holds T's bits and 2k+1 H's bits less k << 45 (the kernel adds
    the exponent back). Computed here to 60 digits; as int64 for the C array."""
    n = 1 << EXP_TABLE_BITS
    words = []
    with localcontext() as ctx:
        ctx.prec = 60
        ln2 = Decimal(2).ln()
        for k in range(n):
            exact = (ln2 * k / n).exp()
            high = float(exact)
            tail = float((exact - Decimal(high)) / Decimal(high))
            words.append(int(np.float64(tail).view(np.int64)))
            words.append(int(np.float64(high).view(np.int64)) - (k << (52 - EXP_TABLE_BITS)))
    return np.array(words, dtype=np.int64)


# --- lowering ------------------------------------------------------------------------------------

def _scratch_layout(num_boxes: int, o: DetectionOptions, categories: int) -> tuple[tuple[tuple[str, int], ...], int]:
    """Byte offsets of the kernel's working arrays (4-byte words first, the byte flags last).

    Shared by both NMS modes: decoded boxes, the kept scores and their indices, the sort order
    (the merge sort reuses the kept indices as its scratch, as TFLM does) and the selection.
    Regular NMS adds one class's scores and the running top list (the previous classes' best,
    at most max_detections, plus this class's selection); fast NMS the best score per anchor and
    its top classes."""
    md, nb = o.max_detections, num_boxes
    regions = [("decoded", 16 * nb), ("keep_scores", 4 * nb), ("keep_indices", 4 * nb), ("sorted", 4 * nb)]
    if o.use_regular_nms:
        per_class = min(nb, o.detections_per_class)
        running = md + per_class
        regions += [("selected", 4 * per_class), ("class_scores", 4 * nb), ("top_indices", 4 * running),
                    ("top_scores", 4 * running), ("order", 4 * running), ("order_scores", 4 * md)]
    else:
        regions += [("selected", 4 * min(nb, md)), ("class_scores", 4 * nb),
                    ("top_classes", 4 * nb * categories), ("order", 4 * o.num_classes)]
    regions.append(("active", nb))
    offsets, at = [], 0
    for name, size in regions:
        offsets.append((name, at))
        at += (size + 3) // 4 * 4
    return tuple(offsets), at


def _check_float(graph: Graph, op: Operator, t: Tensor, role: str) -> None:
    if t.dtype != "float32":
        raise unsupported(graph, op, f"{role} tensor {t.index} ({t.name}) is {t.dtype}; TFLM's kernel reads "
                                     "float32 only (its Eval fails on other types)",
                          "dequantize it before the op (DEQUANTIZE), as TFLite's converter does")


def _check_shapes(graph: Graph, op: Operator, boxes: Tensor, scores: Tensor, anchors: Tensor) -> None:
    for t, rank, role in ((boxes, 3, "box encodings"), (scores, 3, "class predictions"), (anchors, 2, "anchors")):
        if len(t.shape) != rank:
            raise unsupported(graph, op, f"{role} have rank {len(t.shape)}; TFLM's Prepare requires {rank}",
                              "the model's shapes are inconsistent; re-export it")
    nb = boxes.shape[1]
    if boxes.shape[0] != 1 or scores.shape[0] != 1:
        raise unsupported(graph, op, "batch size is not 1 (TFLM's kernel handles one image)",
                          "run the detector on one image at a time")
    if boxes.shape[2] < 4:
        raise unsupported(graph, op, f"box encodings hold {boxes.shape[2]} values per box; TFLM needs 4",
                          "the model's shapes are inconsistent; re-export it")
    if scores.shape[1] != nb:
        raise unsupported(graph, op, f"class predictions cover {scores.shape[1]} boxes, box encodings {nb}",
                          "the model's shapes are inconsistent; re-export it")
    if anchors.numel < 4 * nb:
        raise unsupported(graph, op, f"anchors hold {anchors.numel} values; TFLM reads 4 for each of {nb} boxes",
                          "the model's shapes are inconsistent; re-export it")


def _check_options(graph: Graph, op: Operator, o: DetectionOptions, classes_with_background: int) -> None:
    if o.num_classes < 1:
        raise unsupported(graph, op, f"num_classes is {o.num_classes}", "a detector has at least one class")
    if not 0 <= classes_with_background - o.num_classes <= 1:
        raise unsupported(graph, op, f"class predictions hold {classes_with_background} scores per box for "
                                     f"num_classes {o.num_classes}; TFLM's Eval allows the classes plus at most "
                                     "one background class", "the model's options are inconsistent; re-export it")
    if o.max_detections < 1:
        raise unsupported(graph, op, f"max_detections is {o.max_detections}", "a detector outputs at least one box")
    if not (o.nms_iou_threshold > 0.0 and o.nms_iou_threshold <= 1.0):
        raise unsupported(graph, op, f"nms_iou_threshold {o.nms_iou_threshold} is outside (0, 1], where TFLM's "
                                     "Eval fails", "re-export the model with an IoU threshold in (0, 1]")
    if o.use_regular_nms and o.detections_per_class < 1:
        raise unsupported(graph, op, f"detections_per_class is {o.detections_per_class}; TFLM's regular NMS "
                                     "fails unless it is positive", "re-export the model")
    if not o.use_regular_nms and o.max_classes_per_detection < 1:
        raise unsupported(graph, op, f"max_classes_per_detection is {o.max_classes_per_detection}; TFLM's fast "
                                     "NMS fails unless it is positive", "re-export the model")


def _check_outputs(graph: Graph, op: Operator, outs: list[Tensor], entries: int) -> None:
    """TFLM writes up to `entries` detections (4 floats each for the boxes) and the count."""
    need = (4 * entries, entries, entries, 1)
    for t, n, role in zip(outs, need, ("detection boxes", "detection classes", "detection scores",
                                       "number of detections")):
        if t.dtype != "float32":
            raise unsupported(graph, op, f"{role} tensor {t.index} ({t.name}) is {t.dtype}; TFLM writes float32",
                              "the model's output types are inconsistent; re-export it")
        if t.numel < n:
            raise unsupported(graph, op, f"{role} tensor {t.index} holds {t.numel} values; TFLM writes up to {n} "
                                         "there (past its end otherwise)",
                              "re-export the model with outputs sized for max_detections")


def lower(graph: Graph, op: Operator) -> Lowered:
    ins, outs = io(graph, op, 3, 4)
    if len(ins) != 3:
        raise unsupported(graph, op, f"expects 3 inputs, has {len(ins)}", "the file is corrupt")
    boxes, scores, anchors = ins
    for t, role in ((boxes, "box encodings"), (scores, "class predictions"), (anchors, "anchors")):
        _check_float(graph, op, t, role)
    _check_shapes(graph, op, boxes, scores, anchors)
    if anchors.is_const and not np.isfinite(anchors.data).all():
        raise unsupported(graph, op, "the anchors hold infinite or NaN values",
                          "tinyq keeps finite anchors in flash; re-export the model")
    o = read_options(graph, op)
    classes_with_background = scores.shape[2]
    _check_options(graph, op, o, classes_with_background)
    categories = min(o.max_classes_per_detection, o.num_classes)
    # Fast NMS writes detection k's class c at categories * k' + c, k' counting every written entry
    # (TFLM's indexing): with several classes per detection that reaches categories^2 * max_detections.
    entries = o.max_detections if o.use_regular_nms else categories * categories * o.max_detections
    _check_outputs(graph, op, outs, entries)

    nb = boxes.shape[1]
    offsets, scratch_bytes = _scratch_layout(nb, o, categories)
    sources, inputs, consts = operand_sources((boxes, scores, anchors))
    params = DetectionParams(
        sources=sources, num_boxes=nb, box_stride=boxes.shape[2], num_classes=o.num_classes,
        classes_with_background=classes_with_background, label_offset=classes_with_background - o.num_classes,
        max_detections=o.max_detections, categories_per_anchor=categories,
        detections_per_class=o.detections_per_class, regular=o.use_regular_nms,
        score_threshold=o.nms_score_threshold, iou_threshold=o.nms_iou_threshold,
        y_scale=o.y_scale, x_scale=o.x_scale, h_scale=o.h_scale, w_scale=o.w_scale,
        scratch=offsets, scratch_bytes=scratch_bytes)
    consts += (ConstArray("exp_table", "int64_t", glibc_exp_table()),)
    return Lowered(op=op, kernel="detection_postprocess", params=params, inputs=inputs,
                   outputs=tuple(t.index for t in outs), consts=consts)


def _scratch(k: Lowered, target: Target) -> int:
    return k.params.scratch_bytes


SPECS = [OpSpec(
    name=f"custom:{CUSTOM_CODE}", builtin=f"CUSTOM:{CUSTOM_CODE}", lower=lower,
    kernels=(Kernel(name="detection_postprocess", template="reference/detection_postprocess.c.j2",
                    scratch=_scratch),),
    doc="float32 box encodings, scores and anchors (TFLM reads no other type; int8 detectors dequantize "
        "first), regular and fast NMS, background class, float32 outputs, TFLM's float arithmetic and "
        "tie order")]
