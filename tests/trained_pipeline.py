"""A small trained spaCy pipeline, made for the tests (model hubs are unreachable here).

Not a test module and not a conftest: test files ``import trained_pipeline as tp``.
:func:`train_ner` trains a real ``ner`` component on ``spacy.blank("en")`` with a few
sentences (about two seconds) and saves it as a folder that ``spacy.load`` and the
``[tagging] trained_models`` setting accept. Tests compare what the tagging stores with
what the saved pipeline itself finds, so they do not depend on how well it learnt.
"""

from __future__ import annotations

import random
from pathlib import Path

import spacy
from spacy.training import Example

# (text, [(entity text, label)]): names the glossary does not know.
TRAINING = [
    ("Zorblat Industries said Marta Quell led the response.",
     [("Zorblat Industries", "ORG"), ("Marta Quell", "PERSON")]),
    ("Marta Quell briefed Vexmoor officials on the ransomware attack.",
     [("Marta Quell", "PERSON"), ("Vexmoor", "GPE")]),
    ("Hospitals in Vexmoor were hit, Zorblat Industries confirmed.",
     [("Vexmoor", "GPE"), ("Zorblat Industries", "ORG")]),
    ("The Vexmoor water board and Zorblat Industries share a supplier.",
     [("Vexmoor", "GPE"), ("Zorblat Industries", "ORG")]),
    ("Investigators from Zorblat Industries met Marta Quell in Vexmoor.",
     [("Zorblat Industries", "ORG"), ("Marta Quell", "PERSON"), ("Vexmoor", "GPE")]),
    ("A phishing campaign targeted schools, officials said on Monday.", []),
]  # fmt: skip


def _example(nlp: spacy.Language, text: str, entities: list[tuple[str, str]]) -> Example:
    offsets = []
    for name, label in entities:
        start = text.index(name)
        offsets.append((start, start + len(name), label))
    return Example.from_dict(nlp.make_doc(text), {"entities": offsets})


def train_ner(folder: Path, *, version: str = "0.0.1", iterations: int = 30) -> Path:
    """Train the pipeline and save it to ``folder`` (its ``meta.json`` has ``version``)."""
    spacy.util.fix_random_seed(0)
    nlp = spacy.blank("en")
    nlp.add_pipe("ner")
    examples = [_example(nlp, text, entities) for text, entities in TRAINING]
    optimizer = nlp.initialize(lambda: examples)
    rng = random.Random(0)
    for _ in range(iterations):
        rng.shuffle(examples)
        nlp.update(examples, sgd=optimizer, drop=0.1)
    nlp.meta["name"] = "briefings_test_ner"
    nlp.meta["version"] = version
    nlp.to_disk(folder)
    return folder
