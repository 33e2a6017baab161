"""Zip a converted model as an ``.argosmodel`` and check that Argos Translate installs it.

Contract:

* :func:`write_package` writes ``translate-<from>_<to>-<version>.argosmodel``: a
  zip with exactly one top-level folder holding ``metadata.json``, ``README.md``,
  ``sentencepiece.model``, ``model/`` and (when the ``onnx`` package is there)
  ``minisbd/sentence-splitter.onnx``. Entries are sorted and dated 1980-01-01,
  so the same inputs give the same bytes.
* :func:`sentence_splitter` is a rule-based ONNX model in MiniSBD's format that
  ends a sentence at ``.``, ``!``, ``?`` (or ``؟``) followed by a space or the
  end of the text; with it, ``argostranslate.translate`` never tries to
  download a splitter.
* :func:`check_install` installs the file, unmodified, into temporary Argos
  folders in a child process (argostranslate reads its folders at import) and
  translates with the installed files, offline.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from briefings.translation.argos import opt_out_of_telemetry

logger = logging.getLogger(__name__)

PACKAGE_VERSION = "0.1"
ARGOS_VERSION = "1.9"
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def package_name(source_lang: str, target_lang: str, version: str = PACKAGE_VERSION) -> str:
    """``translate-en_fr-0_1``: the zip's folder name and, plus ``.argosmodel``, its file name."""
    return f"translate-{source_lang}_{target_lang}-{version.replace('.', '_')}"


def metadata(source_lang: str, target_lang: str, names: dict[str, str]) -> dict:
    return {
        "package_version": PACKAGE_VERSION,
        "argos_version": ARGOS_VERSION,
        "from_code": source_lang,
        "from_name": names[source_lang],
        "to_code": target_lang,
        "to_name": names[target_lang],
        "package_type": "translate",
        "type": "translate",
        "links": [],
        "dependencies": [],
    }


# --------------------------------------------------------------------------
# The rule-based sentence splitter (MiniSBD's ONNX interface)
# --------------------------------------------------------------------------

_UNITS = ["<PAD>", "<UNK>", "<EMPTY>", "<ROOT>", " ", ".", "!", "?", "\u061f"]
_ENDS = (".", "!", "?", "\u061f")


def sentence_splitter() -> bytes | None:
    """The ONNX bytes, or None when the ``onnx`` package is not installed.

    MiniSBD feeds ``units`` (character ids, int64, batch x length) and
    ``features`` (float, batch x length x 0) and takes the argmax of the output
    (batch x length x 5): class 2 ends a sentence, 0 continues it.
    """
    try:
        import onnx
        from onnx import TensorProto, helper
    except ImportError:
        logger.warning("The onnx package is missing: packages get no minisbd/ splitter")
        return None
    ids = {unit: i for i, unit in enumerate(_UNITS)}

    def const(name: str, values: list, dtype: int = TensorProto.INT64, dims=None):
        dims = [len(values)] if dims is None else dims
        return helper.make_node(
            "Constant", [], [name], value=helper.make_tensor(name, dtype, dims, values)
        )

    nodes = [const(f"id_{i}", [ids[e]], dims=[]) for i, e in enumerate(_ENDS)]
    nodes += [
        const("id_space", [ids[" "]], dims=[]),
        const("id_pad", [ids["<PAD>"]], dims=[]),
        const("one", [1]),
        const("big", [2**62]),
        const("pads", [0, 0, 0, 1]),
        const("pad_value", [1.0], TensorProto.FLOAT, dims=[]),
        const("axis2", [2]),
        const("split_row", [0.0, 0.0, 1.0, 0.0, 0.0], TensorProto.FLOAT),
        const("go_on_row", [1.0, 0.0, 0.0, 0.0, 0.0], TensorProto.FLOAT),
    ]
    ends = [f"is_{i}" for i in range(len(_ENDS))]
    nodes += [helper.make_node("Equal", ["units", f"id_{i}"], [ends[i]]) for i in range(len(ends))]
    nodes += [
        helper.make_node("Or", [ends[0], ends[1]], ["end_a"]),
        helper.make_node("Or", [ends[2], ends[3]], ["end_b"]),
        helper.make_node("Or", ["end_a", "end_b"], ["is_end"]),
        helper.make_node("Slice", ["units", "one", "big", "one"], ["next"]),
        helper.make_node("Equal", ["next", "id_space"], ["next_space"]),
        helper.make_node("Equal", ["next", "id_pad"], ["next_pad"]),
        helper.make_node("Or", ["next_space", "next_pad"], ["next_break"]),
        helper.make_node("Cast", ["next_break"], ["next_float"], to=TensorProto.FLOAT),
        helper.make_node("Pad", ["next_float", "pads", "pad_value"], ["break_float"]),
        helper.make_node("Cast", ["break_float"], ["breaks"], to=TensorProto.BOOL),
        helper.make_node("And", ["is_end", "breaks"], ["split"]),
        helper.make_node("Unsqueeze", ["split", "axis2"], ["split3"]),
        helper.make_node("Where", ["split3", "split_row", "go_on_row"], ["scores"]),
    ]
    graph = helper.make_graph(
        nodes,
        "rule-based-sentence-splitter",
        [
            helper.make_tensor_value_info("units", TensorProto.INT64, ["batch", "length"]),
            helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", "length", 0]),
        ],
        [helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["batch", "length", 5])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    vocab = {
        "lang": "",
        "idx": 0,
        "cutoff": 0,
        "lower": False,
        "_unit2id": ids,
        "_id2unit": _UNITS,
    }
    config = {"feat_funcs": [], "use_dictionary": False, "num_dict_feat": 0, "batch_size": 32}
    for key, value in (
        ("lang_code", "xx"),
        ("config", json.dumps(config)),
        ("vocab", json.dumps(vocab)),
        ("lexicon", "null"),
    ):
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.checker.check_model(model)
    return model.SerializeToString()


# --------------------------------------------------------------------------
# Writing the package
# --------------------------------------------------------------------------


def write_package(
    out_file: Path,
    folder_name: str,
    meta: dict,
    readme: str,
    sentencepiece_model: Path,
    ct2_dir: Path,
    splitter: bytes | None,
) -> Path:
    """Write the ``.argosmodel`` zip deterministically; return its path."""
    files: dict[str, bytes] = {
        "metadata.json": (json.dumps(meta, indent=2, ensure_ascii=False) + "\n").encode(),
        "README.md": readme.encode(),
        "sentencepiece.model": sentencepiece_model.read_bytes(),
    }
    for path in sorted(ct2_dir.iterdir()):
        files[f"model/{path.name}"] = path.read_bytes()
    if splitter is not None:
        files["minisbd/sentence-splitter.onnx"] = splitter
    out_file.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_file.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        folders = sorted({"", *(str(Path(n).parent) for n in files if "/" in n)})
        for folder in folders:
            info = zipfile.ZipInfo(f"{folder_name}/{folder}/".replace("//", "/"), _ZIP_DATE)
            info.external_attr = (0o40755 << 16) | 0x10
            zf.writestr(info, b"")
        for name in sorted(files):
            info = zipfile.ZipInfo(f"{folder_name}/{name}", _ZIP_DATE)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, files[name])
    tmp.replace(out_file)
    return out_file


