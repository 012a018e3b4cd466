"""The leaderboard's terminal tables escape names as rich does, without importing rich."""

import random

from rich.markup import escape

from lrbench.presentation.leaderboard import escape_markup


def test_escape_markup_is_rich_escape():
    cases = ["", "bm25", "[bold]x[/bold]", "a [b] c", "\\[x]", "\\\\[y]", "ends\\", "ends\\\\", "[#ff0000]", "[/]",
             "[@click]", "[A]", "[1]", "nDCG@10 [dim](baseline)", "x[[a]]", "[a][b]\\", "\\\\\\[z] tail\\"]
    rng = random.Random(0)
    alphabet = "ab[]\\/#@ 1A"
    cases += ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12))) for _ in range(5000)]
    for text in cases:
        assert escape_markup(text) == escape(text), text


def test_escape_markup_differs_from_identity():
    # the check above must be able to fail: a tag is escaped, a plain name is kept
    assert escape_markup("[bold]x") != "[bold]x"
    assert escape_markup("plain") == "plain"
