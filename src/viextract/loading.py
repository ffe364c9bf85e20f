"""Finding, checking and loading model directories (local or from the Hugging Face Hub).

A full model directory holds `ner/` and optionally `re/`; a directory with `config.json`
at its top is a bare NER model (what `python -m training.fit.train ner` writes). Everything is
checked when loading, so a broken model fails here with the directory, file and problem
named, not at the first prediction.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .bio import DECODING_TABLES
from .errors import ModelLoadError
from .labels import ENTITY_LABELS, NO_RELATION, RELATION_LABELS, SCHEMA_VERSION, bio_labels
from .saving import INCOMPLETE_SAVE, interrupted_save_hint
from .segment import SEGMENTERS

# The relation model's `model_type` (viextract.relations.MODEL_TYPE): a NER loader refuses it by name.
RELATION_MODEL_TYPE = "viextract_relation"

WEIGHTS_FILE = "model.safetensors"
TOKENIZER_FILES = ("vocab.txt", "bpe.codes")
REQUIRED_FILES = ("config.json", WEIGHTS_FILE, *TOKENIZER_FILES)
# The model shipped in the package; here, not in extractor.py, so that finding it does not import torch.
BUNDLED_MODEL_DIR = Path(__file__).parent / "models" / "default"

# transformers' lazy top-level module is not thread-safe: threads importing from it at once get
# "cannot import name ...". Each of our lazy imports of transformers (or of a module that imports
# it, like .relations) holds this lock.
IMPORT_LOCK = threading.RLock()


def transformers_class(name: str):
    """`transformers.<name>`, imported under IMPORT_LOCK so that threads loading models at once are safe."""
    with IMPORT_LOCK:
        import transformers

        return getattr(transformers, name)


def resolve_model_dir(
    path_or_repo_id: str | os.PathLike, revision: str | None = None, token: str | None = None
) -> Path:
    """A local directory as is; anything else is fetched from the Hub with `snapshot_download`.

    A local directory with `revision` is refused: a folder has no revisions, so the pinned one would be
    silently ignored (a folder `owner/name` under the working directory wins over the Hub repo of that id).
    """
    if not isinstance(path_or_repo_id, (str, os.PathLike)):  # None was "expected str, bytes or os.PathLike object"
        raise TypeError(f"expected a model directory or a Hub repo id, got {type(path_or_repo_id).__name__}")
    if not str(path_or_repo_id).strip():  # Path("") is the working directory: it was loaded as the model
        raise ModelLoadError(f"{path_or_repo_id!r}: an empty model name; pass a model directory or a Hub repo id")
    path = Path(path_or_repo_id).expanduser()
    name = str(path_or_repo_id)
    if path.is_dir():
        if revision is not None:
            raise _revision_of_a_folder(name, path, revision)
        if could_be_hub_id(name) and not _holds_a_model(path):
            raise ModelLoadError(
                f"{name}: a local folder ({path.resolve()}) that holds no model (no ner/ or config.json), and a "
                f"local folder comes before the Hub repo of that name: to load the Hub model {name!r}, move the "
                f"folder or run from another directory"
            )
        return path
    looks_local = name.startswith((".", "/", "~")) or os.sep in name.strip("/").replace("/", "", 1)
    if path.exists():  # "no such model directory" sent the user looking for something that is there
        raise ModelLoadError(f"{name}: a file, not a model directory (a folder holding ner/ or config.json)")
    hint = interrupted_save_hint(path)  # a killed save's hidden copy of the model that was there
    if looks_local:
        raise ModelLoadError(f"{name}: no such model directory{hint}{_hub_name_hint(name)}")
    try:
        return Path(download_snapshot(name, revision, token))
    except Exception as error:  # network, auth, missing repo: all mean "not available here"
        reason = (str(error).strip().splitlines() or [""])[0]  # one line: the Hub's messages run on
        raise ModelLoadError(
            f"could not download the model {name!r} from the Hugging Face Hub "
            f"({type(error).__name__}: {reason}); it is not a directory here either ({Path.cwd() / name} does not "
            f"exist{hint}): if you have the model on disk, pass its directory"
        ) from error


def _holds_a_model(path: Path) -> bool:
    """True when `path` holds `ner/`, a `config.json` or a killed save's marker (split_model_dir says more)."""
    return any((path / name).exists() for name in ("ner", "config.json", INCOMPLETE_SAVE))


