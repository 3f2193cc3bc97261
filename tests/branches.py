"""Many single-op variants side by side in one graph: one compile and one TFLM run
check them all, and a mismatch names the branch (its output tensor) that differs."""

from __future__ import annotations

from dataclasses import dataclass, field

from tinyq.tflite.builder import GraphBuilder


@dataclass(frozen=True)
class Branch:
    op: str
    shape: tuple[int, ...]
    in_quant: tuple[float, int]
    out_quant: tuple[float, int]
    out_dtype: str = "int8"
    options: dict = field(default_factory=dict)

    @property
    def label(self) -> str:
        (s, z), (os_, oz) = self.in_quant, self.out_quant
        opts = "".join(f"_{k}{v:.4g}" for k, v in self.options.items())
        return f"{self.op}_in{s:.4g}/{z}_out{os_:.4g}/{oz}{opts}"


def branches_graph(name: str, branches: list[Branch]):
    b = GraphBuilder(name)
    outs = []
    for i, br in enumerate(branches):
        x = b.input(br.shape, scale=br.in_quant[0], zero_point=br.in_quant[1], name=f"in{i}")
        y = b.activation(br.shape, br.out_dtype, scale=br.out_quant[0], zero_point=br.out_quant[1],
                         name=f"out{i}:{br.label}")
        b.op(br.op, [x], [y], **br.options)
        outs.append(y)
    return b.build(outs)
