"""Pretraining inputs: the text (collected or a prepared file), its BPE tokenizer, packed sequences."""

from __future__ import annotations

import shutil
from pathlib import Path

from viextract.inputs import InputError

from .mlm_config import PretrainConfig
from .text import PretrainText, Sentence, TextSource


def check_inputs(config: PretrainConfig) -> None:
    """The given paths exist (checked when the run starts, so a config can name what a step before makes),
    and the given text files are UTF-8 with some text (now, not after the corpus is segmented)."""
    from .text import read_given_text

    for key in ("init_from", "text_file", "heldout_text_file"):
        value = getattr(config, key)
        if value and not Path(value).exists():
            raise FileNotFoundError(f"{key}: {value}: no such file or directory")
    for key, name in given_text_files(config):
        read_given_text(name, key)
    held_out, trained = (
        Path(n).expanduser().resolve() if n else None for n in (config.heldout_text_file, config.text_file)
    )
    if held_out is not None and held_out == trained:
        raise InputError(
            f"heldout_text_file: {config.heldout_text_file} is the text_file trained on: the held-out loss and "
            "accuracy would be measured on training text; give the --heldout-out file of the text command"
        )
    check_tokenizer_and_output(config)


def check_tokenizer_and_output(config: PretrainConfig) -> None:
    """InputError for a tokenizer folder without its two files (found only after the text is collected) and
    for an output_dir that is a file (found only when the trained model is saved, hours later)."""
    from .folders import check_output_folder, check_tokenizer_folder

    for key in ("tokenizer_dir", "init_from"):
        if getattr(config, key):
            check_tokenizer_folder(getattr(config, key), key)
    if config.init_from and not (Path(config.init_from) / "config.json").is_file():  # from_pretrained's traceback,
        raise InputError(  # after the text was collected and encoded
            f"init_from: {config.init_from}: no config.json there (a model folder has config.json, weights, "
            "vocab.txt and bpe.codes; a folder of the tokenizer files alone is tokenizer_dir)"
        )
    check_output_folder(config.output_dir, "output_dir")
    if config.init_from:  # as random_base and truncate refuse --out being their base
        start, out = Path(config.init_from).expanduser().resolve(), Path(config.output_dir).expanduser().resolve()
        if out == start or start in out.parents:
            raise InputError(
                f"output_dir: {config.output_dir} is {'' if out == start else 'inside '}init_from {config.init_from}: "
                "the continued model would replace the one it starts from (or be carried in it); give another folder"
            )


def given_text_files(config: PretrainConfig) -> list[tuple[str, str]]:
    """(config key, path) of each text file the config names."""
    named = [("text_file", config.text_file), ("heldout_text_file", config.heldout_text_file)]
    return [(k, n) for k, n in named if n] + [("text_files", n) for n in config.text_files]


def collect_text(config: PretrainConfig) -> PretrainText:
    from .text import collect_pretraining_text, read_given_text, read_text_file, segment_documents

    if config.text_file:
        heldout = [read_text_file(config.heldout_text_file, "heldout_text_file")] if config.heldout_text_file else []
        return PretrainText([read_text_file(config.text_file)], heldout)

    text = collect_pretraining_text(
        data_dir=Path(config.data_dir),
        ud_dir=Path(config.ud_dir),
        ud_parts=config.ud_parts,
        ud_heldout_parts=config.ud_heldout_parts,
        use_corpus=config.use_corpus,
        use_underthesea_vlsp2013=config.use_underthesea_vlsp2013,
        segmenter=config.segmenter,
    )
    for name in config.text_files:
        raw = read_given_text(name, "text_files")
        source = TextSource(Path(name).name, name, "given with text_files")
        source.sentences = segment_documents([p for p in raw.split("\n\n") if p.strip()], config.segmenter)
        text.train.append(source)
    if not text.train_sentences():
        raise InputError("no pretraining text: every source is switched off or empty")
    return text


def build_tokenizer(config: PretrainConfig, sentences: list[Sentence], directory: Path):
    """Learn vocab.txt + bpe.codes into `directory` (or copy them from tokenizer_dir)."""
    from transformers import PhobertTokenizer

    from .bpe import train_tokenizer

    if config.tokenizer_dir or config.init_from:
        for name in ("vocab.txt", "bpe.codes"):
            shutil.copyfile(Path(config.tokenizer_dir or config.init_from) / name, directory / name)
        return PhobertTokenizer(vocab_file=str(directory / "vocab.txt"), merges_file=str(directory / "bpe.codes"))
    words = (w for s in sentences for w in s)
    return train_tokenizer(words, directory, num_merges=config.num_merges, max_vocab=config.max_vocab)


def pack_sequences(sentence_ids: list[list[int]], max_length: int, bos_id: int, eos_id: int) -> list[list[int]]:
    """Consecutive sentences packed into `<s> ... </s>` sequences of at most `max_length` ids.

    A sentence longer than a whole sequence is cut into pieces; no sentence is dropped.
    """
    body = max_length - 2
    sequences: list[list[int]] = []
    current: list[int] = []
    for ids in sentence_ids:
        for start in range(0, len(ids), body):
            piece = ids[start : start + body]
            if current and len(current) + len(piece) > body:
                sequences.append(current)
                current = []
            current = current + piece
    if current:
        sequences.append(current)
    return [[bos_id, *s, eos_id] for s in sequences]


def encode_sources(sources: list[TextSource], tokenizer, max_length: int) -> tuple[list[list[int]], dict]:
    """Sequences of each source packed separately (no sequence mixes two sources), with counts."""
    sequences: list[list[int]] = []
    subwords = unknown = 0
    for source in sources:
        sentence_ids = [tokenizer.convert_tokens_to_ids(tokenizer.tokenize(" ".join(s))) for s in source.sentences]
        subwords += sum(len(ids) for ids in sentence_ids)
        unknown += sum(i == tokenizer.unk_token_id for ids in sentence_ids for i in ids)
        sequences.extend(pack_sequences(sentence_ids, max_length, tokenizer.bos_token_id, tokenizer.eos_token_id))
    return sequences, {"sequences": len(sequences), "subwords": subwords, "unknown_subwords": unknown}
