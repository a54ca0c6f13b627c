"""Assign the dev/test split of the evaluation sets (`split` field on each line).

Run once when a set is first split (`python -m eval.split`); lines that already carry a split
keep it, so questions added later (all written as "test") are never moved. Stratified by user
type, style and answerability for questions, by jurisdiction for situations: within each
stratum, lines are ordered by a hash of their id and the first 40% (rounded up) go to test.

The questions and situations written later, from the documents and before any ombuds run
(q201-q348, q401-q499, s101-s172), were split once when they were added: the unanswerable ones
half and half; of the others 45% of each (user, style) stratum to dev (so that dev holds
questions in the style nobody tuned for) and the rest, 110 questions and 40 situations, to test.
Situations s201-s216 were written later still, the same way, from Labour Code articles and
conventions no situation had covered, and all went to dev: the dev situations had too few that
no report discusses, the kind a user brings and the graph cannot help with. s217-s228 were
added the same way a session later (a transfer past three months, a late reprimand, a sixty-hour
week, Sunday work without consent, pay for harmful work, a colleague's job on top of one's own,
medical checks, an unanswered notice, a suspension, an unreported injury, deportation to
torture, remote work), all to dev.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import defaultdict
from pathlib import Path

EVAL_DIR = Path(__file__).resolve().parent
TEST_SHARE = 0.4


def _order(item_id: str) -> str:
    return hashlib.sha1(item_id.encode()).hexdigest()


def assign(rows: list[dict], stratum) -> list[dict]:
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for r in rows:
        if "split" not in r:
            groups[stratum(r)].append(r)
    for members in groups.values():
        members.sort(key=lambda r: _order(r["id"]))
        n_test = math.ceil(TEST_SHARE * len(members))
        for i, r in enumerate(members):
            r["split"] = "test" if i < n_test else "dev"
    return rows


def rewrite(path: Path, stratum) -> None:
    rows = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
    assign(rows, stratum)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                    encoding="utf-8")


def main() -> None:
    rewrite(EVAL_DIR / "questions.jsonl", lambda q: (q["user"], q["style"], q["answerable"]))
    rewrite(EVAL_DIR / "situations.jsonl", lambda s: (s["jurisdiction"],))


if __name__ == "__main__":
    main()