# --------------------------------------------------------------------------
# Checking that Argos installs it and that it translates offline
# --------------------------------------------------------------------------


def check_install(argosmodel: Path, sentence: str) -> dict:
    """Install ``argosmodel`` into temporary Argos folders (child process) and translate.

    Returns the child's report: ``installed`` (package names), ``ctranslate2``
    (the sentence translated with the installed ``model/`` and
    ``sentencepiece.model``) and ``argos`` (``argostranslate.translate``'s own
    output, or its error).
    """
    with tempfile.TemporaryDirectory(prefix="argos-check-") as tmp:
        env = dict(os.environ)
        for var in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME"):
            env[var] = str(Path(tmp) / var.lower())
        env["ARGOS_PACKAGES_DIR"] = str(Path(tmp) / "packages")
        env["ARGOS_DEVICE_TYPE"] = "cpu"
        done = subprocess.run(
            [sys.executable, "-m", "tools.argos_models", "check-install", str(argosmodel)],
            input=sentence,
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
            cwd=Path(__file__).resolve().parents[2],
        )
    if done.returncode != 0:
        raise RuntimeError(f"Installing {argosmodel} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def installed_translation(argosmodel: Path, sentence: str) -> dict:
    """In the child: install, then translate ``sentence`` two ways (see check_install)."""
    opt_out_of_telemetry()  # before argostranslate.translate loads ONNX Runtime
    import ctranslate2
    import sentencepiece as spm
    from argostranslate import package as argos_package
    from argostranslate import translate as argos_translate

    argos_package.install_from_path(argosmodel)
    packages = argos_package.get_installed_packages()
    [pkg] = [p for p in packages if p.package_path.name == argosmodel.stem]
    sp = spm.SentencePieceProcessor(model_file=str(pkg.package_path / "sentencepiece.model"))
    translator = ctranslate2.Translator(str(pkg.package_path / "model"), device="cpu")
    [result] = translator.translate_batch([sp.encode(sentence, out_type=str)], beam_size=1)
    report = {
        "installed": [p.package_path.name for p in packages],
        "ctranslate2": sp.decode(result.hypotheses[0]),
    }
    try:
        report["argos"] = argos_translate.translate(sentence, pkg.from_code, pkg.to_code)
    except Exception as exc:  # reported, not raised: the CTranslate2 path is the contract
        report["argos"] = f"error: {type(exc).__name__}: {exc}"
    return report