def _revision_of_a_folder(name: str, path: Path, revision: str) -> ModelLoadError:
    if could_be_hub_id(name):  # the folder hides the Hub repo of that id, whose revision may be meant
        other = (
            f", or pass the directory that huggingface_hub.snapshot_download({name!r}, revision={revision!r}) "
            "returns to load that revision of the Hub repo"
        )
    else:
        other = " (revision= pins a commit, branch or tag of a Hub repo id `owner/name`, not of a folder)"
    return ModelLoadError(
        f"{name}: a local directory ({path.resolve()}), which has no revisions, but revision={revision!r} "
        f"was given: drop revision= to load this folder{other}"
    )


# A Hub page's address, as copied from the browser: huggingface.co/owner/name[/tree/REVISION/...].
_HUB_URL = re.compile(
    r"(?:https?://)?(?:www\.)?(?:huggingface\.co|hf\.co)/(?!datasets/|spaces/)(?P<repo>[\w.-]+/[\w.-]+)"
    r"(?:/(?:tree|blob|resolve)/(?P<revision>[^/]+))?(?:/.*)?"
)


def _hub_name_hint(name: str) -> str:
    """What to pass instead of a Hub page's address, or of a folder inside a Hub repo (`owner/name/ner`): both
    were read as local folders and answered only "no such model directory"."""
    url = _HUB_URL.fullmatch(name)
    if url:
        revision = f" with revision={url['revision']!r}" if url["revision"] else ""
        return f"; for the Hub model at that address pass its repo id {url['repo']!r}{revision}"
    repo = "/".join(name.split("/")[:2])
    if name.count("/") > 1 and could_be_hub_id(repo):
        return f"; if it is a folder of the Hub repo {repo!r}: a Hub model is loaded whole, by its repo id {repo!r}"
    return ""


def could_be_hub_id(name: str) -> bool:
    """`owner/name`, as a Hub repo id is written; `./x`, `/x`, `~/x`, `a/b/c` and a bare folder name are not."""
    return bool(re.fullmatch(r"[A-Za-z0-9][\w.-]*/[\w.-]+", name))


# Seconds the Hub may take to answer whether a model exists. huggingface_hub's own first request has
# no timeout, so a server that accepts the connection and never answers would hang from_pretrained.
HUB_TIMEOUT = 10.0


def probe_hub(name: str, revision: str | None, token: str | None) -> None:
    """Raise within HUB_TIMEOUT seconds unless the Hub answers for `name` (nothing in offline mode)."""
    from huggingface_hub import HfApi, constants

    if not constants.HF_HUB_OFFLINE:
        HfApi().repo_info(name, revision=revision, token=token, timeout=HUB_TIMEOUT)


def download_snapshot(name: str, revision: str | None, token: str | None, **options: Any) -> str:
    """snapshot_download (with `options`, e.g. allow_patterns), after `probe_hub`; when the Hub does not
    answer, a copy already in the local cache is still used, as huggingface_hub itself would."""
    from huggingface_hub import snapshot_download

    try:
        probe_hub(name, revision, token)
    except Exception:
        try:
            return snapshot_download(repo_id=name, revision=revision, token=token, local_files_only=True, **options)
        except Exception:
            pass
        raise
    return snapshot_download(repo_id=name, revision=revision, token=token, **options)


