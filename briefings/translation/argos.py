"""The one adapter to Argos Translate, CTranslate2 and SentencePiece.

Nothing here imports them at module load, so importing :mod:`briefings` never
loads a model or touches the user's home folder. Two things go through them:

- **packages**, with argostranslate's own package code (``Package``,
  ``install_from_path``, ``uninstall``, the package index). argostranslate reads
  its settings, and creates its data, config and cache folders, when it is first
  imported. :func:`argos_package` therefore sets ``ARGOS_PACKAGES_DIR`` and
  ``XDG_DATA_HOME``/``XDG_CONFIG_HOME``/``XDG_CACHE_HOME`` to the workspace before
  that first import, and restores the environment right after (other libraries in
  the process are not redirected). If argostranslate was imported before (by
  another workspace in the same process, or by a caller who imported it first),
  the same settings are pointed at this workspace instead, under a lock held for
  the whole call. A program that wants argostranslate's module-level defaults to
  be the workspace's from the start must make this the first import of it.
- **models**: a package's ``model/`` folder is loaded once per process with
  ``ctranslate2.Translator`` (CPU, int8 by default, one worker thread per core) and
  its ``sentencepiece.model``; whole batches of segments go through
  ``translate_batch``. Argos' own ``translate()`` is not used: its sentence
  splitter downloads a model, and its decoder turns ``_`` into spaces.

Exceptions of these libraries become :class:`TranslationError` naming the file.

**No telemetry.** ``argostranslate.translate`` imports minisbd, which loads ONNX
Runtime; from version 1.29 ONNX Runtime sends usage events to Microsoft on Linux too,
and keeps a device id and an event queue under ``~/.cache/Microsoft`` and a session
file in the temporary folder, as soon as it is loaded. :func:`opt_out_of_telemetry`
sets its documented opt-out before any argostranslate import here (and the tools,
benchmarks and tests call it too): this software handles restricted briefings and
must not talk to anyone it was not told to.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
import threading
from collections.abc import Callable, Iterator, MutableMapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from briefings.errors import TranslationError

if TYPE_CHECKING:
    from briefings.config import TranslationSettings

log = logging.getLogger(__name__)

_settings_lock = threading.RLock()
_models_lock = threading.Lock()
_models: dict[tuple, Ct2Model] = {}

_REINSTALL = "briefings models install FILE.argosmodel"

# The libraries' telemetry switches, read when they load: ONNX Runtime's (1DS on
# Linux and macOS) turns off uploads, the device id and the offline event queue.
TELEMETRY_OPT_OUTS = {"ORT_DISABLE_TELEMETRY": "1"}


def opt_out_of_telemetry(environ: MutableMapping[str, str] = os.environ) -> None:
    """Set each library's telemetry opt-out in ``environ`` (this process's environment
    by default, which child processes inherit) unless it is set already: a value the
    user chose is kept."""
    for name, value in TELEMETRY_OPT_OUTS.items():
        environ.setdefault(name, value)


#: Punctuation pieces after which a too-long segment is best cut.
_CUT_AFTER = tuple(".;:!?,؛،。")


@dataclass(frozen=True)
class ArgosDirs:
    """Where argostranslate keeps things for one workspace."""

    packages: Path  # installed packages, one folder each
    home: Path  # argostranslate's data, config and cache folders

    @property
    def environment(self) -> dict[str, str]:
        return {
            "ARGOS_PACKAGES_DIR": str(self.packages),
            "XDG_DATA_HOME": str(self.home / "data"),
            "XDG_CONFIG_HOME": str(self.home / "config"),
            "XDG_CACHE_HOME": str(self.home / "cache"),
        }


def _import_settings(dirs: ArgosDirs) -> ModuleType:
    opt_out_of_telemetry()  # before anything of argostranslate is imported
    if "argostranslate.settings" in sys.modules:
        return sys.modules["argostranslate.settings"]
    saved = {name: os.environ.get(name) for name in dirs.environment}
    os.environ.update(dirs.environment)
    try:
        return importlib.import_module("argostranslate.settings")
    except Exception as exc:  # argostranslate missing or failing at import
        raise TranslationError(
            f"Cannot load Argos Translate ({type(exc).__name__}: {exc}). "
            "Install it: pip install argos-translate-lt"
        ) from exc
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _point_settings(settings: ModuleType, dirs: ArgosDirs) -> None:
    """The values argostranslate would have computed at import from ``dirs``."""
    data = dirs.home / "data" / "argos-translate"
    config = dirs.home / "config" / "argos-translate"
    cache = dirs.home / "cache" / "argos-translate"
    for folder in (dirs.packages, data, config, cache / "downloads"):
        folder.mkdir(parents=True, exist_ok=True)
    settings.data_dir = data
    settings.config_dir = config
    settings.cache_dir = cache
    settings.downloads_dir = cache / "downloads"
    settings.settings_file = config / "settings.json"
    settings.local_package_index = data / "index.json"
    settings.package_data_dir = dirs.packages
    settings.package_dirs = [dirs.packages]


@contextmanager
def argos_package(dirs: ArgosDirs) -> Iterator[ModuleType]:
    """``argostranslate.package`` with its settings pointed at ``dirs`` while in use."""
    with _settings_lock:
        settings = _import_settings(dirs)
        _point_settings(settings, dirs)
        yield importlib.import_module("argostranslate.package")


@dataclass(frozen=True)
class PackageMetadata:
    """What argostranslate reads from a package folder's ``metadata.json``."""

    name: str  # argospm's name, e.g. "translate-en_fr"
    from_code: str
    to_code: str
    version: str
    has_sentencepiece: bool


