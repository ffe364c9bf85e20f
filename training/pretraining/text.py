"""Collect word-segmented Vietnamese running text for masked-LM pretraining.

Every sentence comes out as a list of words in the model's form (`chủ_tịch`, `Việt_Nam`),
normalised and cut into tokens by viextract's own code, so pretraining sees the words that
inference later produces. Sources:

- corpus: our annotated corpus, TRAIN documents only (`data/splits.json` + `data/corpus.jsonl`,
  or, until those exist, `data/passes/cleaned.jsonl` minus the dev and test documents), plus
  `data/extra_written.jsonl`; segmented with `prepare_text` exactly as at inference.
- ud_vtb: the UD Vietnamese VTB treebank (`../shared/data/ud_vietnamese_vtb/*.conllu`, CC BY-SA
  4.0); its gold words (syllables separated by spaces) are joined with `_`.
- vlsp2013_underthesea: the word-segmented VLSP 2013 POS test sentences that the `underthesea`
  package (a viextract dependency, Apache-2.0) ships as `test_output.txt` beside its POS model;
  gold words in column 1.

`python -m training.pretraining.text [--ud-dir DIR]` prints what would be used; with `--write-text
FILE` it also writes the training sentences (one per line, words separated by spaces) and, with
`--heldout-out FILE`, the held-out ones, each with a `FILE.sources.json` naming every source and
licence, so `training.pretraining.mlm` can run from them where no segmenter is installed (`text_file`).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from viextract.inputs import InputError, decode_utf8
from viextract.normalize import normalize_text
from viextract.saving import file_in_the_way
from viextract.segment import group_tokens, merge_groups, split_tokens

from ..pipes import quiet_pipe

logger = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parents[2]
DEFAULT_UD_DIR = REPO.parent / "shared" / "data" / "ud_vietnamese_vtb"
# The corpus dev and test documents: never pretrained on, whatever the split file says.
HELD_OUT_CORPUS_IDS = frozenset({"003_203c56db6a9b8b7f", "004_c7fd43ec24ea10e9"})
UD_LICENCE = "CC BY-SA 4.0"
VLSP_RELATIVE_PATH = "pipeline/pos_tag/models/pos_crf_vlsp2013_20230303/test_output.txt"

Sentence = list[str]


@dataclass
class TextSource:
    """One named body of text: its sentences of model-form words and where they came from."""

    name: str
    origin: str
    licence: str
    sentences: list[Sentence] = field(default_factory=list)
    details: dict = field(default_factory=dict)

    @property
    def num_words(self) -> int:
        return sum(len(s) for s in self.sentences)

    def summary(self) -> dict:
        return {
            "name": self.name,
            "origin": self.origin,
            "licence": self.licence,
            "sentences": len(self.sentences),
            "words": self.num_words,
            **self.details,
        }


def gold_words_to_model_form(words: Sequence[str]) -> Sentence:
    """Gold words with spaces between syllables -> model-form words, cut as inference cuts them.

    The sentence goes through viextract's normalisation and tokenizer (so `Nam-Lào` splits at
    the hyphen and tones move to the old-style place); the gold words then play the part
    the segmenter plays at inference: they decide which neighbouring syllables are joined.
    """
    words = [w for w in words if w.strip()]
    if not words:
        return []
    norm = normalize_text(" ".join(words)).text
    tokens = [norm[a:b] for a, b in split_tokens(norm)]
    groups = group_tokens(tokens, [normalize_text(w).text for w in words])
    return ["_".join(tokens[i] for i in run) for run in merge_groups(tokens, groups)]


def read_conllu_words(path: Path) -> list[list[str]]:
    """Column-2 forms of each sentence; multiword-token and empty-node lines are skipped."""
    sentences: list[list[str]] = []
    current: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            if current:
                sentences.append(current)
                current = []
            continue
        if line.startswith("#"):
            continue
        columns = line.split("\t")
        if len(columns) < 2 or "-" in columns[0] or "." in columns[0]:
            continue
        current.append(columns[1])
    if current:
        sentences.append(current)
    return sentences


def ud_vtb_source(ud_dir: Path, parts: Iterable[str] = ("train", "dev", "test")) -> TextSource:
    """The UD VTB sentences of the given files (`train`, `dev`, `test`)."""
    ud_dir = Path(ud_dir)
    files = [ud_dir / f"vi_vtb-ud-{part}.conllu" for part in parts]
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise FileNotFoundError(
            f"UD Vietnamese VTB files not found: {', '.join(missing)}. They live in "
            f"../shared/data/ud_vietnamese_vtb/ beside the repository; pass the folder holding "
            f"vi_vtb-ud-{{train,dev,test}}.conllu with --ud-dir DIR (or --set ud_dir=DIR), "
            f"or leave the treebank out with --set ud_parts=[]"
        )
    source = TextSource("ud_vtb", f"{ud_dir.name}: " + ", ".join(f.name for f in files), UD_LICENCE)
    for f in files:
        before = len(source.sentences)
        source.sentences.extend(s for s in map(gold_words_to_model_form, read_conllu_words(f)) if s)
        source.details[f.name] = len(source.sentences) - before
    return source


def underthesea_vlsp_path() -> Path | None:
    try:
        import underthesea
    except ImportError:
        return None
    path = Path(underthesea.__file__).parent / VLSP_RELATIVE_PATH
    return path if path.is_file() else None


def vlsp2013_underthesea_source() -> TextSource:
    """The VLSP 2013 POS test sentences shipped inside the installed `underthesea` package."""
    path = underthesea_vlsp_path()
    if path is None:
        raise FileNotFoundError(
            f"underthesea's {VLSP_RELATIVE_PATH} was not found: install underthesea (a viextract "
            f"dependency) or leave this source out with --set use_underthesea_vlsp2013=false"
        )
    import importlib.metadata

    version = importlib.metadata.version("underthesea")
    source = TextSource(
        "vlsp2013_underthesea",
        f"underthesea {version} (PyPI), {VLSP_RELATIVE_PATH}",
        "shipped in underthesea (Apache-2.0); the sentences are the VLSP 2013 POS test set",
    )
    source.sentences.extend(s for s in map(gold_words_to_model_form, read_vlsp2013_words(path)) if s)
    return source


def read_vlsp2013_words(path: Path) -> list[list[str]]:
    """Column-1 words of each sentence of underthesea's VLSP 2013 file (blank lines between sentences)."""
    sentences: list[list[str]] = []
    current: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines() + [""]:
        if line.strip():
            current.append(line.split("\t")[0])
        elif current:
            sentences.append(current)
            current = []
    return sentences


