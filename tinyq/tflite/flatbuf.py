"""An object API over the `flatbuffers` runtime, built from tinyq/tflite/format.py.

`load()` returns a namespace shaped like the Python module flatc generates with
`--gen-object-api`, for the tables the format describes: enum classes (`TensorType.INT8`),
`<Table>T` classes with camelCase attributes (`ModelT.InitFromPackedBuf(buf)`,
`OperatorT().opcodeIndex`, `obj.Pack(builder)`) and `Model.GetRootAs(buf, 0)`. Unpacking and
packing follow flatc's generated code step for step (scalar vectors become numpy views; offsets
are created in field order, then the fields added in slot order), so a file written here is the
file flatc's module writes from the same objects.
"""

from __future__ import annotations

import types
from dataclasses import dataclass

import flatbuffers
from flatbuffers import number_types as nt
from flatbuffers.table import Table

# scalar type -> (number_types flags, Builder method suffix, element bytes)
SCALARS = {
    "bool": (nt.BoolFlags, "Bool", 1), "byte": (nt.Int8Flags, "Int8", 1), "ubyte": (nt.Uint8Flags, "Uint8", 1),
    "short": (nt.Int16Flags, "Int16", 2), "ushort": (nt.Uint16Flags, "Uint16", 2),
    "int": (nt.Int32Flags, "Int32", 4), "uint": (nt.Uint32Flags, "Uint32", 4),
    "long": (nt.Int64Flags, "Int64", 8), "ulong": (nt.Uint64Flags, "Uint64", 8),
    "float": (nt.Float32Flags, "Float32", 4), "double": (nt.Float64Flags, "Float64", 8),
}
ALIASES = {"int8": "byte", "uint8": "ubyte", "int16": "short", "uint16": "ushort", "int32": "int", "uint32": "uint",
           "int64": "long", "uint64": "ulong", "float32": "float", "float64": "double"}


@dataclass(frozen=True)
class Field:
    name: str  # snake_case, as the format names it
    attr: str  # the object API's camelCase attribute
    slot: int
    kind: str  # scalar, string, table, union_type, union, vector
    type: str  # scalar type, table or union name; for vectors the element's ("string" too)
    default: object = None
    elem_kind: str = ""  # vectors: scalar, string or table


@dataclass(frozen=True)
class TableDef:
    name: str
    fields: tuple[Field, ...]
    slots: int


def camel(snake: str) -> str:
    """flatc's object API attribute name: `opcode_index` -> `opcodeIndex`."""
    head, *rest = snake.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _declarations(text: str) -> list[str]:
    """Lines of a section, continuation lines joined to the one above."""
    out: list[str] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        if line[0].isspace() and out:
            out[-1] += " " + line.strip()
        else:
            out.append(line.strip())
    return out


def _parse_enums(text: str) -> dict[str, tuple[str, list[str]]]:
    enums = {}
    for decl in _declarations(text):
        head, members = decl.split(":", 1)
        name, storage = head.split()
        enums[name] = (ALIASES.get(storage, storage), members.split())
    return enums


def _parse_unions(text: str) -> dict[str, list[str]]:
    return {head.strip(): members.split() for head, members in (d.split(":", 1) for d in _declarations(text))}


def _default(text: str | None, scalar: str, enum_members: list[str] | None):
    if text is None:
        return False if scalar == "bool" else 0.0 if scalar in ("float", "double") else 0
    if enum_members and text in enum_members:
        return enum_members.index(text)
    if scalar == "bool":
        return text == "true"
    return float(text) if scalar in ("float", "double") else int(text)


def _parse_tables(text: str, enums: dict, unions: dict) -> dict[str, TableDef]:
    tables = {}
    for decl in _declarations(text):
        name, body = decl.split(":", 1)
        fields, slot = [], 0
        for item in body.split():
            if item == "-":
                slot += 1
                continue
            fname, _, spec = item.partition(":")
            type_text, _, default_text = spec.partition("=")
            default_text = default_text or None
            if type_text.startswith("["):
                elem = type_text[1:-1]
                elem = enums[elem][0] if elem in enums else ALIASES.get(elem, elem)
                elem_kind = "scalar" if elem in SCALARS else "string" if elem == "string" else "table"
                fields.append(Field(fname, camel(fname), slot, "vector", elem, None, elem_kind))
            elif type_text in unions:
                fields.append(Field(fname + "_type", camel(fname) + "Type", slot, "union_type", "ubyte", 0))
                slot += 1
                fields.append(Field(fname, camel(fname), slot, "union", type_text))
            elif type_text == "string":
                fields.append(Field(fname, camel(fname), slot, "string", "string"))
            elif type_text in enums or ALIASES.get(type_text, type_text) in SCALARS:
                storage, members = enums.get(type_text, (ALIASES.get(type_text, type_text), None))
                fields.append(Field(fname, camel(fname), slot, "scalar", storage,
                                    _default(default_text, storage, members)))
            else:
                fields.append(Field(fname, camel(fname), slot, "table", type_text))
            slot += 1
        tables[name.strip()] = TableDef(name.strip(), tuple(fields), slot)
    for members in unions.values():  # members without a line: tables without fields
        for member in members:
            tables.setdefault(member, TableDef(member, (), 0))
    return tables


