"""Chains of ops that each overwrite their input, for the backends' in-place rules.

Every tensor of a chain has the same size S and every op reads the tensor the op before it
wrote, so each op holds 2S bytes unless its output overlaps its input. An output starts at
least its rule's shift below its input, so a run of in-place ops descends by the sum of their
shifts: with that sum below S the smallest arena (S + the sum) overlaps at every op, and a
plan that reaches it uses each op's in-place rule: tests/test_inplace_backends.py checks that the alias is in the plan for
every op, names the library function each op ran, and compares the outputs (and every layer)
with TFLM's. Reshapes between ops are views (no code) to the shapes a kernel needs.
"""

from __future__ import annotations

import numpy as np

from backend_models import seeded
from test_conv import add_conv
from test_depthwise_conv import add_depthwise
from test_pooling import add_pool
from tinyq.tflite.builder import GraphBuilder

IMAGE = (1, 64, 8, 16)  # 8,192 bytes, narrow rows (small shifts): every step keeps that size


class Chain:
    """A chain under construction: `x` is the current tensor, `shape` its shape."""

    def __init__(self, name: str, shape=IMAGE, quant=None, dtype="int8"):
        self.rng = seeded("inplace", name)
        self.b = GraphBuilder(name)
        quant = quant or dict(scale=float(self.rng.uniform(0.02, 0.1)), zero_point=int(self.rng.integers(-30, 30)))
        self.x, self.shape = self.b.input(shape, dtype, **quant), tuple(shape)

    def _quant(self):
        return dict(scale=float(self.rng.uniform(0.02, 0.1)), zero_point=int(self.rng.integers(-30, 30)))

    def reshape(self, shape):
        y = self.b.activation(shape, scale=self.b._tensors[self.x].quant.s, zero_point=self.b._tensors[self.x].quant.zp)
        self.b.op("reshape", [self.x, self.b.const(np.array(shape, dtype=np.int32))], [y])
        self.x, self.shape = y, tuple(shape)
        return self

    def conv(self, kernel, stride=(1, 1), cout=None, padding="SAME", weights="int8", groups=1):
        self.x = add_conv(self.b, self.rng, self.x, self.shape, cout=cout or self.shape[3], kernel=kernel,
                          stride=stride, dilation=(1, 1), padding=padding, weights=weights, groups=groups, bias=True)
        self.shape = tuple(self.b._tensors[self.x].shape)
        return self

    def depthwise(self, kernel, stride=(1, 1), multiplier=1, dilation=(1, 1), padding="SAME", weights="int8"):
        self.x = add_depthwise(self.b, self.rng, self.x, self.shape, multiplier=multiplier, kernel=kernel,
                               stride=stride, dilation=dilation, padding=padding, weights=weights, bias=True)
        self.shape = tuple(self.b._tensors[self.x].shape)
        return self

    def pool(self, kind, window=(3, 3)):
        self.x = add_pool(self.b, self.rng, kind, self.x, self.shape, window=window, stride=(1, 1), padding="SAME")
        return self

    def binary(self, op):
        """`op` of the chain's tensor and a constant of its shape (the constant in flash); maximum and
        minimum compare the stored integers, so all three share one quantization."""
        q = self.b._tensors[self.x].quant
        same = op in ("maximum", "minimum")
        quant = dict(scale=q.s, zero_point=q.zp) if same else self._quant()
        other = self.b.const(self.rng.integers(-128, 128, size=self.shape), "int8", **quant)
        y = self.b.activation(self.shape, **(quant if same else self._quant()))
        options = {} if same else dict(fused_activation_function="NONE")
        self.b.op(op, [self.x, other], [y], **options)
        self.x = y
        return self

    def softmax(self):
        y = self.b.activation(self.shape, scale=1 / 256, zero_point=-128)
        self.b.op("softmax", [self.x], [y], beta=1.0)
        self.x = y
        return self

    def relu6(self):
        y = self.b.activation(self.shape, scale=1.0, zero_point=0)
        self.b.op("relu6", [self.x], [y])
        self.x = y
        return self

    def fully_connected(self, per_channel=True, weights="int8"):
        """Over the rows of a 2-D tensor, as many outputs as inputs per row."""
        rows, depth = self.shape
        scales = self.rng.uniform(0.002, 0.02, size=depth if per_channel else 1)
        limit = 8 if weights == "int4" else 128
        w = self.b.const(self.rng.integers(-limit + 1, limit, size=(depth, depth)), weights, scale=scales,
                         zero_point=0, axis=0)
        bias = self.b.const(self.rng.integers(-2000, 2000, size=depth), "int32",
                            scale=self.b._tensors[self.x].quant.s * scales, zero_point=0)
        y = self.b.activation(self.shape, scale=float(self.rng.uniform(0.05, 0.3)),
                              zero_point=int(self.rng.integers(-20, 20)))
        self.b.op("fully_connected", [self.x, w, bias], [y])
        self.x = y
        return self

    def build(self):
        return self.b.build([self.x])


