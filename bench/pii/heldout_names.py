"""Held-out name check: PERSON recall on "First Last" names from non-en_US Faker locales.

The corpus draws names from the same Faker en_US lists the name lexicon ships, so its PERSON
recall is optimistic; these locales' names are mostly not in the lexicon. Run
`.venv/bin/python bench/pii/heldout_names.py` (`--seed N` for another draw).
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

from faker import Faker

sys.path.insert(0, str(Path(__file__).parent))
import corpus
from run import covered

from portico.privacy._lexicon import load_lexicon
from portico.privacy.detector import PiiDetector

LOCALES = ("en_GB", "en_IN", "fr_FR", "es_ES", "de_DE", "en_NZ")
PER_LOCALE = 50


def samples(seed: int) -> list[corpus.Sample]:
    rng = random.Random(seed)
    out: list[corpus.Sample] = []
    for i, loc in enumerate(LOCALES):
        fake = Faker(loc)
        fake.seed_instance(seed + i)
        for _ in range(PER_LOCALE):
            name = f"{fake.first_name()} {fake.last_name()}"
            template = rng.choice(corpus._TEMPLATES["PERSON"])
            out.append(corpus._fill(template, "PERSON", name))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=corpus.SEED)
    ap.add_argument("--show", type=int, default=0, help="print this many misses")
    args = ap.parse_args()
    det = PiiDetector()
    known = load_lexicon({}).first_names
    data = samples(args.seed)
    hits = 0
    shown = 0
    for s in data:
        preds = det.detect(s.text)
        if covered(s.gold[0], preds):
            hits += 1
        elif shown < args.show:
            shown += 1
            _, a, b = s.gold[0]
            print(f"MISS {s.text[a:b]!r} in {s.text!r}")
    in_lex = sum(s.text[s.gold[0][1]:s.gold[0][2]].split()[0] in known for s in data)
    print(f"held-out names: {len(data)} ({in_lex} first names in the lexicon), "
          f"PERSON recall {hits / len(data):.3f} (seed {args.seed})")


if __name__ == "__main__":
    main()
