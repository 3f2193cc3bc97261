"""A deliberately hard case for int4: a narrow MobileNet-style network trained here on the digits data.

Depthwise 3x3 filters hold 9 weights per channel and the layers are 6-12 channels wide: at 4 bits
there is little to average rounding errors over, which is where post-training int4 loses most. The network
is trained in torch with batch norm, the batch norm folded into the convolutions (as a converter writes a
.tflite), and written with tinyq's own GraphBuilder and writer: conv_2d, depthwise_conv_2d, average_pool_2d,
reshape, fully_connected, softmax, ReLU6 fused.

    python -m tinyq.qat.mobilenet_digits OUT.tflite --data x.npy --labels y.npy
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from tinyq.ir import Graph
from tinyq.tflite.builder import GraphBuilder

# (kind, output channels, stride); every layer but the last is followed by batch norm and ReLU6
LAYERS = (("conv", 6, 1), ("dw", 6, 1), ("pw", 6, 1), ("dw", 6, 1), ("pw", 8, 1), ("dw", 8, 2), ("pw", 8, 1),
          ("dw", 8, 1), ("pw", 12, 1))
CLASSES = 10


class Net(torch.nn.Module):
    def __init__(self, layers=LAYERS, in_channels: int = 1, classes: int = CLASSES):
        super().__init__()
        self.spec = layers
        self.convs = torch.nn.ModuleList()
        self.norms = torch.nn.ModuleList()
        c = in_channels
        for kind, out, stride in layers:
            if kind == "dw":
                conv = torch.nn.Conv2d(c, c, 3, stride, padding=0, groups=c, bias=False)
            else:
                k = 3 if kind == "conv" else 1
                conv = torch.nn.Conv2d(c, out, k, stride, padding=0, bias=False)
            self.convs.append(conv)
            self.norms.append(torch.nn.BatchNorm2d(out))
            c = out
        self.fc = torch.nn.Linear(c, classes)

    def forward(self, x):  # x: NHWC
        x = x.permute(0, 3, 1, 2)
        for conv, norm in zip(self.convs, self.norms):
            x = F.relu6(norm(conv(_same(x, conv))))
        return self.fc(x.mean(dim=(2, 3)))


def _same(x, conv):
    """TFLite's SAME padding (the odd pixel after)."""
    k, s = conv.kernel_size[0], conv.stride[0]
    if k == 1:
        return x
    size = x.shape[2]
    out = (size + s - 1) // s
    total = max((out - 1) * s + k - size, 0)
    return F.pad(x, [total // 2, total - total // 2, total // 2, total - total // 2])


def _shifted(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Each image moved by up to one pixel (zeros come in): more digits from the same few."""
    padded = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    dy, dx = rng.integers(0, 3, size=(2, len(x)))
    h, w = x.shape[1:3]
    return np.stack([padded[i, dy[i]:dy[i] + h, dx[i]:dx[i] + w] for i in range(len(x))])


def train_net(x: np.ndarray, y: np.ndarray, epochs: int = 300, seed: int = 0, lr: float = 3e-3,
              layers=LAYERS) -> Net:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a network this small runs faster on one thread than split over two
    try:
        return _trained(x, y, epochs, seed, lr, layers)
    finally:  # not left behind: the fine-tunes a bench runs next would round differently on one thread
        torch.set_num_threads(threads)


def _trained(x: np.ndarray, y: np.ndarray, epochs: int, seed: int, lr: float, layers) -> Net:
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    net = Net(layers)
    opt = torch.optim.Adam(net.parameters(), lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs)
    labels = torch.from_numpy(np.asarray(y, dtype=np.int64))
    for _ in range(epochs):
        net.train()
        order = rng.permutation(len(x))
        for start in range(0, len(x), 32):
            idx = order[start:start + 32]
            batch = torch.from_numpy(_shifted(x[idx], rng))
            loss = F.cross_entropy(net(batch), labels[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        sched.step()
    return net.eval()


def folded(net: Net) -> list[tuple[str, np.ndarray, np.ndarray, int]]:
    """(kind, weights in TFLite's layout, bias, stride) per layer, batch norm folded in."""
    result = []
    with torch.no_grad():
        for (kind, _, stride), conv, norm in zip(net.spec, net.convs, net.norms):
            gamma = norm.weight / torch.sqrt(norm.running_var + norm.eps)
            w = conv.weight * gamma[:, None, None, None]  # [out, in/groups, kh, kw]
            b = norm.bias - norm.running_mean * gamma
            if kind == "dw":
                tfl = w.permute(1, 2, 3, 0).numpy()  # [1, kh, kw, channels]
            else:
                tfl = w.permute(0, 2, 3, 1).numpy()  # [out, kh, kw, in]
            result.append((kind, np.ascontiguousarray(tfl, dtype=np.float32), b.numpy().astype(np.float32), stride))
    return result


def to_graph(net: Net, size: int = 8) -> Graph:
    b = GraphBuilder("mobilenet_digits")
    x = b.input((1, size, size, 1), dtype="float32", name="image")
    c = 1
    for n, (kind, w, bias, stride) in enumerate(folded(net)):
        size = (size + stride - 1) // stride
        c = w.shape[3] if kind == "dw" else w.shape[0]
        y = b.activation((1, size, size, c), dtype="float32", name=f"layer{n}")
        wt, bt = b.const(w, "float32", name=f"layer{n}_weights"), b.const(bias, "float32", name=f"layer{n}_bias")
        if kind == "dw":
            b.op("depthwise_conv_2d", [x, wt, bt], [y], padding="SAME", stride_w=stride, stride_h=stride,
                 depth_multiplier=1, fused_activation_function="RELU6")
        else:
            b.op("conv_2d", [x, wt, bt], [y], padding="SAME", stride_w=stride, stride_h=stride,
                 fused_activation_function="RELU6")
        x = y
    pooled = b.activation((1, 1, 1, c), dtype="float32", name="pooled")
    b.op("average_pool_2d", [x], [pooled], padding="VALID", stride_w=1, stride_h=1, filter_width=size,
         filter_height=size)
    flat = b.activation((1, c), dtype="float32", name="flat")
    shape = b.const(np.array([1, c], dtype=np.int32), "int32", name="flat_shape")
    b.op("reshape", [pooled, shape], [flat], new_shape=(1, c))
    logits = b.activation((1, CLASSES), dtype="float32", name="logits")
    with torch.no_grad():
        fw = b.const(net.fc.weight.numpy().astype(np.float32), "float32", name="fc_weights")
        fb = b.const(net.fc.bias.numpy().astype(np.float32), "float32", name="fc_bias")
    b.op("fully_connected", [flat, fw, fb], [logits])
    probs = b.activation((1, CLASSES), dtype="float32", name="probabilities")
    b.op("softmax", [logits], [probs], beta=1.0)
    return b.build(outputs=[probs])


def main(argv: list[str] | None = None) -> None:
    import argparse
    from pathlib import Path

    from tinyq.tflite.writer import write_model

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--data", required=True, type=Path, help="N x 8 x 8 x 1 float32 images (.npy)")
    parser.add_argument("--labels", required=True, type=Path)
    parser.add_argument("--epochs", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    x = np.load(args.data).astype(np.float32).reshape(-1, 8, 8, 1)
    net = train_net(x, np.load(args.labels), args.epochs, args.seed)
    args.out.write_bytes(write_model(to_graph(net)))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