def split_model_dir(directory: Path) -> tuple[Path, Path | None]:
    """(ner dir, re dir or None) of a full model directory or a bare NER directory."""
    if not directory.is_dir():  # else "not a viextract model directory" for a path that is not there at all
        missing = f"no such model directory{interrupted_save_hint(directory)}"
        what = "a file, not a model directory" if directory.exists() else missing
        raise ModelLoadError(f"{directory}: {what}")
    if (directory / INCOMPLETE_SAVE).exists():
        raise ModelLoadError(
            f"{directory}: a save into this directory was interrupted ({INCOMPLETE_SAVE} is present), so "
            f"ner/ and re/ may come from different models; save the model again"
        )
    if (directory / "ner").is_dir():
        relation_dir = directory / "re"
        if relation_dir.exists() and not relation_dir.is_dir():  # else relations would silently be empty
            raise ModelLoadError(f"{relation_dir}: not a directory; a relation model is a folder (or absent)")
        return directory / "ner", relation_dir if relation_dir.is_dir() else None
    if (directory / "config.json").is_file():
        return directory, None
    raise ModelLoadError(
        f"{directory}: not a viextract model directory (expected a 'ner/' subdirectory, "
        f"or a 'config.json' of a token-classification model)"
    )


def read_config(directory: Path) -> dict[str, Any]:
    """Check the required files exist and `config.json` parses; return the parsed config."""
    for name in REQUIRED_FILES:
        if not (directory / name).is_file():
            raise ModelLoadError(f"{directory}: missing file '{name}'")
    path = directory / "config.json"
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ModelLoadError(f"{path}: not valid JSON ({error})") from error
    if not isinstance(config, dict):
        raise ModelLoadError(f"{path}: expected a JSON object")
    if not isinstance(config.get("id2label"), dict) or not config["id2label"]:
        raise ModelLoadError(f"{path}: field 'id2label' is missing or empty")
    # Row i of the classifier is label id2label[i]: the ids must be exactly 0 .. n-1.
    ids = sorted(str(key) for key in config["id2label"])
    if ids != sorted(str(i) for i in range(len(ids))):
        raise ModelLoadError(f"{path}: field 'id2label': its keys must be the ids 0 to {len(ids) - 1}, got {ids}")
    check_field_types(path, config)
    check_schema_version(path, config)
    return config


def check_field_types(path: Path, config: dict[str, Any]) -> None:
    """The fields read before transformers' own checks: a hand-edited value of the wrong type was a raw
    TypeError/AttributeError far from the file, or (vocab_size absent) a misleading size mismatch."""
    size = config.get("vocab_size")
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ModelLoadError(f"{path}: field 'vocab_size': expected a positive integer, got {size!r}")
    if not isinstance(config.get("viextract") or {}, dict):  # null is read as no settings
        raise ModelLoadError(f"{path}: field 'viextract': expected a JSON object, got {config['viextract']!r}")


def check_schema_version(path: Path, config: dict[str, Any]) -> None:
    """`viextract.schema_version`, where the config has one, is of SCHEMA.md's major version: a model of
    another major version may mean other labels or spans by the same names, and loaded without a word. A
    config without one (a model saved before training wrote it) loads, as a minor version does."""
    version = (config.get("viextract") or {}).get("schema_version")
    if version is None:
        return
    major = SCHEMA_VERSION.split(".")[0]
    shown = f"{version!r}" if not isinstance(version, str) else f"version {version}"
    if not isinstance(version, str) or not re.fullmatch(r"\d+\.\d+", version):
        problem = f"expected a version such as '{SCHEMA_VERSION}', got {shown}"
    elif version.split(".")[0] != major:
        problem = f"SCHEMA.md {shown}, which this viextract does not read"
    else:
        return
    raise ModelLoadError(
        f"{path}: field 'viextract.schema_version': {problem}; it reads SCHEMA.md {major}.x (v{SCHEMA_VERSION})"
    )


def model_task(config: dict[str, Any]) -> str | None:
    """The task of a model by its config: `re` for a relation model, `ner` for a token classifier, None for another
    (a base)."""
    if config.get("model_type") == RELATION_MODEL_TYPE:
        return "re"
    architectures = config.get("architectures")
    tagger = isinstance(architectures, list) and any("TokenClassification" in str(name) for name in architectures)
    return "ner" if tagger else None