def library_paths(unit_depthwise: bool = True):
    """Every kernel the scalar, DSP and Helium code paths run in place, on one chain: 3x3, strided 1x1
    and 1xN convolutions, 3x3 / larger / dilated / one-input-channel depthwise, both pools, add, mul,
    maximum, minimum, softmax, fully connected per tensor and per channel. unit_depthwise=False leaves
    out the undilated multiplier-1 depthwise layers: Helium's library kernel for them wants kilobytes
    of scratch, which the planner then fits around rather than along the chain (helium_depthwise)."""
    c = Chain("library_paths" if unit_depthwise else "library_paths_no_dw")
    c.conv((3, 3))
    c.reshape((1, 128, 16, 4)).conv((1, 1), stride=(2, 2), cout=16, padding="VALID")  # 8,192 B in and out
    c.reshape((1, 1, 512, 16)).conv((1, 3))  # a 1xN row
    c.reshape(IMAGE)
    if unit_depthwise:
        c.depthwise((3, 3)).depthwise((5, 5))
    c.depthwise((3, 3), dilation=(2, 2))
    c.reshape((1, 256, 32, 1)).depthwise((4, 4), stride=(4, 4), multiplier=16, padding="VALID")  # one channel
    c.pool("average_pool_2d").pool("max_pool_2d")
    for op in ("add", "mul", "maximum", "minimum"):
        c.binary(op)
    c.softmax()
    c.reshape((64, 128)).fully_connected(per_channel=False).fully_connected(per_channel=True)
    return c.build()


def helium_depthwise():
    """Helium's arm_depthwise_conv_s8_opt (4 pixels of one 124-channel block copied out at a time)."""
    return Chain("helium_depthwise").depthwise((3, 3)).build()


def helium_library_paths():
    """What only Helium runs in place from the library: the unit-stride 1x1 convolution (a GEMM of 4
    rows); on scalar/DSP it is one GEMM over every pixel, with no rule."""
    return Chain("helium_paths").conv((1, 1), padding="VALID").conv((3, 3)).build()


def int4_paths(helium: bool):
    """The s4 kernels: 3x3 (general / even-columns), strided 1x1, 1xN, 3x3 depthwise, fully connected;
    the unit-stride 1x1 only on Helium (elsewhere one GEMM over every pixel, no rule)."""
    c = Chain("int4_helium" if helium else "int4_paths")
    c.conv((3, 3), weights="int4")
    if helium:
        c.conv((1, 1), padding="VALID", weights="int4")
    c.reshape((1, 128, 16, 4)).conv((1, 1), stride=(2, 2), cout=16, padding="VALID", weights="int4")
    c.reshape((1, 1, 512, 16)).conv((1, 3), weights="int4")
    c.reshape(IMAGE).depthwise((3, 3), weights="int4")
    c.reshape((64, 128)).fully_connected(per_channel=False, weights="int4")
    return c.build()


def esp_nn_paths():
    """ESP-NN's plain C kernels: conv 3x3 and 1x1, depthwise (multiplier 1 and 16), both pools, add,
    mul, softmax, fully connected."""
    c = Chain("esp_paths")
    c.conv((3, 3)).conv((1, 1), padding="VALID").depthwise((3, 3))
    c.reshape((1, 256, 32, 1)).depthwise((4, 4), stride=(4, 4), multiplier=16, padding="VALID")
    c.pool("average_pool_2d").pool("max_pool_2d").binary("add").binary("mul").softmax()
    c.reshape((64, 128)).fully_connected(per_channel=False).fully_connected(per_channel=True)
    return c.build()


def relu6_path():
    """esp_nn_relu6_s8 (unit scale, zero point 0) twice over."""
    return Chain("relu6", shape=(32, 256), quant=dict(scale=1.0, zero_point=0)).relu6().relu6().build()



def int16_paths():
    """The 16x8 kernels (int16 activations, 8,192 B): 3x3 convolution, 3x3 depthwise (the wrapper's fast
    kernel with DSP or Helium; the generic one without) and dilated (generic), both pools."""
    from test_int16_conv import add_conv_s16, add_depthwise_s16

    c = Chain("int16_paths", shape=(1, 32, 8, 16), quant=dict(scale=0.5, zero_point=0), dtype="int16")
    common = dict(per_channel=True, padding="SAME", stride=(1, 1))
    c.x = add_conv_s16(c.b, c.rng, c.x, c.shape, bias="int32", kernel=(3, 3), dilation=(1, 1), cout=16, **common)
    c.x = add_depthwise_s16(c.b, c.rng, c.x, c.shape, multiplier=1, kernel=(3, 3), dilation=(1, 1), bias=False,
                            **common)  # a 2^40 bias would pass arm_nn_requantize_s64's bound
    c.x = add_depthwise_s16(c.b, c.rng, c.x, c.shape, multiplier=1, kernel=(3, 3), dilation=(2, 2), bias=False,
                            **common)
    for kind in ("average_pool_2d", "max_pool_2d"):
        c.x = add_pool(c.b, c.rng, kind, c.x, c.shape, window=(3, 3), stride=(1, 1), padding="SAME",
                       out_dtype="int16")
    return c.build()
