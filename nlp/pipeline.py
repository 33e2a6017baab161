"""Building the tagging pipeline for a language.

Every pipeline starts from ``spacy.blank(lang)`` (no trained model is needed or
downloaded) and adds, in order: glossary concepts, indicators, countries and
the civilian-impact priority. A trained pipeline the user installed and named
in the configuration runs beside them (:mod:`nlp.entities`), so its entities
come along; when it is missing, a warning says so and the rules tag alone.
"""

from __future__ import annotations

import logging
import threading

import spacy
from spacy.language import Language

# Imported for their @Language.factory registrations.
import nlp.countries
import nlp.glossary_matcher
import nlp.indicators
import nlp.priority  # noqa: F401
from briefings.errors import BriefingsError
from glossary import glossary_version
from nlp.affix_search import (
    fast_infix_finditer,
    fast_prefix_search,
    fast_required_match,
    fast_suffix_search,
)
from nlp.doctext import TextKeepingTokenizer
from nlp.entities import trained_model_identity  # (and the entities factory)

log = logging.getLogger(__name__)

SUPPORTED_LANGUAGES = ("en", "fr", "es", "ar", "ru", "zh")
FALLBACK_LANGUAGE = "xx"  # spaCy's multi-language tokenizer
MAX_CHARS = 2_000_000
# spaCy's Chinese character segmenter is quadratic in the text's length (measured:
# 0.27 s for 100k characters, about 145 s for 2M): Chinese texts are cut shorter.
MAX_CHARS_BY_LANG = {"zh": 100_000}


def max_chars(lang: str | None) -> int:
    return MAX_CHARS_BY_LANG.get(lang or "", MAX_CHARS)


COMPONENTS = (
    "briefings_glossary",
    "briefings_indicators",
    "briefings_countries",
    "briefings_priority",
)
# Added after them when a trained pipeline is configured for the language.
TRAINED_ENTITIES = "briefings_entities"


def build_pipeline(
    lang: str, *, glossary_paths: list[str] | None = None, trained_model: str | None = None
) -> Language:
    """A tagging pipeline for ``lang``; unknown languages get the multi-language tokenizer."""
    nlp = _blank(lang)
    config = {"glossary_paths": glossary_paths}
    nlp.add_pipe("briefings_glossary", config=config)
    nlp.add_pipe("briefings_indicators")
    nlp.add_pipe("briefings_countries")
    nlp.add_pipe("briefings_priority", config=config)
    if trained_model:
        _add_trained_entities(nlp, lang, trained_model)
    nlp.max_length = MAX_CHARS
    compute_only_what_is_read(nlp)
    keep_room_in_the_tokenizer_cache(nlp)
    use_fast_tokenizer_searches(nlp)  # last: the components may have changed the rules
    nlp.tokenizer = TextKeepingTokenizer(nlp.tokenizer)  # indicators read the text as given
    return nlp


def compute_only_what_is_read(nlp: Language) -> bool:
    """Make new words' lexemes with only the lexical attributes the components read.

    spaCy fills 23 attributes for each word it meets for the first time (shape, prefix,
    suffix, like_url, like_num, is_stop...), each by a Python function: about 4 us a new
    word, a quarter of what a blank tokenizer spends on fresh Arabic or English text. The
    components name what they read (``lexical_attributes``); the others are left unset
    (0, "" or False) on lexemes made from now on. Nothing is dropped when a component does
    not say what it reads. Returns whether attributes were dropped.
    """
    read: set[int] = set()
    for _, component in nlp.pipeline:
        attributes = getattr(component, "lexical_attributes", None)
        if attributes is None:
            return False
        read.update(attributes)
    getters = nlp.vocab.lex_attr_getters  # the Vocab's own dict: other pipelines keep theirs
    for attribute in [a for a in getters if a not in read]:
        del getters[attribute]
    return True


def keep_room_in_the_tokenizer_cache(nlp: Language) -> None:
    """Give the tokenizer's cache room for the texts' words beside the patterns'.

    spaCy's tokenizer caches the split of up to ``max_cache_size`` (10,000) distinct
    strings and then stops caching. Building the matchers tokenizes tens of thousands
    of patterns (Arabic and Russian forms above all), which filled it: every word of
    the texts then went through the prefix, suffix and infix rules again (measured on
    Arabic: 1.7 instead of 0.2 microseconds per word). Emptying the cache does not help
    (spaCy's map keeps counting deleted entries), so the limit grows by the number of
    strings the patterns added, a bound on what they cached.
    """
    if hasattr(nlp.tokenizer, "max_cache_size"):  # rule-based tokenizers only
        nlp.tokenizer.max_cache_size += len(nlp.vocab.strings)