def refuse_relation_model(directory: Path, config: dict[str, Any]) -> None:
    """ModelLoadError where a NER model is expected and `config` is a relation model's (`--model outputs/re`)."""
    if model_task(config) == "re":
        raise ModelLoadError(
            f"{directory}: a relation model, not a NER model: give the folder that holds ner/ (and re/), or the NER "
            "model's own folder (python -m training.release.assemble --ner NER --re RE --out DIR puts them together)"
        )


def refuse_ner_model(directory: Path, config: dict[str, Any]) -> None:
    """ModelLoadError where a relation model is expected and `config` is a NER model's (`evaluate re --model
    outputs/ner`): its BIO tags were reported as relation labels that are not in SCHEMA.md."""
    if model_task(config) == "ner":
        raise ModelLoadError(
            f"{directory}: a NER model, not a relation model: give the folder that holds ner/ and re/, or the "
            "relation model's own folder"
        )


def check_ner_labels(directory: Path, config: dict[str, Any]) -> list[str]:
    """The entity labels of a NER config; every tag must be O or B-/I- of a SCHEMA.md label."""
    refuse_relation_model(directory, config)
    allowed = set(bio_labels())
    tags = [str(v) for v in config["id2label"].values()]
    unknown = sorted(set(tags) - allowed)
    if unknown or "O" not in tags:
        problem = f"labels {unknown} are not in SCHEMA.md" if unknown else "label 'O' is missing"
        raise ModelLoadError(f"{directory / 'config.json'}: field 'id2label': {problem}")
    # Two ids for one tag leave some other tag without a row: its entities could never be predicted.
    if twice := sorted({tag for tag in tags if tags.count(tag) > 1}):
        raise ModelLoadError(f"{directory / 'config.json'}: field 'id2label': labels {twice} are listed twice")
    check_label2id(directory / "config.json", config)
    settings = config.get("viextract")
    for reader in DECODING_TABLES:
        if isinstance(settings, dict) and settings.get(reader.KEY) is not None:
            try:
                reader.from_dict(settings[reader.KEY], tags)
            except ValueError as error:
                raise ModelLoadError(f"{directory / 'config.json'}: field 'viextract': {error}") from error
    return [label for label in ENTITY_LABELS if f"B-{label}" in tags]


def check_label2id(path: Path, config: dict[str, Any]) -> None:
    """`label2id`, when present, is exactly `id2label` inverted: transformers' pipelines and training read it,
    so a hand edit there would silently mean something else to them than to viextract."""
    label2id = config.get("label2id")
    if label2id is None:  # transformers derives it from id2label
        return
    if not isinstance(label2id, dict):
        raise ModelLoadError(f"{path}: field 'label2id': expected a JSON object, got {label2id!r}")
    expected = {str(label): int(i) for i, label in config["id2label"].items()}
    for label in [*sorted(expected, key=expected.__getitem__), *(str(k) for k in label2id if k not in expected)]:
        found = label2id.get(label)
        if label not in expected:
            problem = f"label {label!r} is not in 'id2label'"
        elif found is None:
            problem = f"label {label!r} is missing; 'id2label' gives it id {expected[label]}"
        elif isinstance(found, bool) or not isinstance(found, int) or found != expected[label]:
            problem = f"label {label!r} has id {found!r}, but 'id2label' gives it id {expected[label]}"
        else:
            continue
        raise ModelLoadError(f"{path}: field 'label2id' does not invert 'id2label': {problem}")


def check_relation_labels(directory: Path, config: dict[str, Any], ner_entity_labels: list[str]) -> None:
    path = directory / "config.json"
    allowed = set(RELATION_LABELS) | {NO_RELATION}
    unknown = sorted({str(v) for v in config["id2label"].values()} - allowed)
    if unknown:
        raise ModelLoadError(f"{path}: field 'id2label': relation labels {unknown} are not in SCHEMA.md")
    labels = [str(v) for v in config["id2label"].values()]
    if len(set(labels)) == len(labels):  # a label listed twice is reported as such by RelationConfig.problems
        check_label2id(path, config)
    known_types = config.get("entity_labels")
    if not isinstance(known_types, list):
        raise ModelLoadError(f"{path}: field 'entity_labels' is missing")
    missing = [label for label in ner_entity_labels if label not in known_types]
    if missing:
        raise ModelLoadError(
            f"{path}: field 'entity_labels': the NER model predicts {missing}, which this relation model "
            f"was not trained to mark; NER and RE label sets disagree"
        )


