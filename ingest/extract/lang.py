"""Decide an article's language (ISO 639-1): markup first, py3langid when markup is missing or
clearly wrong."""

from __future__ import annotations

import re
import threading
from functools import cache

import numpy as np
from py3langid.langid import MODEL_FILE, LanguageIdentifier

from ingest.extract.candidates import Candidate

__all__ = ["choose_language", "detect_language", "load_model", "normalize_language"]

# Detection reads a prefix: a thousand characters settle the question.
_DETECT_CHARS = 1000
_MIN_DETECT_CHARS = 40
# Overrule the markup only on a long body and a confident verdict: templates often declare
# the site's default language on every page, whatever the article is written in.
_OVERRULE_CHARS = 400
_OVERRULE_CONFIDENCE = 0.95
_MIN_CONFIDENCE = 0.5

_TAG = re.compile(r"^([A-Za-z]{2,3})(?:[-_].*)?$")
_THREE_LETTER = {
    "eng": "en", "deu": "de", "ger": "de", "fra": "fr", "fre": "fr", "spa": "es", "ita": "it",
    "por": "pt", "nld": "nl", "dut": "nl", "rus": "ru", "ara": "ar", "zho": "zh", "chi": "zh",
    "jpn": "ja", "kor": "ko", "pol": "pl", "tur": "tr", "ukr": "uk", "swe": "sv", "fas": "fa",
    "per": "fa", "heb": "he", "hin": "hi", "urd": "ur",
}  # fmt: skip
# Old or alternative codes still seen in markup.
_RENAMED = {"iw": "he", "in": "id", "ji": "yi", "jw": "jv", "nb": "no"}


def normalize_language(value: str | None) -> str | None:
    """Return the ISO 639-1 code of a language tag ("en-US", "en_GB", "deu"), or None."""
    if not value:
        return None
    match = _TAG.match(value.strip())
    if match is None:
        return None
    code = match.group(1).lower()
    if len(code) == 3:
        return _THREE_LETTER.get(code)
    return _RENAMED.get(code, code)


_MODEL_LOCK = threading.Lock()


def _identifier() -> LanguageIdentifier:
    # Pages are extracted in worker threads, and @cache does not stop two of them loading the
    # model at once: each load costs about 100 MB, so six threads took 550 MB at startup.
    with _MODEL_LOCK:
        return _load_identifier()


@cache
def _load_identifier() -> LanguageIdentifier:
    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    # Only two-letter codes: the model also knows ISO 639-3 varieties newsflow cannot store.
    identifier.set_languages([code for code in identifier.labels if len(code) == 2])
    # Scoring gathers one row of feature weights per feature seen. Restricting the languages
    # leaves the table column-major, so each row is spread over a hundred cache lines; a
    # row-major copy (same values, same size) makes the gather several times faster.
    identifier.nb_ptc = np.ascontiguousarray(identifier.nb_ptc)
    return identifier


def load_model() -> None:
    """Load the language model now rather than on the first page that needs it.

    The extraction workers' fork server does (``ingest.preload``), so that every worker it
    forks starts with the model in memory instead of spending half a second loading its own.
    """
    _identifier()


def detect_language(text: str) -> tuple[str, float] | None:
    """Return ``(code, confidence)`` for a text long enough to judge, else None."""
    sample = text[:_DETECT_CHARS]
    if len(sample.strip()) < _MIN_DETECT_CHARS:
        return None
    code, confidence = _identifier().classify(sample)
    return str(code), float(confidence)


def choose_language(
    markup: list[Candidate[str]], text: str, feed_language: str | None
) -> Candidate[str] | None:
    """Pick the language: declared markup, unless a long body clearly says otherwise."""
    declared = next(
        (
            Candidate(code, c.source, c.origin, c.value)
            for c in markup
            if (code := normalize_language(c.value))
        ),
        None,
    )
    # Declared markup is only overruled by a long text: a short one need not be read.
    needed = declared is None or len(text) >= _OVERRULE_CHARS
    detected = detect_language(text) if needed else None
    if declared is not None:
        if (
            detected is not None
            and detected[0] != declared.value
            and detected[1] >= _OVERRULE_CONFIDENCE
            and len(text) >= _OVERRULE_CHARS
        ):
            return Candidate(detected[0], "detected", "py3langid")
        return declared
    if detected is not None and detected[1] >= _MIN_CONFIDENCE:
        return Candidate(detected[0], "detected", "py3langid")
    feed = normalize_language(feed_language)
    return Candidate(feed, "feed", "entry.language") if feed else None