def read_text_documents(path: Path) -> list[dict]:
    """The documents of a JSONL file, each an object with a string `id` and `text`; InputError naming the
    file, line and field at fault (json.loads gave a traceback, and a missing `text` a KeyError)."""
    from ..data.documents import DataError
    from ..data.files import read_jsonl

    try:
        rows = read_jsonl(path)
    except DataError as error:
        raise InputError(str(error)) from None
    for number, row in rows:
        if not isinstance(row, dict):
            raise InputError(f"{path}:{number}: document: expected a JSON object, got {type(row).__name__}")
        for key in ("id", "text"):
            if not isinstance(row.get(key), str):
                problem = "missing" if key not in row else f"expected a string, got {type(row[key]).__name__}"
                raise InputError(f"{path}:{number}: {key}: {problem}")
    return [row for _, row in rows]


def read_splits_file(path: Path) -> dict[str, list[str]]:
    """splits.json checked by training.data's reader; InputError naming the file, line and key at fault."""
    from ..data.documents import DataError
    from ..data.splits import read_splits

    try:
        return read_splits(path)
    except DataError as error:
        raise InputError(str(error)) from None


def corpus_train_documents(data_dir: Path) -> tuple[list[dict], str]:
    """Train documents of the corpus and a note saying which files they came from."""
    splits_path, corpus_path = data_dir / "splits.json", data_dir / "corpus.jsonl"
    if splits_path.is_file() and corpus_path.is_file():
        splits = read_splits_file(splits_path)
        train_ids = set(splits.get("train", []))
        not_train = set(splits.get("dev", [])) | set(splits.get("test", [])) | HELD_OUT_CORPUS_IDS
        if train_ids & not_train:
            raise ValueError(f"{splits_path}: ids both in train and in dev/test: {sorted(train_ids & not_train)}")
        docs = [d for d in read_text_documents(corpus_path) if d["id"] in train_ids]
        return docs, f"{corpus_path.name} filtered by {splits_path.name}['train']"
    cleaned = data_dir / "passes" / "cleaned.jsonl"
    if not cleaned.is_file():
        return [], "none found"
    docs = [d for d in read_text_documents(cleaned) if d["id"] not in HELD_OUT_CORPUS_IDS]
    return docs, f"passes/{cleaned.name} minus dev/test ids {sorted(HELD_OUT_CORPUS_IDS)} (no splits.json yet)"


def segment_documents(texts: Iterable[str], segmenter: str) -> list[Sentence]:
    from viextract.text import prepare_text

    return [[w.text for w in s.words] for text in texts for s in prepare_text(text, segmenter=segmenter).sentences]


