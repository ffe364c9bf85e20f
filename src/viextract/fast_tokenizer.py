"""PhoBERT's BPE on the Rust `tokenizers` library: the ids of `PhobertTokenizer`, many times faster.

`PhobertTokenizer` (transformers) is slow-only. This one reads the same two files (`vocab.txt`,
`bpe.codes`) and gives identical ids: tests compare the two on every sentence of the corpus,
the written documents, UD VTB and hostile strings. How it maps PhoBERT onto `tokenizers`:

- fastBPE symbols mark the end of a word (`g</w>`) where PhoBERT's tokens mark a continuation
  (`Vi@@`), so the BPE model runs on fastBPE symbols (`end_of_word_suffix="</w>"`) and each of
  its internal tokens maps to the PhoBERT token it becomes (`ng</w>` -> `ng`, `Vi` -> `Vi@@`).
- `vocab.txt` may be restricted (fewer tokens than `bpe.codes` can make): every merge still
  happens, and a token missing from `vocab.txt` becomes `<unk>`, as in `PhobertTokenizer`.
- Text is first cut at the special tokens (`<s>`, `<mask>`, ...), then at whitespace with
  `PhobertTokenizer`'s own pattern, in Python, so the split is exactly the same.
"""

from __future__ import annotations

import functools
import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tokenizers import Tokenizer
from tokenizers.models import BPE

VOCAB_FILE, MERGES_FILE, ADDED_TOKENS_FILE = "vocab.txt", "bpe.codes", "added_tokens.json"
TOKENIZER_CONFIG_FILE = "tokenizer_config.json"
SPECIAL_TOKENS = {"bos": "<s>", "pad": "<pad>", "eos": "</s>", "unk": "<unk>"}  # ids 0-3, before vocab.txt
MASK_TOKEN = "<mask>"
END_OF_WORD = "</w>"
CONTINUATION = "@@"
_WORDS = re.compile(r"\S+\n?")  # PhobertTokenizer._tokenize's own pattern
_PLAIN = re.compile(r"\S+")
_INTERNAL_UNK = "\x00unk\x00"  # the BPE model's unknown symbol (no PhoBERT token looks like it)
_SURROGATE = re.compile("[\ud800-\udfff]")  # Rust strings cannot hold them; PhobertTokenizer reads each as a character


@dataclass(frozen=True)
class Token:
    """One subword of `encode`: its id and its [start, end) character offsets into the text."""

    id: int
    start: int
    end: int


def read_encoder(vocab: str, where: str | os.PathLike = VOCAB_FILE) -> dict[str, int]:
    """PhoBERT token -> id from vocab.txt's text, built exactly as PhobertTokenizer builds it (specials 0-3,
    then vocab.txt); `where` names the file in errors."""
    encoder = {token: index for index, token in enumerate(SPECIAL_TOKENS.values())}
    if vocab:
        for number, line in enumerate(vocab.removesuffix("\n").split("\n"), 1):
            line = line.strip()
            cut = line.rfind(" ")
            if cut == -1:
                raise ValueError(f"{where}, line {number}: expected '<token> <count>', got {line!r}")
            encoder[line[:cut]] = len(encoder)
    return encoder


def read_merges(merges: str) -> list[tuple[str, str]]:
    """fastBPE merges in rank order from bpe.codes' text, read as PhobertTokenizer reads them.

    A pair listed twice keeps its last rank (PhobertTokenizer's dict does). A line that is not two
    symbols once split on whitespace (PhoBERT's own file has 22 whose first symbol is a no-break
    space) can never match a pair there, so it is left out here.
    """
    lines = merges.split("\n")[:-1]
    ranks: dict[tuple[str, ...], int] = {}
    for rank, line in enumerate(lines):
        ranks[tuple(line.split()[:-1])] = rank
    return [(pair[0], pair[1]) for pair in sorted(ranks, key=ranks.__getitem__) if len(pair) == 2]


def _phobert_form(symbol: str) -> str:
    """The PhoBERT token an internal BPE symbol becomes: `ng</w>` -> `ng`, `Vi` -> `Vi@@`."""
    return symbol[: -len(END_OF_WORD)] if symbol.endswith(END_OF_WORD) else symbol + CONTINUATION


def _internal_form(token: str) -> str:
    return token[: -len(CONTINUATION)] if token.endswith(CONTINUATION) else token + END_OF_WORD