def read_package(dirs: ArgosDirs, path: Path) -> PackageMetadata:
    """Read an installed package folder with argostranslate's ``Package``."""
    with argos_package(dirs) as package:
        try:
            pkg = package.Package(path)
        except Exception as exc:  # FileNotFoundError, JSONDecodeError, ...
            raise TranslationError(
                f"{path} is not a readable Argos package ({type(exc).__name__}: {exc}); "
                f"remove it: briefings models remove {path.name}"
            ) from exc
        return PackageMetadata(
            name=package.argospm_package_name(pkg),
            from_code=str(pkg.from_code or ""),
            to_code=str(pkg.to_code or ""),
            version=str(pkg.package_version or ""),
            has_sentencepiece=(path / "sentencepiece.model").is_file(),
        )


def install_archive(dirs: ArgosDirs, archive: Path) -> None:
    """Unpack an ``.argosmodel`` into the packages folder (argostranslate's installer)."""
    with argos_package(dirs) as package:
        try:
            package.install_from_path(archive)
        except Exception as exc:
            raise TranslationError(f"{archive}: installing it failed: {exc}") from exc


def uninstall(dirs: ArgosDirs, path: Path) -> None:
    with argos_package(dirs) as package:
        try:
            package.uninstall(package.Package(path))
        except Exception as exc:
            raise TranslationError(f"Cannot remove the package at {path}: {exc}") from exc


def download_from_index(dirs: ArgosDirs, from_code: str, to_code: str) -> Path:
    """Fetch the package for ``from_code``->``to_code`` from the Argos package index
    (network); returns the downloaded ``.argosmodel`` file."""
    with argos_package(dirs) as package:
        settings = sys.modules["argostranslate.settings"]
        index = Path(settings.local_package_index)
        index.unlink(missing_ok=True)  # a stale index must not pass for a fresh one
        package.update_package_index()  # logs and returns on failure
        if not index.exists():
            raise TranslationError(
                f"Cannot reach the Argos package index ({settings.remote_package_index}); "
                f"offline? Install from a file instead: briefings models install FILE.argosmodel"
            )
        matches = [
            p
            for p in package.get_available_packages()
            if p.from_code == from_code and p.to_code == to_code
        ]
        if not matches:
            raise TranslationError(
                f"The Argos package index has no package for {from_code}->{to_code}"
            )
        try:
            return Path(matches[0].download())
        except Exception as exc:
            raise TranslationError(
                f"Downloading the Argos package for {from_code}->{to_code} failed: {exc}"
            ) from exc