def corpus_source(data_dir: Path, segmenter: str) -> TextSource:
    docs, note = corpus_train_documents(data_dir)
    leaked = {d.get("id") for d in docs} & HELD_OUT_CORPUS_IDS
    assert not leaked, f"corpus dev/test documents would be pretrained on: {leaked}"
    source = TextSource("corpus_train", note, "the project's corpus (train documents)")
    source.sentences = segment_documents((d["text"] for d in docs), segmenter)
    source.details = {"documents": len(docs), "segmenter": segmenter}
    return source


def extra_files(data_dir: Path) -> list[Path]:
    """Training-only text files: `splits.json["train_extra"]` (repo-relative), else extra_written.jsonl."""
    splits_path = data_dir / "splits.json"
    if splits_path.is_file():
        listed = read_splits_file(splits_path).get("train_extra")
        if listed is not None:
            return [data_dir.parent / name for name in listed]
    return [data_dir / "extra_written.jsonl"]


def extra_written_sources(data_dir: Path, segmenter: str) -> list[TextSource]:
    sources = []
    for path in extra_files(data_dir):
        if not path.is_file():
            logger.warning("%s is listed as training text but does not exist yet; skipped", path)
            continue
        docs = [d for d in read_text_documents(path) if d.get("id") not in HELD_OUT_CORPUS_IDS]
        source = TextSource(path.stem, f"data/{path.name}", "the project's own written texts (training only)")
        source.sentences = segment_documents((d["text"] for d in docs), segmenter)
        source.details = {"documents": len(docs), "segmenter": segmenter}
        sources.append(source)
    return sources


@dataclass
class PretrainText:
    train: list[TextSource]
    heldout: list[TextSource]

    def train_sentences(self) -> list[Sentence]:
        return [s for source in self.train for s in source.sentences]

    def heldout_sentences(self) -> list[Sentence]:
        return [s for source in self.heldout for s in source.sentences]

    def summary(self) -> dict:
        return {
            "train": [s.summary() for s in self.train],
            "heldout": [s.summary() for s in self.heldout],
            "train_sentences": sum(len(s.sentences) for s in self.train),
            "train_words": sum(s.num_words for s in self.train),
            "heldout_sentences": sum(len(s.sentences) for s in self.heldout),
            "heldout_words": sum(s.num_words for s in self.heldout),
        }


def collect_pretraining_text(
    data_dir: Path = REPO / "data",
    ud_dir: Path | None = DEFAULT_UD_DIR,
    ud_parts: Sequence[str] = ("train", "dev"),
    ud_heldout_parts: Sequence[str] = ("test",),
    use_corpus: bool = True,
    use_underthesea_vlsp2013: bool = True,
    segmenter: str = "underthesea",
) -> PretrainText:
    """All pretraining text; `ud_heldout_parts` are kept out of training to measure MLM accuracy."""
    overlap = set(ud_parts) & set(ud_heldout_parts)
    if overlap:
        raise ValueError(f"UD parts {sorted(overlap)} cannot be both trained on and held out")
    train: list[TextSource] = []
    if use_corpus:
        train.append(corpus_source(Path(data_dir), segmenter))
        train.extend(extra_written_sources(Path(data_dir), segmenter))
    if ud_parts:
        train.append(ud_vtb_source(Path(ud_dir), ud_parts))
    if use_underthesea_vlsp2013:
        train.append(vlsp2013_underthesea_source())
    heldout: list[TextSource] = []
    if ud_heldout_parts:
        source = ud_vtb_source(Path(ud_dir), ud_heldout_parts)
        source.name = "ud_vtb_heldout"
        heldout.append(source)
    return PretrainText(train, heldout)


SOURCES_SUFFIX = ".sources.json"


