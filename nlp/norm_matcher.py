"""One NORM PhraseMatcher pass per Doc, shared by the components that match phrases.

The glossary, countries and priority components all match phrases on the folded
NORM (:mod:`nlp.normalization`). A PhraseMatcher pass costs about the same per token
whatever the number of patterns (measured on English: 0.06 microseconds per word for
the glossary's patterns, 0.03 for the countries' and 0.03 for the signal words'
alone), so a pipeline has one matcher (:func:`shared_norm_matcher`) to which each
component adds its patterns under keys of its own (:meth:`SharedNormMatcher.owner`).
The first of them to see a Doc runs it; the others get the same matches back and
keep those whose key they added.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable
from operator import itemgetter

from spacy.language import Language
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc

_MATCH_ID = itemgetter(0)

# Pipeline -> its shared matcher. Weak, so a pipeline that is dropped takes its matcher.
_SHARED: weakref.WeakKeyDictionary[Language, SharedNormMatcher] = weakref.WeakKeyDictionary()


class SharedNormMatcher:
    """A NORM PhraseMatcher that remembers its matches for the last Doc it ran on."""

    def __init__(self, vocab):
        self.vocab = vocab
        self.matcher = PhraseMatcher(vocab, attr="NORM")
        self._owners = 0
        self._last: tuple[weakref.ref, int, list[tuple[int, int, int]], frozenset[int]] | None = (
            None
        )

    def owner(self, name: str) -> str:
        """A key prefix no other component instance has: a component replaced by another
        of the same name does not add to its predecessor's patterns."""
        self._owners += 1
        return f"{name}#{self._owners}:"

    def add(self, key: str, docs: Iterable[Doc]) -> None:
        self.matcher.add(key, list(docs))
        self._last = None

    def __call__(self, doc: Doc) -> list[tuple[int, int, int]]:
        """``(match_id, start, end)`` of every pattern of every owner, as PhraseMatcher
        gives them. Run once per Doc: asked again about the same Doc (same object, same
        length), returns the same list; do not change it."""
        last = self._last  # the check of _matched, without its call (the others ask again)
        if last is not None and last[0]() is doc and last[1] == len(doc):
            return last[2]
        return self._matched(doc)[2]

    def match_ids(self, doc: Doc) -> frozenset[int]:
        """The match ids among :meth:`__call__`'s matches, made once per Doc: an owner
        whose keys are disjoint from them has nothing to do, without a loop over matches
        that are all other owners' (countries and signals in most Docs)."""
        last = self._last
        if last is not None and last[0]() is doc and last[1] == len(doc):
            return last[3]
        return self._matched(doc)[3]

    def _matched(self, doc: Doc) -> tuple[weakref.ref, int, list, frozenset[int]]:
        last = self._last
        if last is not None and last[0]() is doc and last[1] == len(doc):
            return last
        matches = self.matcher(doc)
        # A tuple assigned at once: threads sharing the pipeline at worst match again.
        last = self._last = (
            weakref.ref(doc),
            len(doc),
            matches,
            frozenset(map(_MATCH_ID, matches)),
        )
        return last

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_last"] = None  # weak references do not pickle
        return state


def shared_norm_matcher(nlp: Language) -> SharedNormMatcher:
    """The pipeline's shared NORM matcher, made on first use."""
    shared = _SHARED.get(nlp)
    if shared is None or shared.vocab is not nlp.vocab:
        shared = _SHARED[nlp] = SharedNormMatcher(nlp.vocab)
    return shared
