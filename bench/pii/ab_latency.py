"""A/B latency: this tree's PiiDetector against the detector.py of an older git revision.

Both run in one process on the same 1 KB messages, interleaved message by message, so a busy
shared machine slows both alike; the ratio is the number to trust, not the absolute times.
`.venv/bin/python bench/pii/ab_latency.py a64de5a` (a commit from before the model-pass work).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import corpus
from run import kb_messages

from portico.privacy.detector import PiiDetector

ROOT = Path(__file__).resolve().parents[2]


def old_detector(revision: str) -> object:
    source = subprocess.run(
        ["git", "show", f"{revision}:src/portico/privacy/detector.py"],
        cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(source)
    spec = importlib.util.spec_from_file_location("old_detector", f.name)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["old_detector"] = module   # dataclasses look their module up here
    spec.loader.exec_module(module)
    os.unlink(f.name)
    return module.PiiDetector()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("revision")
    ap.add_argument("--messages", type=int, default=200)
    args = ap.parse_args()
    pii, clean = corpus.build()
    texts = kb_messages(pii, clean, args.messages)
    detectors = {"this tree": PiiDetector(), args.revision: old_detector(args.revision)}
    cpu: dict[str, list[float]] = {name: [] for name in detectors}
    for det in detectors.values():
        for text in texts[:20]:
            det.detect(text)  # type: ignore[attr-defined]
    same = 0
    for text in texts:
        found = []
        for name, det in detectors.items():
            start = time.process_time()
            found.append(det.detect(text))  # type: ignore[attr-defined]
            cpu[name].append((time.process_time() - start) * 1000)
        same += found[0] == found[1]
    for name, times in cpu.items():
        times.sort()
        print(f"{name}: CPU p50 {statistics.median(times):.2f} ms, "
              f"p99 {times[int(len(times) * 0.99) - 1]:.2f} ms per 1 KB")
    ratio = statistics.median(cpu["this tree"]) / statistics.median(cpu[args.revision])
    print(f"ratio {ratio:.2f}; identical detections on {same}/{len(texts)} messages; "
          f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
