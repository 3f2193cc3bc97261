"""ELF reading with pyelftools (tinyq/build/elf.py for sizes, tinyq/flash/elfimage.py for images)
against binutils' own view of the same file, and the one-line refusals of files that are not one."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from tinyq.build.elf import read_sections
from tinyq.errors import TinyqError
from tinyq.flash.elfimage import load_segments

pytestmark = pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None, reason="arm-none-eabi-gcc is absent")

SOURCE = r"""
const int table[64] = {1, 2, 3};
int counter = 5;
int scratch[32];
void _start(void) { for (;;) { counter += table[counter & 63]; scratch[counter & 31] = counter; } }
"""
LINK = """
MEMORY { FLASH (rx) : ORIGIN = 0x10000000, LENGTH = 64K  RAM (rwx) : ORIGIN = 0x20000000, LENGTH = 16K }
SECTIONS {
  .text : { *(.text*) *(.rodata*) } > FLASH
  .data : { *(.data*) } > RAM AT > FLASH
  .bss (NOLOAD) : { *(.bss*) *(COMMON) } > RAM
}
"""


@pytest.fixture(scope="module")
def elf(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("elf")
    (tmp / "a.c").write_text(SOURCE)
    (tmp / "a.ld").write_text(LINK)
    out = tmp / "a.elf"
    subprocess.run(["arm-none-eabi-gcc", "-mcpu=cortex-m0plus", "-mthumb", "-O1", "-nostdlib", "-T", str(tmp / "a.ld"),
                    str(tmp / "a.c"), "-o", str(out)], check=True, capture_output=True)
    return out


def test_sections_match_readelf(elf):
    listing = subprocess.run(["arm-none-eabi-readelf", "-S", "-W", str(elf)], capture_output=True, text=True).stdout
    want = {}
    for m in re.finditer(r"\]\s+(\S+)\s+(\S+)\s+([0-9a-f]{8})\s+[0-9a-f]+\s+([0-9a-f]+)\s+\S+\s+(\S*A\S*)", listing):
        name, kind, addr, size = m.group(1), m.group(2), int(m.group(3), 16), int(m.group(4), 16)
        if size:
            want[name] = (addr, size, kind != "NOBITS")
    got = {s.name: (s.address, s.size, s.has_contents) for s in read_sections(elf)}
    assert got == want and {".text", ".data", ".bss"} <= set(got)
    data = next(s for s in read_sections(elf) if s.name == ".data")
    assert data.address == 0x20000000 and 0x10000000 <= data.load_address < 0x10010000  # copied at boot


def test_segments_are_objcopy_binary(elf, tmp_path):
    segments = load_segments(elf)
    image = tmp_path / "a.bin"
    subprocess.run(["arm-none-eabi-objcopy", "-O", "binary", str(elf), str(image)], check=True)
    flat = bytearray()
    for s in segments:  # objcopy -O binary lays the load images out from the lowest address
        offset = s.address - segments[0].address
        flat[len(flat):offset] = b"\0" * max(0, offset - len(flat))
        flat[offset:offset + len(s.data)] = s.data
    assert bytes(flat) == image.read_bytes()
    assert all(s.address < 0x20000000 for s in segments)  # .data's initial values are stored in flash


def test_not_an_elf_and_truncated(elf, tmp_path):
    junk = tmp_path / "junk.elf"
    junk.write_bytes(b"hello, not an ELF at all" * 4)
    with pytest.raises(TinyqError, match="not an ELF file"):
        load_segments(junk)
    with pytest.raises(TinyqError, match="ELF"):
        read_sections(junk)
    cut = tmp_path / "cut.elf"
    cut.write_bytes(elf.read_bytes()[:200])
    with pytest.raises(TinyqError):
        load_segments(cut)
    with pytest.raises(TinyqError):
        read_sections(cut)
