"""`tinyq eval`'s output: a table per task, the comparison line, confusion matrices; or JSON."""

from __future__ import annotations

import json
import math

import numpy as np

from tinyq.eval.evaluate import Evaluation, ModelFigures
from tinyq.eval.metrics import Regression
from tinyq.tables import table

MAX_CONFUSION_CLASSES = 20  # a larger confusion matrix is in --json only: no one reads a 1000-column table
REGRESSION_COLUMNS = (("RMSE", "rmse"), ("MAE", "mae"), ("L2 rel", "l2_relative"), ("cosine", "cosine"),
                      ("SQNR dB", "sqnr_db"))


def _number(value: float) -> str:
    if math.isinf(value):
        return "inf"
    return f"{value:.4g}" if abs(value) < 1e4 else f"{value:,.0f}"


def _regression_cells(r: Regression) -> list[str]:
    return [_number(getattr(r, attr)) for _, attr in REGRESSION_COLUMNS]


def _timing(f: ModelFigures) -> str:
    t = f.run.timing()
    if "instructions_median" in t:
        return f"{t['instructions_median']:,} instr/inference"
    if "cycles_median" in t:
        return f"{t['cycles_median']:,} cycles/inference"
    return ""


def _model_rows(ev: Evaluation) -> list[str]:
    header = ["model", "runs on"]
    rows = [[f.run.path.name, f.run.where] for f in ev.models]
    scored = [f for f in ev.models if f.classification or f.regression]
    if scored and ev.task == "classification":
        k = scored[0].classification.k
        header += ["top-1"] + ([f"top-{k}"] if k > 1 else [])
        for row, f in zip(rows, ev.models):
            c = f.classification
            row += [f"{c.top1:.4f}"] + ([f"{c.topk:.4f}"] if k > 1 else [])
    elif scored:
        header += [name for name, _ in REGRESSION_COLUMNS]
        for row, f in zip(rows, ev.models):
            row += _regression_cells(f.regression)
    if any(_timing(f) for f in ev.models):
        header.append("on target")
        for row, f in zip(rows, ev.models):
            row.append(_timing(f))
    return [table(header, rows, align="llr", indent="  ")]  # model and where left, figures right


def _confusion(f: ModelFigures) -> list[str]:
    m = f.classification.confusion
    return [f"confusion matrix of {f.run.path.name} (rows: true class, columns: predicted)",
            table(["true"] + [str(c) for c in range(m.shape[1])],
                  [[str(r)] + [str(int(v)) for v in row] for r, row in enumerate(m)], align="r", indent="  ")]


def format_text(ev: Evaluation, data: str, labels: str | None) -> str:
    scored_against = {"labels": f"labels {labels}", "input": "each sample's input (reconstruction error)"}
    reference = next((f.reference for f in ev.models if f.regression), "")
    what = f"{ev.task}, against {scored_against.get(reference, 'labels ' + str(labels))}" if labels or reference \
        else f"{ev.task}, no labels"
    scored = f", output {ev.output}" if ev.output else ""
    lines = [f"eval of {ev.samples} samples from {data} ({what}{scored})"] + _model_rows(ev)
    c = ev.comparison
    if c is not None:
        first, second = ev.models[0].run.path.name, ev.models[1].run.path.name
        agree = f"top-1 agreement {c.agreement:.4f}, " if c.agreement is not None else ""
        r = c.regression
        lines.append(f"{second} against {first}: {agree}output SQNR {_number(r.sqnr_db)} dB, RMSE {_number(r.rmse)}, "
                     f"MAE {_number(r.mae)}, L2 rel {_number(r.l2_relative)}, cosine {_number(r.cosine)}")
        if c.per_output:
            lines += [f"{second} against {first}, every output:",
                      table(["output"] + [name for name, _ in REGRESSION_COLUMNS],
                            [[name] + _regression_cells(r) for name, r in c.per_output], align="lr", indent="  ")]
    for f in ev.models:
        if f.classification is None:
            continue
        classes = f.classification.confusion.shape[0]
        lines += [""] + (_confusion(f) if classes <= MAX_CONFUSION_CLASSES else
                         [f"confusion matrix of {f.run.path.name}: {classes} x {classes}, in --json"])
    return "\n".join(lines)


def as_dict(ev: Evaluation, data: str, labels: str | None) -> dict:
    models = []
    for f in ev.models:
        entry = {"model": str(f.run.path), "runs_on": f.run.where, **f.run.timing()}
        if f.classification is not None:
            entry["classification"] = f.classification.as_dict()
        if f.regression is not None:
            entry["regression"] = {"against": f.reference, **f.regression.as_dict()}
        models.append(entry)
    result = {"data": data, "labels": labels, "task": ev.task, "samples": ev.samples, "output": ev.output or None,
              "models": models}
    if ev.comparison is not None:
        result["comparison"] = {"model": str(ev.models[1].run.path), "reference": str(ev.models[0].run.path),
                                "top1_agreement": ev.comparison.agreement, **ev.comparison.regression.as_dict()}
        if ev.comparison.per_output:
            result["comparison"]["outputs"] = [{"output": name, **r.as_dict()} for name, r in ev.comparison.per_output]
    return result


def format_json(ev: Evaluation, data: str, labels: str | None) -> str:
    return json.dumps(as_dict(ev, data, labels), indent=2, default=lambda o: o.tolist() if isinstance(o, np.ndarray)
                      else str(o))