# -- models ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelSettings:
    """How CTranslate2 runs a model; the defaults suit a CPU machine and are those of
    ``[translation]`` in ``briefings.toml`` (:meth:`from_config`)."""

    device: str = "cpu"
    compute_type: str = "int8"
    threads: int = 0  # CPU threads in all; 0: one per usable CPU core
    inter_threads: int = 0  # batches translated at the same time; 0: one per thread
    beam_size: int = 4
    max_batch_size: int = 32
    max_source_tokens: int = 200  # the small models' position table holds 256
    max_decoding_length: int = 250
    chunk: int = 256  # segments per translate_batch call (progress is reported per chunk)

    @classmethod
    def from_config(cls, config: TranslationSettings) -> ModelSettings:
        """The settings of a workspace's ``[translation]`` table."""
        return cls(
            compute_type=config.compute_type,
            threads=config.threads,
            inter_threads=config.inter_threads,
            beam_size=config.beam_size,
            max_batch_size=config.max_batch_size,
            max_source_tokens=config.max_source_tokens,
            max_decoding_length=config.max_source_tokens + 50,
        )

    @property
    def layout(self) -> tuple[int, int]:
        """CTranslate2's ``(inter_threads, intra_threads)``.

        By default one worker per usable core, each with one thread: the engine sends
        whole runs of segments, which CTranslate2 cuts into batches and spreads over
        its workers (sharing the weights). Measured on 2 cores (bench/translate.py),
        that is faster than one worker with two threads, whose threads wait on each
        other after every small step of decoding.
        """
        total = self.threads or _usable_cpus()
        workers = self.inter_threads or total
        return workers, max(1, total // workers)


def _usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0)) or 1  # a container's or taskset's share
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


@dataclass
class ModelOutput:
    texts: list[str]
    split: set[int]  # indexes of inputs cut into pieces for being too long
    calls: int = 0  # translate_batch calls made for them