def stand_in_character(symbols: Sequence[str]) -> str:
    """A private-use character in none of `symbols`: it stands for a lone surrogate, which Rust cannot take.

    A surrogate is in no merge and no token (both files are UTF-8), so PhobertTokenizer keeps it as a symbol
    of its own that becomes `<unk>`; a character also in none of them is treated the same by the BPE model.
    """
    used = set("".join(symbols))
    return next(chr(point) for point in range(0xE000, 0xF900) if chr(point) not in used)


def build_bpe(encoder: dict[str, int], merges: list[tuple[str, str]], unk_id: int) -> tuple[Tokenizer, list[int]]:
    """The BPE model over fastBPE symbols, and the table from its ids to PhoBERT ids."""
    symbols: dict[str, int] = {_INTERNAL_UNK: 0}
    for token in encoder:
        symbols.setdefault(_internal_form(token), len(symbols))
    for left, right in merges:
        for symbol in (left, right, left + right):
            symbols.setdefault(symbol, len(symbols))
    to_phobert = [unk_id] * len(symbols)
    for symbol, index in symbols.items():
        if index:
            to_phobert[index] = encoder.get(_phobert_form(symbol), unk_id)
    model = BPE(vocab=symbols, merges=merges, unk_token=_INTERNAL_UNK, end_of_word_suffix=END_OF_WORD, fuse_unk=False)
    return Tokenizer(model), to_phobert


def added_tokens(saved: dict, config: dict, encoder: dict[str, int], where: Path | None = None) -> dict[str, int]:
    """Tokens never split (specials, `<mask>`, relation markers), with their ids, as PhobertTokenizer reads them.

    From `added_tokens.json` (`saved`) and `tokenizer_config.json`'s (`config`) `added_tokens_decoder`; a token that
    strips spaces or must stand alone (`lstrip`, `rstrip`, `single_word`) is refused, since only
    plain splitting is reproduced here; so is a config that sets `split_special_tokens` (no splitting at
    them at all: `<mask>` is read as `<`, `mask`, `>`) or names a special token otherwise (`"unk_token": "<oov>"`).
    """
    if config.get("split_special_tokens"):
        raise UnsupportedTokenizer(f"{where or '.'}/{TOKENIZER_CONFIG_FILE}: split_special_tokens is set")
    if renamed := _renamed_special_token(config):
        raise UnsupportedTokenizer(f"{where or '.'}/{TOKENIZER_CONFIG_FILE}: field {renamed[0]!r} is {renamed[1]!r}")
    added = {token: encoder[token] for token in SPECIAL_TOKENS.values()}
    for index, entry in _decoder_entries(config, where):
        if any(entry.get(flag) for flag in ("lstrip", "rstrip", "single_word")):
            raise UnsupportedTokenizer(
                f"{where or '.'}/{TOKENIZER_CONFIG_FILE}: added token {entry.get('content')!r} "
                f"strips spaces or stands alone"
            )
        added[str(entry["content"])] = int(index)
    for token, index in saved.items():
        if isinstance(index, bool) or not isinstance(index, int) or index < 0:  # 1.5 was read as id 1
            raise TokenizerFileError(
                f"{where or '.'}/{ADDED_TOKENS_FILE}: token {token!r}: expected a non-negative integer id, "
                f"got {index!r}"
            )
        added[str(token)] = index
    # A tokenizer built from the two files alone appends <mask> after the vocabulary.
    added.setdefault(MASK_TOKEN, encoder.get(MASK_TOKEN, len(encoder)))
    return added


# PhobertTokenizer's special-token arguments and their defaults; it numbers the first four 0-3 under the names given.
_SPECIAL_FIELDS = {f"{role}_token": token for role, token in SPECIAL_TOKENS.items()} | {
    "cls_token": "<s>",
    "sep_token": "</s>",
    "mask_token": MASK_TOKEN,
}


def _renamed_special_token(config: dict) -> tuple[str, object] | None:
    """(field, token) of a special token tokenizer_config.json names otherwise than PhoBERT (`"unk_token": "<oov>"`)."""
    for field, default in _SPECIAL_FIELDS.items():
        token = config.get(field, default)
        if (token.get("content") if isinstance(token, dict) else token) not in (default, None):
            return field, token
    return None


def _decoder_entries(config: dict, where: Path | None) -> list[tuple[str, dict]]:
    """(id, entry) of tokenizer_config.json's `added_tokens_decoder`, each checked to be an id and a token."""
    decoder = config.get("added_tokens_decoder") or {}
    entries = list(decoder.items()) if isinstance(decoder, dict) else [("?", decoder)]
    for index, entry in entries:
        if not str(index).isdigit() or not isinstance(entry, dict) or not isinstance(entry.get("content"), str):
            raise TokenizerFileError(
                f"{where or '.'}/{TOKENIZER_CONFIG_FILE}: field 'added_tokens_decoder': expected an id -> "
                f"{{'content': token, ...}} object, got {index!r}: {entry!r}"
            )
    return entries