class _Object:
    """Base of the `<Table>T` classes: attributes are the table's fields."""

    _def: TableDef
    _ns: types.SimpleNamespace

    def __init__(self, **values):
        for f in self._def.fields:
            setattr(self, f.attr, f.default)
        for key, value in values.items():
            setattr(self, key, value)

    @classmethod
    def InitFromBuf(cls, buf, pos):
        return cls._unpack(Table(buf, pos))

    @classmethod
    def InitFromPackedBuf(cls, buf, pos=0):
        n = flatbuffers.encode.Get(flatbuffers.packer.uoffset, buf, pos)
        return cls.InitFromBuf(buf, pos + n)

    @classmethod
    def InitFromObj(cls, handle):
        return cls._unpack(handle._tab)

    @classmethod
    def _unpack(cls, tab: Table):
        obj = cls()
        for f in cls._def.fields:
            o = tab.Offset(4 + 2 * f.slot)
            if f.kind in ("scalar", "union_type"):
                if o:
                    value = tab.Get(SCALARS[f.type][0], o + tab.Pos)
                    setattr(obj, f.attr, bool(value) if f.type == "bool" else value)
            elif o == 0:
                continue
            elif f.kind == "string":
                setattr(obj, f.attr, tab.String(o + tab.Pos))
            elif f.kind == "table":
                setattr(obj, f.attr, cls._ns.object_class(f.type)._unpack(Table(tab.Bytes, tab.Indirect(o + tab.Pos))))
            elif f.kind == "union":
                member = cls._ns.union_member(f.type, getattr(obj, camel(f.name) + "Type"))
                if member is not None:
                    table = Table(bytearray(), 0)
                    tab.Union(table, o)
                    setattr(obj, f.attr, member._unpack(table))
            else:
                setattr(obj, f.attr, cls._unpack_vector(tab, o, f))
        return obj

    @classmethod
    def _unpack_vector(cls, tab: Table, o: int, f: Field):
        if f.elem_kind == "scalar":
            return tab.GetVectorAsNumpy(SCALARS[f.type][0], o)
        start, n = tab.Vector(o), tab.VectorLen(o)
        if f.elem_kind == "string":
            return [tab.String(start + 4 * j) for j in range(n)]
        elem = cls._ns.object_class(f.type)
        return [elem._unpack(Table(tab.Bytes, tab.Indirect(start + 4 * j))) for j in range(n)]

    def Pack(self, builder: flatbuffers.Builder) -> int:
        offsets = {}
        for f in self._def.fields:  # offsets first, in field order, as flatc's Pack
            value = getattr(self, f.attr)
            if value is None or f.kind in ("scalar", "union_type"):
                continue
            if f.kind == "string":
                offsets[f.attr] = builder.CreateString(value)
            elif f.kind in ("table", "union"):
                offsets[f.attr] = value.Pack(builder)
            else:
                offsets[f.attr] = _pack_vector(builder, value, f)
        builder.StartObject(self._def.slots)
        for f in self._def.fields:
            if f.kind in ("scalar", "union_type"):
                getattr(builder, f"Prepend{SCALARS[f.type][1]}Slot")(f.slot, getattr(self, f.attr), f.default)
            elif f.attr in offsets:
                builder.PrependUOffsetTRelativeSlot(f.slot, offsets[f.attr], 0)
        return builder.EndObject()

    def __repr__(self):
        shown = ", ".join(f"{f.attr}={getattr(self, f.attr)!r}" for f in self._def.fields
                          if getattr(self, f.attr) is not None)
        return f"{type(self).__name__}({shown})"


def _pack_vector(builder: flatbuffers.Builder, values, f: Field) -> int:
    import numpy as np

    if f.elem_kind == "scalar":
        if type(values) is np.ndarray:
            return builder.CreateNumpyVector(values)
        size = SCALARS[f.type][2]
        prepend = getattr(builder, "Prepend" + SCALARS[f.type][1])
        builder.StartVector(size, len(values), size)
        for v in reversed(values):
            prepend(v)
        return builder.EndVector()
    if f.elem_kind == "string":
        items = [builder.CreateString(v) for v in values]
    else:
        items = [v.Pack(builder) for v in values]
    builder.StartVector(4, len(items), 4)
    for item in reversed(items):
        builder.PrependUOffsetTRelative(item)
    return builder.EndVector()


class _Handle:
    """A table inside a buffer (flatc's reader class instance), for `<Table>T.InitFromObj`."""

    __slots__ = ("_tab",)

    def __init__(self, buf, pos):
        self._tab = Table(buf, pos)


def _reader_class(name: str) -> type:
    def GetRootAs(cls, buf, offset=0):
        n = flatbuffers.encode.Get(flatbuffers.packer.uoffset, buf, offset)
        return _Handle(buf, n + offset)

    return type(name, (), {"GetRootAs": classmethod(GetRootAs)})


def load(enums_text: str, unions_text: str, tables_text: str) -> types.SimpleNamespace:
    """The namespace of enum classes, `<Table>T` classes and root readers for a format description."""
    enums = _parse_enums(enums_text)
    unions = _parse_unions(unions_text)
    tables = _parse_tables(tables_text, enums, unions)
    ns = types.SimpleNamespace()
    for name, (_, members) in enums.items():
        setattr(ns, name, type(name, (), {m: i for i, m in enumerate(members)}))
    for name, members in unions.items():
        setattr(ns, name, type(name, (), {"NONE": 0, **{m: i + 1 for i, m in enumerate(members)}}))
    for name, table in tables.items():
        setattr(ns, name + "T", type(name + "T", (_Object,), {"_def": table, "_ns": ns}))
        setattr(ns, name, _reader_class(name))

    def object_class(name: str) -> type:
        return getattr(ns, name + "T")

    def union_member(union: str, code: int):
        members = unions[union]
        return object_class(members[code - 1]) if 1 <= code <= len(members) else None

    ns.object_class = object_class
    ns.union_member = union_member
    ns.tables = tables
    ns.enums = {name: members for name, (_, members) in enums.items()}
    ns.unions = unions
    return ns

