"""Near-duplicate fingerprints: the same story under another headline, lightly edited.

A body text becomes a set of word shingles (``SHINGLE_WORDS`` consecutive words), hashed to 32
bits; a MinHash signature keeps, for each of ``NUM_PERM`` fixed hash functions, the smallest
hash over the set, so two signatures agree in a position with probability equal to the Jaccard
similarity of the two sets. Cutting the signature into ``BANDS`` bands of ``ROWS`` values gives
the LSH keys: texts with Jaccard 0.5 share at least one key with probability 0.998, unrelated
texts (Jaccard 0.02) with probability 0.0004, so a store looks up only the few articles that
share a key and verifies each from the two signatures (:func:`same_story`).

Everything is deterministic: the hash functions come from fixed seeds, never from a per-run
random state, so a signature computed today matches one stored a year ago. Changing any
parameter here changes every signature, and a stored index must then be rebuilt.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

#: Words per shingle. Four keeps one changed word from spoiling more than four shingles while
#: stock phrases ("said on Monday that") stay too short to make unrelated stories look alike.
SHINGLE_WORDS = 4
#: Texts with fewer words are never matched on text alone (only by exact content hash):
#: a few dozen words are too few shingles to tell "same report" from "same phrasing".
MIN_WORDS = 50
#: Hash functions in a signature, and how the LSH cuts them into bands.
BANDS = 48
ROWS = 3
NUM_PERM = BANDS * ROWS
#: Estimated Jaccard similarity at or above which two texts are one story.
JACCARD_SAME = 0.5
#: A smaller text this much contained in a larger one is the same story with paragraphs added,
#: provided the Jaccard similarity is still at least ``JACCARD_CONTAINED``.
CONTAINMENT_SAME = 0.8
JACCARD_CONTAINED = 0.4

_HASH_KEY = b"newsflow-neardup-v1"
_CHUNK = 4096  # shingles hashed per numpy step, so a huge text never needs a huge matrix
# Scripts written without spaces between words: each character is one token.
_NO_SPACE = (
    "\u0e00-\u0eff"  # Thai, Lao
    "\u1000-\u109f"  # Myanmar
    "\u1780-\u17ff"  # Khmer
    "\u3040-\u30ff"  # Hiragana, Katakana
    "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"  # CJK ideographs
)
_TOKEN = re.compile(rf"[{_NO_SPACE}]|(?:(?![{_NO_SPACE}])[^\W_])+")


def _parameters() -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64]]:
    """The fixed multiply-add-shift hash family: ``h(x) = ((a*x + b) mod 2**64) >> 32``.

    With ``a``, ``b`` 64-bit and ``x`` 32-bit this family is strongly universal (Dietzfelbinger
    1996), which is all MinHash needs. Seeds come from blake2b of the index, not from an RNG.
    """
    a, b = [], []
    for i in range(NUM_PERM):
        digest = hashlib.blake2b(f"minhash-{i}".encode(), digest_size=16, key=_HASH_KEY).digest()
        a.append(int.from_bytes(digest[:8], "little") | 1)
        b.append(int.from_bytes(digest[8:], "little"))
    return np.array(a, dtype=np.uint64), np.array(b, dtype=np.uint64)


_A, _B = _parameters()


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """What the store keeps of a text to find and verify its near-duplicates."""

    signature: bytes  # NUM_PERM little-endian uint32 minimums
    shingle_count: int  # distinct shingles, to turn a Jaccard estimate into containment


@dataclass(frozen=True, slots=True)
class Similarity:
    """Estimated overlap of two texts' shingle sets."""

    jaccard: float  # |A ∩ B| / |A ∪ B|
    containment: float  # |A ∩ B| / min(|A|, |B|): how much of the smaller text is in the other


def tokens(text: str) -> list[str]:
    """Split a text into comparable words: case, compatibility forms and punctuation folded."""
    return _TOKEN.findall(unicodedata.normalize("NFKC", text).casefold())


#: The keyed hash with its key block already absorbed: a copy hashes one shingle. Keying a
#: new blake2b object per shingle costs a compression of the key block each time, which made
#: up a third of a page's fingerprint (issue #16); the digests are the same.
_KEYED_HASH = hashlib.blake2b(digest_size=4, key=_HASH_KEY)


def _shingle_hashes(words: list[str]) -> set[int]:
    hashes = set()
    new_hash = _KEYED_HASH.copy
    from_bytes = int.from_bytes
    for start in range(len(words) - SHINGLE_WORDS + 1):
        shingle = "\x1f".join(words[start : start + SHINGLE_WORDS]).encode("utf-8", "replace")
        digest = new_hash()
        digest.update(shingle)
        hashes.add(from_bytes(digest.digest(), "little"))
    return hashes


def fingerprint(text: str) -> Fingerprint | None:
    """Fingerprint a body text; None when it is too short to be matched on text alone."""
    words = tokens(text)
    if len(words) < MIN_WORDS:
        return None
    values = np.fromiter(_shingle_hashes(words), dtype=np.uint64)
    minimums = np.full(NUM_PERM, np.iinfo(np.uint64).max, dtype=np.uint64)
    for start in range(0, len(values), _CHUNK):
        chunk = values[start : start + _CHUNK]
        hashed = (_A[:, None] * chunk[None, :] + _B[:, None]) >> np.uint64(32)
        minimums = np.minimum(minimums, hashed.min(axis=1))
    return Fingerprint(minimums.astype("<u4").tobytes(), len(values))


def band_keys(fp: Fingerprint) -> list[int]:
    """The LSH keys of a fingerprint: one signed 64-bit integer per band (fits BIGINT)."""
    width = ROWS * 4
    return [
        int.from_bytes(
            hashlib.blake2b(
                band.to_bytes(2, "little") + fp.signature[band * width : (band + 1) * width],
                digest_size=8,
                key=_HASH_KEY,
            ).digest(),
            "little",
            signed=True,
        )
        for band in range(BANDS)
    ]


def similarity(a: Fingerprint, b: Fingerprint) -> Similarity:
    """Estimate Jaccard similarity and containment from two signatures, no text needed."""
    sig_a = np.frombuffer(a.signature, dtype="<u4")
    sig_b = np.frombuffer(b.signature, dtype="<u4")
    jaccard = float(np.count_nonzero(sig_a == sig_b)) / NUM_PERM
    # |A ∩ B| = J (|A| + |B|) / (1 + J), from J = |A ∩ B| / (|A| + |B| - |A ∩ B|).
    common = jaccard * (a.shingle_count + b.shingle_count) / (1 + jaccard)
    smaller = min(a.shingle_count, b.shingle_count)
    return Similarity(jaccard, min(1.0, common / smaller) if smaller else 0.0)


def same_story(a: Fingerprint, b: Fingerprint) -> bool:
    """Decide whether two fingerprinted texts are one story (symmetric, so order never matters).

    Most republished copies share half their shingles or more. A copy with a paragraph or two
    of local material added has a lower Jaccard but still contains nearly all of the shorter
    text. Two different reports that share a quote or a background paragraph do neither.
    """
    sim = similarity(a, b)
    return sim.jaccard >= JACCARD_SAME or (
        sim.jaccard >= JACCARD_CONTAINED and sim.containment >= CONTAINMENT_SAME
    )


def same_language(a: str | None, b: str | None) -> bool:
    """True unless both languages are known and differ: a translation is another article."""
    if not a or not b:
        return True
    return a.split("-")[0].casefold() == b.split("-")[0].casefold()