class TokenizerFileError(ValueError):
    """A tokenizer file that cannot be read as PhobertTokenizer reads it; the message names the file."""


class UnsupportedTokenizer(ValueError):
    """A tokenizer setting this module does not reproduce; the caller falls back to PhobertTokenizer."""


def _read_sources(vocab_file: Path, merges_file: Path, directory: Path | None) -> dict[str, str]:
    """The text of every file the tokenizer is built from, by file name (the JSON ones only if present)."""
    sources = {VOCAB_FILE: vocab_file.read_text(encoding="utf-8"), MERGES_FILE: merges_file.read_text(encoding="utf-8")}
    for name in (ADDED_TOKENS_FILE, TOKENIZER_CONFIG_FILE):
        if directory is not None and (directory / name).is_file():
            sources[name] = (directory / name).read_text(encoding="utf-8")
    return sources


def _json_object(sources: dict[str, str], name: str, directory: Path | None) -> dict:
    if name not in sources:
        return {}
    values = json.loads(sources[name])
    if not isinstance(values, dict):
        raise TokenizerFileError(f"{directory or '.'}/{name}: expected a JSON object")
    return values


class FastPhobertTokenizer:
    """PhoBERT's tokenizer with the ids of `transformers.PhobertTokenizer`, on Rust `tokenizers`.

    Offers what viextract uses of the slow one (`tokenize`, `convert_tokens_to_ids`, the special
    ids, `len`, `save_pretrained`) plus `encode_words` (one id tuple per word, the fast path) and
    `encode` (ids with character offsets). Build it with `from_pretrained(directory)`, cached per file.
    """

    def __init__(self, vocab_file: str | os.PathLike, merges_file: str | os.PathLike, directory=None, sources=None):
        self.vocab_file, self.merges_file = Path(vocab_file), Path(merges_file)
        self.directory = Path(directory) if directory is not None else None
        # The files' text as loaded: saving and worker processes use it, never what the paths hold later
        # (a directory loaded from may be deleted or retrained while this tokenizer is in use).
        if sources is None:
            sources = _read_sources(self.vocab_file, self.merges_file, self.directory)
        self._sources = sources
        self.encoder = read_encoder(self._sources[VOCAB_FILE], self.vocab_file)
        saved = _json_object(self._sources, ADDED_TOKENS_FILE, self.directory)
        config = _json_object(self._sources, TOKENIZER_CONFIG_FILE, self.directory)
        self.added = added_tokens(saved, config, self.encoder, self.directory)
        self.unk_token_id = self.encoder[SPECIAL_TOKENS["unk"]]
        self.bos_token_id = self.cls_token_id = self.encoder[SPECIAL_TOKENS["bos"]]
        self.eos_token_id = self.sep_token_id = self.encoder[SPECIAL_TOKENS["eos"]]
        self.pad_token_id = self.encoder[SPECIAL_TOKENS["pad"]]
        self.mask_token_id = self.added[MASK_TOKEN]
        merges = read_merges(self._sources[MERGES_FILE])
        self._bpe, self._to_phobert = build_bpe(self.encoder, merges, self.unk_token_id)
        self._stand_in = stand_in_character([*self.encoder, *(left + right for left, right in merges)])
        self._decoder = {i: t for t, i in self.encoder.items()} | {i: t for t, i in self.added.items()}
        # Longest first, so that the leftmost match is also the longest, as transformers' trie splits.
        # An empty added token (a hand-edited file) has an id but never splits text: the trie skips it too.
        names = sorted(filter(None, self.added), key=len, reverse=True)
        self._added_starts = frozenset(token[0] for token in names)
        self._added_pattern = re.compile("(" + "|".join(re.escape(t) for t in names) + ")")

    @classmethod
    def from_pretrained(cls, directory: str | os.PathLike) -> FastPhobertTokenizer:
        """The tokenizer saved in `directory` (vocab.txt, bpe.codes, optional added_tokens.json); cached."""
        directory = Path(directory)
        names = (VOCAB_FILE, MERGES_FILE, ADDED_TOKENS_FILE, TOKENIZER_CONFIG_FILE)
        stamps = tuple(_stamp(directory / name) for name in names)
        return _cached(str(directory.resolve()), stamps)

    def __len__(self) -> int:
        return len(set(self.encoder.values()) | set(self.added.values()))

    def __reduce__(self):  # worker processes rebuild it from the files' text rather than unpickling tables
        return (FastPhobertTokenizer, (self.vocab_file, self.merges_file, self.directory, self._sources))

    def encode_words(self, words: Sequence[str]) -> list[tuple[int, ...]]:
        """Per word, the ids `convert_tokens_to_ids(tokenize(word))` gives: one Rust call for all plain words."""
        out: list[tuple[int, ...]] = [()] * len(words)
        plain = [i for i, w in enumerate(words) if w and not self._needs_split(w)]
        if plain:
            encoding = self._encode_bpe([words[i] for i in plain])
            grouped: list[list[int]] = [[] for _ in plain]
            for symbol, word in zip(encoding.ids, encoding.word_ids):
                grouped[word].append(self._to_phobert[symbol])
            for i, ids in zip(plain, grouped):
                out[i] = tuple(ids)
        for i, word in enumerate(words):
            if word and self._needs_split(word):
                out[i] = tuple(token.id for token in self.encode(word))
        return out

    def _needs_split(self, word: str) -> bool:
        """Whether a word needs the full path: whitespace inside, or a character that starts an added token."""
        return _PLAIN.fullmatch(word) is None or not self._added_starts.isdisjoint(word)

    def encode(self, text: str) -> list[Token]:
        """The ids of `text` (no <s>/</s>), each with its character offsets into `text`."""
        tokens: list[Token] = []
        position = 0
        for piece in filter(None, self._added_pattern.split(text)):
            if piece in self.added:
                tokens.append(Token(self.added[piece], position, position + len(piece)))
            else:
                tokens.extend(self._encode_plain(piece, position))
            position += len(piece)
        return tokens

    def _encode_plain(self, text: str, offset: int) -> list[Token]:
        matches = list(_WORDS.finditer(text))
        if not matches:
            return []
        encoding = self._encode_bpe([m.group() for m in matches])
        return [
            Token(self._to_phobert[symbol], offset + matches[word].start() + a, offset + matches[word].start() + b)
            for symbol, word, (a, b) in zip(encoding.ids, encoding.word_ids, encoding.offsets)
        ]

    def _encode_bpe(self, words: list[str]):
        """The BPE model's encoding of pre-split words; a lone surrogate goes in as the stand-in (same length)."""
        if _SURROGATE.search("".join(words)):
            words = [_SURROGATE.sub(self._stand_in, word) for word in words]
        return self._bpe.encode(words, is_pretokenized=True)

    def tokenize(self, text: str) -> list[str]:
        """PhoBERT token strings; a token missing from vocab.txt comes back as `<unk>`."""
        return [self._decoder.get(token.id, SPECIAL_TOKENS["unk"]) for token in self.encode(text)]

    def get_vocab(self) -> dict[str, int]:
        """Token -> id, the added tokens included, as transformers' tokenizers give it."""
        return self.encoder | self.added

    def convert_tokens_to_ids(self, tokens: str | Sequence[str]):
        if isinstance(tokens, str):
            return self.added.get(tokens, self.encoder.get(tokens, self.unk_token_id))
        return [self.convert_tokens_to_ids(token) for token in tokens]

    def save_pretrained(self, directory: str | os.PathLike) -> None:
        """vocab.txt, bpe.codes, added_tokens.json and tokenizer_config.json, readable by PhobertTokenizer too."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        for name in (VOCAB_FILE, MERGES_FILE):
            (directory / name).write_text(self._sources[name], encoding="utf-8", newline="")
        extra = {t: i for t, i in self.added.items() if t not in SPECIAL_TOKENS.values()}
        (directory / ADDED_TOKENS_FILE).write_text(json.dumps(extra, ensure_ascii=False, indent=2) + "\n", "utf-8")
        if TOKENIZER_CONFIG_FILE in self._sources:
            (directory / TOKENIZER_CONFIG_FILE).write_text(self._sources[TOKENIZER_CONFIG_FILE], "utf-8", newline="")
        else:
            config = {"tokenizer_class": "PhobertTokenizer", "model_max_length": 256}
            config.update({f"{role}_token": token for role, token in SPECIAL_TOKENS.items()})
            config.update(cls_token="<s>", sep_token="</s>", mask_token=MASK_TOKEN)
            (directory / TOKENIZER_CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n", "utf-8")


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        status = path.stat()
    except FileNotFoundError:
        return None
    return status.st_mtime_ns, status.st_size


@functools.lru_cache(maxsize=16)
def _cached(directory: str, stamps) -> FastPhobertTokenizer:
    path = Path(directory)
    return FastPhobertTokenizer(path / VOCAB_FILE, path / MERGES_FILE, path)
