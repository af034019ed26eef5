"""Fitting skips sizes by arithmetic only where line breaking would have refused them: the
sizes, lines and errors are exactly those of trying every size."""

from __future__ import annotations

import random

import pytest

from labels import text as fitting
from labels.errors import LabelDoesNotFit
from labels.text import TextBlock, esc, fit_blocks

WORDS = [
    "take",
    "one",
    "capsule",
    "by",
    "mouth",
    "at",
    "bedtime",
    "naltrexone",
    "hydrochloride",
    "4.5",
    "mg",
    "Maria-Guadalupe",
]


def _blocks(rng: random.Random) -> list[TextBlock]:
    blocks = []
    for i in range(rng.randint(1, 6)):
        words = [rng.choice(WORDS) for _ in range(rng.randint(1, 40))]
        markup = esc(" ".join(words), "f")
        if rng.random() < 0.3:
            markup = f"<b>{markup[:10]}</b>{markup[10:]}" if "&" not in markup[:12] else markup
        blocks.append(
            TextBlock(
                f"f{i}",
                markup,
                size=rng.choice([8.0, 9.0, 10.0, 12.0, 14.0]),
                min_size=6.0,
                max_lines=rng.randint(1, 3),
                bold=rng.random() < 0.3,
                boxed=rng.random() < 0.2,
                rule_after=rng.random() < 0.2,
            )
        )
    return blocks


def _outcome(blocks, width, height):
    try:
        return [
            (f.block.field, f.size, f.lines, f.text_height)
            for f in fit_blocks(blocks, width, height, "t")
        ]
    except LabelDoesNotFit as exc:
        return ("does not fit", exc.field)


@pytest.mark.parametrize("seed", range(40))
def test_same_result_as_trying_every_size(seed, monkeypatch):
    rng = random.Random(seed)
    blocks = _blocks(rng)
    width, height = rng.choice([150.0, 200.0, 280.0]), rng.choice([60.0, 100.0, 140.0])
    fast = _outcome(blocks, width, height)
    monkeypatch.setattr(fitting, "_lines_at_least", lambda *a: 0.0)  # every size wrapped
    fitting._largest_within_lines.cache_clear()  # cached results came from the bound
    assert fast == _outcome(blocks, width, height)
    fitting._largest_within_lines.cache_clear()


def test_the_word_width_bound_never_exceeds_the_real_lines():
    block = TextBlock("d", esc("Take 1 capsule by mouth at bedtime " * 6, "d"), 10.0, max_lines=9)
    for size in (6.0, 8.0, 10.0, 14.0):
        real = fitting._wrap(block, size, 180.0).lines
        assert real >= 2 and fitting._lines_at_least(block, size, 180.0) <= real