def check_vocab(directory: Path) -> None:
    """vocab.txt holds at least one `token count` line: an empty one loads as 5 tokens, all text `<unk>`."""
    path = directory / "vocab.txt"
    lines = _read_lines(path)
    if not any(line.strip() for line in lines):
        raise ModelLoadError(f"{path}: the vocabulary is empty (no 'token count' lines)")
    for number, line in enumerate(lines, 1):
        token, _, count = line.rstrip().rpartition(" ")
        if line.strip() and (not token or not count.isdigit()):
            raise ModelLoadError(f"{path}: line {number}: expected 'token count', got {line[:60]!r}")


def check_bpe_codes(directory: Path) -> None:
    """bpe.codes holds `left right count` merges: an empty or garbled file loads but splits every word wrongly."""
    path = directory / "bpe.codes"
    lines = _read_lines(path)
    if not any(line.strip() for line in lines):
        raise ModelLoadError(f"{path}: no BPE merges (the file is empty)")
    for number, line in enumerate(lines, 1):
        # Fields are split at plain spaces: PhoBERT's own file has merges of a no-break space.
        fields = line.split(" ")
        if line.strip() and (len(fields) != 3 or not fields[2].isdigit()):
            raise ModelLoadError(f"{path}: line {number}: expected a merge 'left right count', got {line[:60]!r}")


# The tokenizer's JSON files besides vocab.txt and bpe.codes, read when present.
TOKENIZER_JSON_FILES = ("tokenizer_config.json", "added_tokens.json", "special_tokens_map.json")


def check_tokenizer_json(directory: Path) -> None:
    """Each tokenizer JSON file present parses: a broken one was reported as vocab.txt/bpe.codes failing."""
    for name in TOKENIZER_JSON_FILES:
        path = directory / name
        if not path.is_file():
            continue
        try:
            json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as error:
            raise ModelLoadError(f"{path}: cannot be read as JSON ({error})") from None


def _read_lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8").split("\n")
    except UnicodeDecodeError as error:
        raise ModelLoadError(f"{path}: not UTF-8 text ({error})") from error


@contextlib.contextmanager
def ner_load_errors(ner_dir: Path) -> Iterator[None]:
    """What transformers raises on a NER config or weights it cannot read, as a ModelLoadError naming `ner_dir`:
    the same error from `Extractor.from_pretrained`, `export_ner` and `load_onnx_extractor`."""
    try:
        yield
    except ModelLoadError:
        raise
    except Exception as error:
        raise ModelLoadError(f"{ner_dir}: cannot load the NER model ({error})") from error


def load_tokenizer(directory: Path, vocab_size: int, pad_token_id: int | None = None):
    """The PhoBERT tokenizer saved beside a model (`FastPhobertTokenizer`, the ids of transformers'
    PhobertTokenizer); its files must parse and it must fit the model's embeddings.

    `pad_token_id`, config.json's: RoBERTa numbers positions from it, so it must be the tokenizer's.
    """
    from .fast_tokenizer import FastPhobertTokenizer, TokenizerFileError, UnsupportedTokenizer

    check_vocab(directory)
    check_bpe_codes(directory)
    check_tokenizer_json(directory)
    try:
        try:
            tokenizer = FastPhobertTokenizer.from_pretrained(directory)
        except UnsupportedTokenizer:  # added tokens that strip spaces: only the slow one splits them so
            tokenizer = transformers_class("PhobertTokenizer").from_pretrained(str(directory))
    except TokenizerFileError as error:  # it names the file at fault, which is not vocab.txt/bpe.codes
        raise ModelLoadError(str(error)) from error
    except Exception as error:
        raise ModelLoadError(f"{directory}: cannot load the tokenizer from vocab.txt/bpe.codes ({error})") from error
    # The largest id, not the count: an added token's id past the embeddings failed at the first prediction.
    token, largest = max(tokenizer.get_vocab().items(), key=lambda item: item[1])
    if largest >= vocab_size:
        raise ModelLoadError(
            f"{directory / _token_source(directory, token)}: token {token!r} has id {largest}, but config.json's "
            f"vocab_size is {vocab_size} (ids 0 to {vocab_size - 1}): tokenizer and model do not match"
        )
    if pad_token_id is not None and pad_token_id != tokenizer.pad_token_id:
        raise ModelLoadError(
            f"{directory / 'config.json'}: field 'pad_token_id' is {pad_token_id} but the tokenizer's padding "
            f"token is {tokenizer.pad_token_id}: tokenizer and model do not match"
        )
    return tokenizer