def use_fast_tokenizer_searches(nlp: Language) -> list[str]:
    """Give the tokenizer the searches of :mod:`nlp.affix_search`: the same splits, each
    prefix, suffix, infix and URL search at a fraction of its cost per new word. Returns
    the attributes replaced (a tokenizer without such rules, or rules of another shape,
    keeps its own)."""
    tokenizer = nlp.tokenizer
    makers = (
        ("prefix_search", fast_prefix_search),
        ("suffix_search", fast_suffix_search),
        ("infix_finditer", fast_infix_finditer),
        ("url_match", fast_required_match),
        ("token_match", fast_required_match),
    )
    found = {attribute: make(getattr(tokenizer, attribute, None)) for attribute, make in makers}
    fast = {attribute: search for attribute, search in found.items() if search is not None}
    # Each of these setters loads every special case again (measured: 330 ms for the five
    # of English): with no special cases meanwhile, they are loaded once, at the end.
    rules = tokenizer.rules if fast else None
    if rules:
        tokenizer.rules = {}
    for attribute, search in fast.items():
        setattr(tokenizer, attribute, search)
    if rules:
        tokenizer.rules = rules
    return list(fast)


def _add_trained_entities(nlp: Language, lang: str, trained_model: str) -> None:
    """The trained pipeline's entities component; nothing depends on it, so a pipeline
    that is missing or cannot be loaded (another spaCy's, a damaged config) is a warning
    and the rules tag alone."""
    try:
        nlp.add_pipe(TRAINED_ENTITIES, config={"model": trained_model})
    except (OSError, ImportError) as exc:  # what spacy.load raises for a missing pipeline
        problem = f"is not installed ({_first_line(exc)})"
    except Exception as exc:
        problem = f"cannot be loaded ({type(exc).__name__}: {_first_line(exc)})"
    else:
        return
    log.warning(
        "trained spaCy pipeline %r for %s %s; using rules only", trained_model, lang, problem
    )


def _first_line(exc: Exception) -> str:
    return next((line for line in str(exc).splitlines() if line.strip()), "")


def _blank(lang: str) -> Language:
    try:
        return spacy.blank(lang)
    except (ImportError, KeyError, ValueError, OSError) as exc:
        # spaCy raises ImportError for unknown codes (no spacy.lang module).
        log.warning(
            "no spaCy language %r (%s); using the multi-language tokenizer",
            lang,
            type(exc).__name__,
        )
        return spacy.blank(FALLBACK_LANGUAGE)


class PipelineCache:
    """One pipeline per language per process, built on first use; thread-safe.

    The glossary files are hashed on each :meth:`get` (about a millisecond), and the
    trained pipelines' versions read: when either changed, every pipeline is built
    again, so a long-lived process (``briefings serve``) tags with what
    :func:`nlp.tagging.tagger_version` names.
    """

    def __init__(
        self,
        *,
        glossary_paths: list[str] | None = None,
        trained_models: dict[str, str] | None = None,
    ):
        self.glossary_paths = glossary_paths
        self.trained_models = trained_models or {}
        self._pipelines: dict[str, Language] = {}
        self._version: tuple | None = None
        self._lock = threading.Lock()

    def _current_version(self) -> tuple:
        models = sorted(
            (lang, trained_model_identity(name)) for lang, name in self.trained_models.items()
        )
        return glossary_version(self.glossary_paths), tuple(models)

    def get(self, lang: str | None) -> Language:
        key = lang or FALLBACK_LANGUAGE
        version = self._current_version()
        with self._lock:
            if version != self._version:
                if self._pipelines:
                    log.info("the glossary or a trained pipeline changed (%s); rebuilding the "
                             "tagging pipelines", version)  # fmt: skip
                self._pipelines.clear()
                self._version = version
            if key not in self._pipelines:
                try:
                    self._pipelines[key] = build_pipeline(
                        key,
                        glossary_paths=self.glossary_paths,
                        trained_model=self.trained_models.get(key),
                    )
                except BriefingsError:
                    raise
                except Exception as exc:
                    raise BriefingsError(
                        f"Cannot build the tagging pipeline for {key!r}: {exc}"
                    ) from exc
            return self._pipelines[key]