class Ct2Model:
    """One package's CTranslate2 model and SentencePiece tokenizer."""

    def __init__(self, package_dir: Path, settings: ModelSettings):
        self.package_dir = package_dir
        self.settings = settings
        try:
            import ctranslate2
            import sentencepiece
        except ImportError as exc:
            raise TranslationError(
                f"CTranslate2 or SentencePiece is not installed ({exc}). "
                "Install them: pip install ctranslate2 sentencepiece"
            ) from exc
        self._ctranslate2 = ctranslate2
        self._translator: Any = None
        self._lock = threading.Lock()
        self.batch_calls = 0
        tokenizer = package_dir / "sentencepiece.model"
        try:
            self.sp = sentencepiece.SentencePieceProcessor(model_file=str(tokenizer))
        except Exception as exc:  # RuntimeError, OSError from the native library
            raise TranslationError(
                f"Cannot load {tokenizer}: {exc}. Reinstall it: {_REINSTALL}"
            ) from exc

    @property
    def translator(self) -> Any:
        """The CTranslate2 translator, loaded on first use (a memory hit needs none)."""
        with self._lock:
            if self._translator is None:
                self._translator = self._load_translator()
        return self._translator

    def _load_translator(self) -> Any:
        inter_threads, intra_threads = self.settings.layout
        try:
            return self._ctranslate2.Translator(
                str(self.package_dir / "model"),
                device=self.settings.device,
                compute_type=self.settings.compute_type,
                inter_threads=inter_threads,
                intra_threads=intra_threads,
            )
        except Exception as exc:  # RuntimeError, OSError from the native library
            raise TranslationError(
                f"Cannot load the model of the Argos package at {self.package_dir}: {exc}. "
                f"Reinstall it: {_REINSTALL}"
            ) from exc

    def token_count(self, text: str) -> int:
        return len(self.sp.encode(text, out_type=str))

    def is_too_long(self, text: str) -> bool:
        """True when ``text`` is cut into pieces before the model sees it."""
        return self.token_count(text) > self.settings.max_source_tokens

    def _pieces(self, text: str) -> list[list[str]]:
        """``text`` as SentencePiece pieces, cut into runs the model can take."""
        pieces = self.sp.encode(text, out_type=str)
        limit = self.settings.max_source_tokens
        runs = []
        while len(pieces) > limit:
            cut = _cut_point(pieces, limit)
            runs.append(pieces[:cut])
            pieces = pieces[cut:]
        runs.append(pieces)
        return [run for run in runs if run]

    def translate(
        self, texts: list[str], on_progress: Callable[[int], None] | None = None
    ) -> ModelOutput:
        """Translate ``texts``, longest first in chunks, each chunk one batch call."""
        runs: list[list[str]] = []
        owner: list[int] = []
        split: set[int] = set()
        for index, text in enumerate(texts):
            pieces = self._pieces(text)
            if len(pieces) > 1:
                split.add(index)
            runs += pieces
            owner += [index] * len(pieces)
        order = sorted(range(len(runs)), key=lambda i: -len(runs[i]))
        decoded: list[str] = [""] * len(runs)
        remaining = [0] * len(texts)  # runs still to translate, per text
        for index in owner:
            remaining[index] += 1
        size = self.settings.chunk
        calls = 0
        for start in range(0, len(order), size):
            chosen = order[start : start + size]
            longest = len(runs[chosen[0]])  # longest first
            cap = min(self.settings.max_decoding_length, 3 * longest + 10)
            translator = self.translator
            try:
                self.batch_calls += 1
                calls += 1
                results = translator.translate_batch(
                    [runs[i] for i in chosen],
                    max_batch_size=self.settings.max_batch_size,
                    beam_size=self.settings.beam_size,
                    max_decoding_length=cap,
                    replace_unknowns=True,
                    length_penalty=0.2,
                )
            except Exception as exc:
                raise TranslationError(
                    f"The model of {self.package_dir.name} failed on a batch: {exc}"
                ) from exc
            finished = 0
            for i, result in zip(chosen, results, strict=True):
                decoded[i] = self.sp.decode_pieces(result.hypotheses[0]).strip()
                remaining[owner[i]] -= 1
                finished += remaining[owner[i]] == 0
            if on_progress is not None and finished:
                on_progress(finished)
        out = [""] * len(texts)
        for i, text in enumerate(decoded):
            out[owner[i]] = f"{out[owner[i]]} {text}".strip()
        return ModelOutput(out, split, calls)


def _cut_point(pieces: list[str], limit: int) -> int:
    """Where to cut ``pieces`` before ``limit``: after punctuation, else at a word start."""
    for i in range(limit, limit // 2, -1):
        if pieces[i - 1].endswith(_CUT_AFTER):
            return i
    for i in range(limit, limit // 2, -1):
        if pieces[i].startswith("\u2581"):
            return i
    return limit


def load_model(package_dir: Path, settings: ModelSettings) -> Ct2Model:
    """The model of ``package_dir``, loaded once per process and settings."""
    model_file = package_dir / "model" / "model.bin"
    try:
        stamp = model_file.stat().st_mtime_ns
    except OSError as exc:
        raise TranslationError(
            f"{package_dir}: no model/model.bin ({exc.strerror}). "
            "Reinstall it: briefings models install FILE.argosmodel"
        ) from exc
    key: tuple[Any, ...] = (str(package_dir), stamp, settings)
    with _models_lock:
        model = _models.get(key)
        if model is None:
            model = Ct2Model(package_dir, settings)
            _models[key] = model
            log.info("loaded model %s", package_dir.name)
        return model
