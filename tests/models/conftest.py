import pathlib
import re

import pytest

DOC = pathlib.Path(__file__).resolve().parents[2] / "docs" / "MODELS.md"


@pytest.fixture(scope="session")
def documented():
    """`documented(pattern)`: the numbers (`1,614,195` -> 1614195) that the
    groups of `pattern` match in docs/MODELS.md, read with line breaks and
    bold marks folded away, so the tests check the figures the doc states
    rather than copies of them that could drift apart."""
    text = re.sub(r"\s+", " ", DOC.read_text().replace("**", ""))

    def numbers(pattern):
        match = re.search(pattern, text)
        assert match, f"docs/MODELS.md no longer states {pattern!r}"
        return tuple(int(g.replace(",", "")) for g in match.groups())

    return numbers