def write_text_file(sources: Sequence[TextSource], path: Path) -> None:
    """Sentences one per line (words space-separated) and `<path>.sources.json`; both atomic."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = "".join(" ".join(s) + "\n" for source in sources for s in source.sentences if s)
    summary = json.dumps([s.summary() for s in sources], indent=2, ensure_ascii=False) + "\n"
    # Both written before either is renamed: a kill between them left new sentences under old sources. Not
    # viextract.saving.atomic_file, whose staged names are cut to 40 characters: the two would share one.
    pairs = [(path, lines), (path.with_name(path.name + SOURCES_SUFFIX), summary)]
    partials = [target.with_name(f".{target.name}.{os.getpid()}.partial") for target, _ in pairs]
    try:
        for partial, (_, content) in zip(partials, pairs):
            partial.write_text(content, encoding="utf-8")
        for partial, (target, _) in zip(partials, pairs):
            partial.replace(target)
    finally:
        for partial in partials:
            partial.unlink(missing_ok=True)


def read_given_text(path: str | Path, key: str) -> str:
    """A text file the user gave as `key`: UTF-8 with some text, else InputError naming the key, file and line."""
    where = f"{key}: {path}"
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise InputError(f"{where}: {error.strerror or error}") from None
    text = decode_utf8(data, where)
    if not text.strip():  # trained on nothing, or measured on nothing, without a word said
        raise InputError(f"{where}: no text (the file is empty or every line is blank)")
    # A BOM (Notepad's UTF-8) would be part of the first word and train as a subword of its own.
    return text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")  # as read_text's newlines


def read_text_file(path: str | Path, key: str = "text_file") -> TextSource:
    """A file of `write_text_file` as one source; its sources and licences come from `.sources.json`."""
    path = Path(path)
    sentences = [line.split() for line in read_given_text(path, key).splitlines() if line.strip()]
    listing = path.with_name(path.name + SOURCES_SUFFIX)
    parts = read_sources_listing(listing) if listing.is_file() else []
    licence = "; ".join(f"{p['name']}: {p['licence']}" for p in parts) or f"not recorded (no {listing.name})"
    return TextSource(path.name, str(path), licence, sentences, {"sources": parts})


def read_sources_listing(listing: Path) -> list[dict]:
    """The `.sources.json` beside a text file: a list of objects naming each source and its licence, which the
    card repeats; InputError naming the file and the entry at fault (it is hand-editable)."""
    from ..data.documents import DataError
    from ..data.json_text import read_json

    try:
        parts = read_json(listing, "sources listing")
    except DataError as error:
        raise InputError(str(error)) from None
    if not isinstance(parts, list):
        raise InputError(f"{listing}: expected a JSON list of sources, got {type(parts).__name__}")
    for index, part in enumerate(parts):
        fields = part if isinstance(part, dict) else {}
        missing = [key for key in ("name", "licence") if not isinstance(fields.get(key), str)]
        if missing:
            raise InputError(f"{listing}: source {index}: field {missing[0]!r}: expected a string, in {part!r}")
    return parts


def format_summary(summary: dict) -> str:
    lines = []
    for role in ("train", "heldout"):
        for s in summary[role]:
            lines.append(
                f"  {role:7s} {s['name']:22s} {s['sentences']:7,d} sentences {s['words']:9,d} words  ({s['origin']})"
            )
        lines.append(
            f"  {role:7s} {'total':22s} {summary[role + '_sentences']:7,d} sentences "
            f"{summary[role + '_words']:9,d} words"
        )
    return "\n".join(lines)


def output_files_problem(train: Path | None, heldout: Path | None) -> str | None:
    """Why --write-text / --heldout-out cannot be written: one file for both (the held-out sentences, never to be
    trained on, would replace the training ones), a folder, or a file where a folder above it should be."""
    if train and heldout and train.expanduser().resolve() == heldout.expanduser().resolve():
        return (
            f"--heldout-out {heldout} is the --write-text file: the held-out sentences would replace the training ones"
        )
    for flag, path in (("--write-text", train), ("--heldout-out", heldout)):
        if path is None:
            continue
        if path.is_dir():
            return f"{flag} {path}: is a folder; give the file to write"
        blocker = file_in_the_way(path.parent)
        if blocker is not None:
            return f"{flag} {path}: {blocker} is a file, not a folder"
    return None


@quiet_pipe
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.pretraining.text", description=__doc__.splitlines()[0])
    parser.add_argument("--ud-dir", type=Path, default=DEFAULT_UD_DIR, help="folder of vi_vtb-ud-*.conllu")
    parser.add_argument("--data-dir", type=Path, default=REPO / "data")
    parser.add_argument("--segmenter", default="underthesea", help="segmenter for the corpus and written documents")
    parser.add_argument("--write-text", type=Path, help="write the training sentences here, one per line")
    parser.add_argument("--heldout-out", type=Path, help="write the held-out (UD VTB test) sentences here")
    args = parser.parse_args(argv)
    problem = output_files_problem(args.write_text, args.heldout_out)
    if problem:  # found now, not after the text is segmented
        parser.error(problem)
    try:
        text = collect_pretraining_text(args.data_dir, args.ud_dir, segmenter=args.segmenter)
    except (FileNotFoundError, InputError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(format_summary(text.summary()))
    if args.write_text:
        write_text_file(text.train, args.write_text)
        print(f"wrote {args.write_text}")
    if args.heldout_out:
        write_text_file(text.heldout, args.heldout_out)
        print(f"wrote {args.heldout_out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
