"""The data-movement ops on float32 tensors (they copy any element type; PAD/PADV2 have a float kernel):
TRANSPOSE, SLICE, STRIDED_SLICE, CONCATENATION, PAD, PADV2, MIRROR_PAD, GATHER, GATHER_ND, RESHAPE,
EXPAND_DIMS, SQUEEZE, SPLIT, SPLIT_V, PACK, UNPACK, SPACE_TO_DEPTH, DEPTH_TO_SPACE, SPACE_TO_BATCH_ND,
BATCH_TO_SPACE_ND, BROADCAST_TO, REVERSE_V2, SELECT_V2, RESIZE_NEAREST_NEIGHBOR, ZEROS_LIKE and CAST in one
graph, bit-exact with TFLM on the host (NaN payloads and signed zeros must survive a copy) and under QEMU."""

import numpy as np

from float_cases import QEMU_BOARDS, assert_float_exact
from tinyq.tflite.builder import GraphBuilder

F = "float32"


def _i32(b, values):
    return b.const(np.asarray(values, np.int32), "int32")


def movement_graph(name="float_movement"):
    b = GraphBuilder(name)
    outs = []

    def out(shape, label, dtype=F):
        outs.append(b.activation(shape, dtype=dtype, name=label))
        return outs[-1]

    x = b.input((2, 3, 4, 5), dtype=F)
    b.op("transpose", [x, _i32(b, [0, 3, 1, 2])], [out((2, 5, 3, 4), "transpose")])
    b.op("slice", [x, _i32(b, [1, 0, 1, 2]), _i32(b, [1, 3, 2, -1])], [out((1, 3, 2, 3), "slice")])
    b.op("strided_slice", [x, _i32(b, [0, 2, 0, 4]), _i32(b, [2, 0, 4, 0]), _i32(b, [1, -1, 2, -2])],
         [out((2, 2, 2, 2), "strided_slice")], begin_mask=0, end_mask=0)
    y = b.input((2, 3, 1, 5), dtype=F)
    b.op("concatenation", [x, y, b.const(np.full((2, 3, 2, 5), 0.5, np.float32), F)], [out((2, 3, 7, 5), "concat")],
         axis=2, fused_activation_function="NONE")
    b.op("pad", [x, _i32(b, [[0, 1], [1, 0], [2, 1], [0, 0]])], [out((3, 4, 7, 5), "pad")])
    b.op("padv2", [x, _i32(b, [[1, 0], [0, 0], [1, 1], [2, 0]]), b.const(np.array([-2.5], np.float32), F)],
         [out((3, 3, 6, 7), "padv2")])
    b.op("mirror_pad", [x, _i32(b, [[0, 0], [1, 1], [2, 1], [0, 2]])], [out((2, 5, 7, 7), "mirror_reflect")],
         mode="REFLECT")
    b.op("mirror_pad", [x, _i32(b, [[1, 0], [0, 2], [0, 0], [1, 1]])], [out((3, 5, 4, 7), "mirror_symmetric")],
         mode="SYMMETRIC")
    b.op("gather", [x, _i32(b, [3, 0, 0, 2])], [out((2, 3, 4, 5), "gather")], axis=2, batch_dims=0)
    b.op("gather_nd", [x, _i32(b, [[1, 2], [0, 0], [1, 1]])], [out((3, 4, 5), "gather_nd")])
    b.op("reshape", [x, _i32(b, [6, 20])], [out((6, 20), "reshape")], new_shape=(6, 20))
    b.op("expand_dims", [y, _i32(b, [1])], [out((2, 1, 3, 1, 5), "expand_dims")])
    b.op("squeeze", [y], [out((2, 3, 5), "squeeze")], squeeze_dims=(2,))
    b.op("split", [_i32(b, [3]), x], [out((2, 3, 4, 1), f"split{i}") for i in range(5)], num_splits=5)
    b.op("split_v", [x, _i32(b, [1, 3]), _i32(b, [2])], [out((2, 3, 1, 5), "split_v0"), out((2, 3, 3, 5), "split_v1")],
         num_splits=2)
    z = b.input((3, 4), dtype=F)
    b.op("pack", [z, z, z], [out((3, 3, 4), "pack")], values_count=3, axis=1)
    b.op("unpack", [z], [out((3,), f"unpack{i}") for i in range(4)], num=4, axis=1)
    img = b.input((1, 4, 6, 2), dtype=F)
    b.op("space_to_depth", [img], [out((1, 2, 3, 8), "space_to_depth")], block_size=2)
    b.op("depth_to_space", [img], [out((1, 4, 6, 2), "depth_to_space_id")], block_size=1)
    b.op("space_to_batch_nd", [img, _i32(b, [2, 3]), _i32(b, [[0, 0], [0, 0]])], [out((6, 2, 2, 2), "s2b")])
    b.op("batch_to_space_nd", [b.input((4, 2, 3, 2), dtype=F), _i32(b, [2, 2]), _i32(b, [[0, 0], [1, 0]])],
         [out((1, 4, 5, 2), "b2s")])
    b.op("broadcast_to", [b.input((3, 1), dtype=F), _i32(b, [2, 3, 4])], [out((2, 3, 4), "broadcast_to")])
    b.op("reverse_v2", [x, _i32(b, [1, 2])], [out((2, 3, 4, 5), "reverse")])
    cond = b.input((3, 1), dtype="bool")
    b.op("select_v2", [cond, z, b.input((1, 4), dtype=F)], [out((3, 4), "select_v2")])
    b.op("resize_nearest_neighbor", [img, _i32(b, [7, 9])], [out((1, 7, 9, 2), "resize_nearest")],
         align_corners=False, half_pixel_centers=True)
    b.op("zeros_like", [z], [out((3, 4), "zeros_like")])
    return b.build(outs)


def test_float_data_movement_on_the_host():
    graph = movement_graph()
    assert_float_exact(graph, n_inputs=6)
    assert_float_exact(graph, n_inputs=6, special=True, seed=3)  # NaN payloads, -0.0, infinities: copied


def test_float_data_movement_on_targets():
    assert_float_exact(movement_graph("float_movement_targets"), n_inputs=3, boards=("host", *QEMU_BOARDS))
