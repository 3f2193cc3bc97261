"""Generated C from templates: the model source, its header and the kernels it uses."""

from tinyq.codegen.generate import GeneratedSource, generate_c
from tinyq.codegen.output import write_output_dir

__all__ = ["GeneratedSource", "generate_c", "write_output_dir"]
