"""Near-duplicate fingerprints: the labelled pairs, the thresholds, determinism, revisions."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingest.dedup.neardup import (
    BANDS,
    MIN_WORDS,
    NUM_PERM,
    Fingerprint,
    band_keys,
    fingerprint,
    same_language,
    same_story,
    similarity,
    tokens,
)
from ingest.dedup.revisions import describe_changes

PAIRS = Path(__file__).parent.parent / "data" / "neardup" / "pairs.jsonl"
WORDS = [
    *("harbour", "council", "ferry", "budget", "bridge", "rain", "school", "train", "strike"),
    *("court", "museum", "farmer", "market", "river", "minister", "report", "police", "vote"),
    *("tram", "library", "garden", "clinic", "pilot", "whale", "storm", "chip", "rent"),
]


def _load_pairs() -> list[dict[str, Any]]:
    return [json.loads(line) for line in PAIRS.read_text(encoding="utf-8").splitlines() if line]


def _fp(text: str) -> Fingerprint:
    fp = fingerprint(text)
    assert fp is not None, "text too short to fingerprint"
    return fp


def predicted_same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """What the store decides: a shared LSH band key, the language rule, then verification."""
    fa, fb = _fp(a["text"]), _fp(b["text"])
    candidate = bool(set(band_keys(fa)) & set(band_keys(fb)))
    return candidate and same_language(a["language"], b["language"]) and same_story(fa, fb)


def test_labelled_pairs_have_the_promised_shape() -> None:
    pairs = _load_pairs()
    labels = Counter(p["label"] for p in pairs)
    assert len(pairs) >= 40 and labels["same"] >= 20 and labels["different"] >= 20
    kinds = {p["kind"] for p in pairs}
    assert {"light-edits", "added-paragraph", "dropped-paragraph", "boilerplate"} <= kinds
    assert {"shared-quote", "shared-background", "same-topic", "translation"} <= kinds
    for pair in pairs:
        for side in ("a", "b"):
            assert 150 <= len(pair[side]["text"].split()) <= 600, (pair["id"], side)


def test_precision_and_recall_on_the_labelled_pairs() -> None:
    pairs = _load_pairs()
    outcome: Counter[str] = Counter()
    wrong = []
    for pair in pairs:
        truth = pair["label"] == "same"
        guess = predicted_same(pair["a"], pair["b"])
        outcome[
            {(True, True): "tp", (False, True): "fp", (True, False): "fn"}.get((truth, guess), "tn")
        ] += 1
        if truth != guess:
            wrong.append(pair["id"])
    precision = outcome["tp"] / max(1, outcome["tp"] + outcome["fp"])
    recall = outcome["tp"] / max(1, outcome["tp"] + outcome["fn"])
    figures = (
        f"{len(pairs)} pairs: precision {precision:.3f}, recall {recall:.3f} "
        f"(tp {outcome['tp']}, fp {outcome['fp']}, fn {outcome['fn']}, tn {outcome['tn']}); "
        f"wrong: {wrong or 'none'}"
    )
    print(figures)
    assert precision >= 0.95 and recall >= 0.95, figures


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        pytest.param(MIN_WORDS - 1, False, id="one-word-short"),
        pytest.param(MIN_WORDS, True, id="just-long-enough"),
        pytest.param(5000, True, id="long"),
    ],
)
def test_short_texts_get_no_fingerprint(words: int, expected: bool) -> None:
    text = " ".join(WORDS[i % len(WORDS)] + str(i) for i in range(words))
    assert (fingerprint(text) is not None) is expected


def test_fingerprints_are_fixed_across_runs_and_versions() -> None:
    """Stored signatures must keep matching new ones: any change here needs a reindex."""
    fp = _fp(" ".join(f"{w} {i}" for i, w in enumerate(WORDS * 3)))
    assert len(fp.signature) == NUM_PERM * 4
    assert hashlib.sha256(fp.signature).hexdigest()[:16] == "656f2557a8d3ca0e"
    keys = band_keys(fp)
    assert len(keys) == BANDS
    assert keys[0] == 5717420931572925949
    assert all(-(2**63) <= k < 2**63 for k in keys)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "The Council's BUDGET, approved!",
            ["the", "council", "s", "budget", "approved"],
            id="latin",
        ),
        pytest.param("ﬁnal ｆｕｌｌ-width", ["final", "full", "width"], id="compatibility-forms"),
        pytest.param(
            "市议会批准预算", ["市", "议", "会", "批", "准", "预", "算"], id="chinese-per-character"
        ),
        pytest.param("iPhone手机 2026年", ["iphone", "手", "机", "2026", "年"], id="mixed-scripts"),
        pytest.param("snake_case_word", ["snake", "case", "word"], id="underscores-split"),
    ],
)
def test_tokens(text: str, expected: list[str]) -> None:
    assert tokens(text) == expected


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        pytest.param("en", "en", True, id="same"),
        pytest.param("en", "en-GB", True, id="region-ignored"),
        pytest.param("en", "de", False, id="translation"),
        pytest.param("en", None, True, id="one-unknown"),
        pytest.param(None, "", True, id="both-unknown"),
    ],
)
def test_same_language(a: str | None, b: str | None, expected: bool) -> None:
    assert same_language(a, b) is expected
    assert same_language(b, a) is expected


_paragraph = st.lists(st.sampled_from(WORDS), min_size=20, max_size=60).map(" ".join)


@given(st.lists(_paragraph, min_size=3, max_size=8), st.lists(_paragraph, min_size=3, max_size=8))
def test_similarity_is_symmetric_and_exact_for_identical_texts(
    left: list[str], right: list[str]
) -> None:
    a, b = fingerprint("\n\n".join(left)), fingerprint("\n\n".join(right))
    if a is None or b is None:
        return
    assert similarity(a, b) == similarity(b, a)
    assert same_story(a, b) is same_story(b, a)
    assert similarity(a, a).jaccard == 1.0 and similarity(a, a).containment == 1.0


def test_case_and_whitespace_do_not_change_the_fingerprint() -> None:
    text = " ".join(f"{w} {i}" for i, w in enumerate(WORDS * 3))
    assert fingerprint(text) == fingerprint("  " + text.upper().replace(" ", "\n\n  ") + "\n")


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        pytest.param(("T", "a\n\nb"), ("T", "a\n\nb\n\nc\n\nd"), "+2 paragraphs", id="added"),
        pytest.param(("T", "a\n\nb\n\nc"), ("T", "a\n\nc"), "-1 paragraph", id="removed"),
        pytest.param(("T", "a\n\nb\n\nc"), ("T", "a\n\nB\n\nc"), "1 paragraph edited", id="edited"),
        pytest.param(
            ("T", "a\n\nb"),
            ("U", "a\n\nx\n\ny\n\nz"),
            "+2 paragraphs, 1 paragraph edited, title changed",
            id="mixed",
        ),
        pytest.param(("T", "a  b"), ("T", "a b"), "whitespace or formatting only", id="whitespace"),
        pytest.param((None, "a"), ("T", "a"), "title changed", id="title-only"),
    ],
)
def test_describe_changes(
    old: tuple[str | None, str], new: tuple[str | None, str], expected: str
) -> None:
    assert describe_changes(old[0], old[1], new[0], new[1]) == expected
