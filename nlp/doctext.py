"""A Doc's text without rebuilding it from its tokens.

``doc.text`` joins every token's text: it creates one Python ``Token`` per word,
which measured 0.3-0.4 microseconds per word, more than tokenizing (about 0.2 on
warm text). The tagging pipeline's tokenizer is wrapped in
:class:`TextKeepingTokenizer`, which keeps the string it was given in
``doc.user_data``; components that scan the text (indicators) read it with
:func:`doc_text`, which falls back to ``doc.text`` for a Doc made elsewhere.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from spacy.tokens import Doc

TEXT_KEY = "briefings.text"


def doc_text(doc: Doc) -> str:
    """The text ``doc`` was made from."""
    text = doc.user_data.get(TEXT_KEY)
    if text is None:
        return doc.text  # made by another tokenizer
    if doc:
        last = doc[-1]
        if len(text) != last.idx + len(last.text_with_ws):
            return doc.text  # changed since
    elif text:
        return doc.text
    return text


class TextKeepingTokenizer:
    """Wraps a tokenizer (any callable text -> Doc) and keeps the text in the Doc.

    Everything else (``suffix_search``, serialization, ``explain``...) is the wrapped
    tokenizer's, read and set through this object.
    """

    def __init__(self, tokenizer: Any):
        object.__setattr__(self, "tokenizer", tokenizer)

    def __call__(self, text: str) -> Doc:
        doc = self.tokenizer(text)
        doc.user_data[TEXT_KEY] = text
        return doc

    def pipe(self, texts: Iterable[str], batch_size: int = 1000) -> Iterator[Doc]:
        for text in texts:
            yield self(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.tokenizer, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self.tokenizer, name, value)
