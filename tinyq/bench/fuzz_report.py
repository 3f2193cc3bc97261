"""The table and JSON of `tinyq bench fuzz` (tinyq/bench/fuzz.py runs it)."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict

from tinyq.bench.fuzz import COMMANDS, MAX_MESSAGE, FuzzReport, Outcome
from tinyq.tables import table

STATUS_ORDER = ("accepted", "refused", "crash", "hang", "died", "partial", "bad message")
VERIFY_ORDER = ("accepted", "differs", "tflm refuses", "crash", "hang", "died")


def _listing(title: str, outcomes: list[Outcome], by_model: bool = False) -> list[str]:
    """Each distinct (status, signature) -- or (status, model) -- with its count and one example to
    reproduce it from."""
    lines = ["", f"{title}: {len(outcomes):,}"]
    key = (lambda o: (o.status, o.model)) if by_model else (lambda o: (o.status, o.signature))
    for sig, n in Counter(key(o) for o in outcomes).most_common():
        example = next(o for o in outcomes if key(o) == sig)
        lines.append(f"  {n:>5}  {sig[0]}: {sig[1]}")
        lines.append(f"         e.g. {example.command} {example.model} seed {example.seed}: {example.mutation[:120]}")
        if example.message:
            lines.append(f"         {example.message[:200]}")
    return lines


def format_table(report: FuzzReport) -> str:
    statuses = list(STATUS_ORDER) + sorted({o.status for o in report.outcomes} - set(STATUS_ORDER))
    commands = [c for c in COMMANDS if any(o.command == c for o in report.outcomes)]
    lines = [f"tinyq bench fuzz: {report.files():,} mutated files, {len(report.outcomes):,} command runs, "
             f"{report.seconds:.0f} s", ""]
    counts = {c: Counter(o.status for o in report.outcomes if o.command == c) for c in commands}
    counts["all"] = Counter(o.status for o in report.outcomes)
    lines.append(table(("command",) + tuple(statuses),
                       [(c,) + tuple(f"{n.get(s, 0):,}" for s in statuses) for c, n in counts.items()], align="lr"))
    refused = [o for o in report.outcomes if o.status == "refused"]
    if refused:
        no_hint = sum(1 for o in refused if not o.has_hint)
        long_lines = sum(1 for o in refused if len(o.message.removeprefix("tinyq: error: ")) > MAX_MESSAGE)
        distinct = len({o.message.split(": ", 2)[-1][:80] for o in refused})
        lines += ["", f"refusals: {len(refused):,} ({distinct:,} distinct messages), {no_hint:,} without a hint "
                      f"({100 * no_hint / len(refused):.1f}%), {long_lines:,} longer than {MAX_MESSAGE} characters"]
    base = Counter(o.status for o in report.baseline)
    if report.baseline:
        lines += ["", "unmutated models: " + ", ".join(f"{n:,} {s}" for s, n in sorted(base.items()))]
    lines += _listing("defects (crash, hang, died, partial output, bad message)", report.defects())
    if report.verified:
        counts = Counter(o.status for o in report.verified)
        lines += ["", f"tinyq verify on {len(report.verified):,} accepted files: "
                      f"{counts.pop('accepted', 0):,} bit-exact with TFLM" +
                      "".join(f", {n:,} {s}" for s, n in sorted(counts.items()))]
        lines += _listing("accepted but wrong (differs from TFLM, or TFLM refuses it)", report.disagreements(),
                          by_model=True)
    if report.sanitizer:
        s = report.sanitizer
        lines += ["", f"ASan+UBSan sample: {s['sampled']} accepted models, {s['compiled']} compiled with "
                      f"-Wall -Wextra -Werror, {s['clean']} ran clean on {s['inputs']} inputs each, "
                      f"{len(s['failures'])} failures"]
        for f in s["failures"][:20]:
            lines.append(f"  {f['model']} seed {f['seed']}: {f['stage']}: {f['detail'][:200]}")
    return "\n".join(lines)


def as_json(report: FuzzReport) -> str:
    return json.dumps({"files": report.files(), "seconds": round(report.seconds, 1),
                       "counts": {c: dict(Counter(o.status for o in report.outcomes if o.command == c))
                                  for c in COMMANDS},
                       "defects": [asdict(o) for o in report.defects()],
                       "verified": dict(Counter(o.status for o in report.verified)),
                       "disagreements": [asdict(o) for o in report.disagreements()],
                       "refusals_without_hint": sum(1 for o in report.outcomes
                                                    if o.status == "refused" and not o.has_hint),
                       "sanitizer": report.sanitizer}, indent=2)