def _token_source(directory: Path, token: str) -> str:
    """The tokenizer file that gives `token` its id: an added-token file that names it, else vocab.txt."""
    added = _json_file(directory / "added_tokens.json")
    if token in added:
        return "added_tokens.json"
    decoder = _json_file(directory / "tokenizer_config.json").get("added_tokens_decoder")
    if isinstance(decoder, dict) and any(isinstance(e, dict) and e.get("content") == token for e in decoder.values()):
        return "tokenizer_config.json"
    return "vocab.txt"


def _json_file(path: Path) -> dict:
    """A JSON object file's content; {} when absent or not an object (check_tokenizer_json has read it)."""
    values = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    return values if isinstance(values, dict) else {}


def check_loading_info(directory: Path, info: dict[str, Any], model_type: str | None) -> None:
    """Every weight of the checkpoint used and none newly initialised (`output_loading_info=True`).

    A config.json whose `model_type` no longer matches the weights loads with every weight random.
    """
    unused = sorted(info.get("unexpected_keys") or ())
    missing = sorted(info.get("missing_keys") or ())
    mismatched = sorted(str(key) for key in info.get("mismatched_keys") or ())
    errors = list(info.get("error_msgs") or ())
    if not (unused or missing or mismatched or errors):
        return
    problems = []
    if unused:
        problems.append(f"{len(unused)} weights in it were not used (e.g. {unused[0]})")
    if missing:
        problems.append(f"{len(missing)} model weights are not in it and would be random (e.g. {missing[0]})")
    if mismatched:
        problems.append(f"{len(mismatched)} weights have the wrong shape (e.g. {mismatched[0]})")
    problems.extend(errors[:1])
    raise ModelLoadError(
        f"{directory / WEIGHTS_FILE}: does not match {directory / 'config.json'} (model_type {model_type!r}): "
        + "; ".join(problems)
    )


def recorded_segmenter(config: dict[str, Any]) -> str | None:
    """The segmenter a model was trained with (`viextract.segmenter` in config.json), None if unrecorded."""
    settings = config.get("viextract")
    return settings.get("segmenter") if isinstance(settings, dict) else None


def check_segmenter(directory: Path, config: dict[str, Any]) -> None:
    """The segmenter a model was trained with (`viextract.segmenter` in config.json) must be one we have."""
    name = recorded_segmenter(config)
    if name is not None and name not in SEGMENTERS:
        raise ModelLoadError(
            f"{directory / 'config.json'}: field 'viextract.segmenter': unknown segmenter {name!r}; "
            f"choose one of {sorted(SEGMENTERS)}"
        )


def check_relation_segmenter(re_dir: Path, segmenter: str, ner_dir: Path | None = None, fix: str = "") -> None:
    """ModelLoadError (ending with `fix`) when the relation model in `re_dir` was trained on the words of another
    segmenter than `segmenter`, the NER model's, whose words it is given: its relations would be found on words it
    never saw in training. A relation model that records no segmenter is taken as it is."""
    trained = recorded_segmenter(read_config(re_dir))
    if trained is None or trained == segmenter:
        return
    ner = f" ({ner_dir})" if ner_dir is not None else ""
    raise ModelLoadError(
        f"{re_dir / 'config.json'}: field 'viextract.segmenter': the relation model was trained on {trained!r} "
        f"words, but the NER model{ner} segments with {segmenter!r}{fix}"
    )
