"""Relation candidates and their model inputs: typed entity markers at word level.

The format is the "typed entity marker (punct)" of Zhou & Chen (2021), built from words
PhoBERT already knows, so the vocabulary is never extended:

    ... @ * người * Lê_Đức_Thái @ ... # ^ chức_vụ ^ Trung_tướng # ...

The relation model reads its hidden states at the two start markers (`@` before the head,
`#` before the tail). Training (`training/fit/relations.py`) and prediction (`RelationExtractor`)
both call `candidate_pairs` and `encode_pair`, so they cannot disagree on either.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from .align import MAX_SUBWORDS, SubwordAligner
from .labels import RELATION_LABELS, SYMMETRIC_RELATIONS, allowed_relations
from .truncation import note_truncation

MARKER_FORMAT = "typed_entity_marker_punct"
HEAD_MARKER, HEAD_TYPE_MARKER = "@", "*"
TAIL_MARKER, TAIL_TYPE_MARKER = "#", "^"

# One PhoBERT vocabulary word per entity type, written between the type markers.
DEFAULT_TYPE_WORDS: dict[str, str] = {
    "PER": "người",
    "TITLE": "chức_vụ",
    "ORG": "tổ_chức",
    "LOC": "địa_điểm",
    "DATE": "thời_gian",
    "EVENT": "sự_kiện",
    "AGREEMENT": "văn_kiện",
}

# one_pass only: one PhoBERT symbol per entity type opens an entity and `@` closes it, two subwords
# an entity where the typed format's `@ * người * ... @` writes five, so a sentence dense with
# names costs less to encode. Symbols rare in news text, each one subword in PhoBERT's vocabulary.
SYMBOL_MARKER_FORMAT = "typed_symbol"
MARKER_FORMATS = (MARKER_FORMAT, SYMBOL_MARKER_FORMAT)
DEFAULT_TYPE_SYMBOLS: dict[str, str] = {
    "PER": "*",
    "TITLE": "#",
    "ORG": "&",
    "LOC": "|",
    "DATE": "+",
    "EVENT": "<",
    "AGREEMENT": ">",
}


def default_type_words(marker_format: str, entity_labels: Sequence[str]) -> dict[str, str]:
    """The word (typed format) or symbol (typed_symbol) written for each of `entity_labels`."""
    table = DEFAULT_TYPE_SYMBOLS if marker_format == SYMBOL_MARKER_FORMAT else DEFAULT_TYPE_WORDS
    return {label: table[label] for label in entity_labels if label in table}


# A "word" of more subwords than this (a URL, a long number) is cut: it is context, not an argument.
MAX_WORD_SUBWORDS = 32

Mention = tuple[int, int, str]  # word_start, word_end (exclusive), entity label


def pair_labels(head_label: str, tail_label: str, relation_labels: Collection[str] = RELATION_LABELS) -> list[str]:
    """Relation labels of `relation_labels` that SCHEMA.md allows from `head_label` to `tail_label`."""
    return [label for label in allowed_relations(head_label, tail_label) if label in relation_labels]


def candidate_pairs(
    mentions: Sequence[Mention], relation_labels: Collection[str] = RELATION_LABELS
) -> list[tuple[int, int]]:
    """Ordered mention pairs (head index, tail index) of one sentence that could hold a relation.

    A pair is a candidate when SCHEMA.md allows one of `relation_labels` between its types. A
    pair that only a symmetric relation (`meets`) could link is a candidate in one order only:
    the mention that comes first is the head. Nothing else is ever scored.
    """
    pairs = []
    for h, (h_start, h_end, h_label) in enumerate(mentions):
        for t, (t_start, t_end, t_label) in enumerate(mentions):
            if h == t:
                continue
            labels = pair_labels(h_label, t_label, relation_labels)
            if not labels:
                continue
            if all(label in SYMMETRIC_RELATIONS for label in labels) and (h_start, h_end) > (t_start, t_end):
                continue
            pairs.append((h, t))
    return pairs


def same_name(words: Sequence[str], first: Mention, second: Mention) -> bool:
    """Whether two mentions of one sentence write the same name with the same type (case, spaces and the
    segmenter's `_` aside): `Đại tướng Phan Văn Giang cho biết, Phan_Văn_Giang sẽ ...` names one person twice."""

    def name(mention: Mention) -> str:
        return "".join(words[mention[0] : mention[1]]).replace("_", "").replace(" ", "").casefold()

    return first[2] == second[2] and name(first) == name(second)


# How two mentions sit when no word separates them: the head written first, or the tail.
ADJACENT_ORDERS = ("head_first", "tail_first")


def adjacent_order(head: Mention, tail: Mention) -> str | None:
    """Which mention is written first ("head_first" or "tail_first") when no word lies between them, else None."""
    if head[1] == tail[0]:
        return "head_first"
    if tail[1] == head[0]:
        return "tail_first"
    return None


def words_between(first: Mention, second: Mention) -> int:
    """How many words lie between two mentions of one sentence (0 when they touch)."""
    return max(first[0], second[0]) - min(first[1], second[1])


def adjacent_rule_key(head: Mention, tail: Mention) -> tuple[str, str, str] | None:
    """(head type, tail type, order) of two adjacent mentions: what an adjacency rule matches on."""
    order = adjacent_order(head, tail)
    return None if order is None else (head[2], tail[2], order)


@dataclass(frozen=True)
class MarkedPair:
    """A sentence's words with the markers inserted; indices into `words`."""

    words: tuple[str, ...]
    head_marker: int  # the `@` that opens the head
    tail_marker: int  # the `#` that opens the tail
    head_span: tuple[int, int]  # the head's own words, [start, end)
    tail_span: tuple[int, int]
    # For every word of `words`: its index in the original sentence, or -1 for a marker.
    sources: tuple[int, ...]


def check_mentions(items: Sequence[tuple[Sequence[str], Sequence[Mention]]]) -> None:
    """ValueError naming the first mention that is not a span of its sentence's words: a reversed one
    made the one-pass input builder step backwards for ever (until memory ran out)."""
    for s_index, (words, mentions) in enumerate(items):
        for m_index, mention in enumerate(mentions):
            start, end = mention[0], mention[1]
            if not (isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(words)):
                raise ValueError(
                    f"items[{s_index}]: mention {m_index} {mention!r} is not a span (start, end, label) of the "
                    f"sentence's {len(words)} words, with 0 <= start < end <= {len(words)}"
                )


def mark_pair(
    words: Sequence[str], head: tuple[int, int], tail: tuple[int, int], head_type: str, tail_type: str
) -> MarkedPair:
    """Insert `@ * head_type * ... @` around words[head] and `# ^ tail_type ^ ... #` around words[tail]."""
    (h_start, h_end), (t_start, t_end) = head, tail
    for name, (start, end) in (("head", head), ("tail", tail)):
        if not 0 <= start < end <= len(words):
            raise ValueError(f"{name} span [{start}, {end}) is not inside a sentence of {len(words)} words")
    if h_start < t_end and t_start < h_end:
        raise ValueError(f"head [{h_start}, {h_end}) and tail [{t_start}, {t_end}) overlap")
    opening = {h_start: (HEAD_MARKER, HEAD_TYPE_MARKER, head_type), t_start: (TAIL_MARKER, TAIL_TYPE_MARKER, tail_type)}
    closing = {h_end: HEAD_MARKER, t_end: TAIL_MARKER}
    out: list[str] = []
    sources: list[int] = []
    positions: dict[str, int] = {}
    spans: dict[str, list[int]] = {}
    for index in range(len(words) + 1):
        if index in closing:
            role = "head" if closing[index] == HEAD_MARKER else "tail"
            spans[role].append(len(out))
            out.append(closing[index])
            sources.append(-1)
        if index in opening:
            marker, type_marker, type_word = opening[index]
            role = "head" if marker == HEAD_MARKER else "tail"
            positions[role] = len(out)
            out += [marker, type_marker, type_word, type_marker]
            sources += [-1] * 4
            spans[role] = [len(out)]
        if index < len(words):
            out.append(words[index])
            sources.append(index)
    return MarkedPair(
        tuple(out),
        positions["head"],
        positions["tail"],
        (spans["head"][0], spans["head"][1]),
        (spans["tail"][0], spans["tail"][1]),
        tuple(sources),
    )


@dataclass(frozen=True)
class PairInput:
    """One candidate as model input: <s> subwords </s>, and where the two start markers are."""

    input_ids: tuple[int, ...]
    head_position: int
    tail_position: int
    truncated: bool  # some context words (or argument words) did not fit and were left out


def encode_pair(
    aligner: SubwordAligner,
    marked: MarkedPair,
    max_subwords: int = MAX_SUBWORDS,
) -> PairInput:
    """Subword ids of a marked sentence, cut to a window of words around both arguments if too long.

    Both arguments with their markers are always kept; the words closest to either argument
    fill the rest of the budget, so a window may join two stretches of the sentence when the
    arguments are far apart. Nothing is cut silently: `truncated` says so, and the call counts it (truncation.py).
    """
    pieces = [ids[:MAX_WORD_SUBWORDS] for ids in aligner.words_ids(marked.words)]
    n = len(pieces)
    head_block = (marked.head_marker, marked.head_span[1] + 1)  # `@ * T *` .. closing `@`
    tail_block = (marked.tail_marker, marked.tail_span[1] + 1)
    truncated = False
    if sum(len(p) for p in pieces) <= max_subwords:
        keep = list(range(n))
    else:
        truncated = True
        required = _argument_words(marked, head_block, tail_block, pieces, max_subwords)
        used = sum(len(pieces[i]) for i in required)

        def distance(i: int) -> int:
            return min(_gap(i, head_block), _gap(i, tail_block))

        chosen = set(required)
        for i in sorted((i for i in range(n) if i not in chosen), key=lambda i: (distance(i), i)):
            if used + len(pieces[i]) > max_subwords:
                break  # stop at the first misfit so each kept stretch stays contiguous
            chosen.add(i)
            used += len(pieces[i])
        keep = sorted(chosen)
        note_truncation("pair", f"{sum(len(p) for p in pieces)} subwords cut to {len(keep)} words")
    ids = [aligner.tokenizer.cls_token_id]
    head_position = tail_position = -1
    for i in keep:
        if i == marked.head_marker:
            head_position = len(ids)
        elif i == marked.tail_marker:
            tail_position = len(ids)
        ids.extend(pieces[i])
    ids.append(aligner.tokenizer.sep_token_id)
    return PairInput(tuple(ids), head_position, tail_position, truncated)


def _gap(i: int, block: tuple[int, int]) -> int:
    start, end = block
    return start - i if i < start else i - end + 1 if i >= end else 0


def _argument_words(
    marked: MarkedPair,
    head_block: tuple[int, int],
    tail_block: tuple[int, int],
    pieces: list[tuple[int, ...]],
    max_subwords: int,
) -> list[int]:
    """The marker and argument words; arguments too long to fit together lose their last words."""
    markers = [i for block in (head_block, tail_block) for i in range(*block) if marked.sources[i] == -1]
    arguments = [list(range(*marked.head_span)), list(range(*marked.tail_span))]
    budget = max_subwords - sum(len(pieces[i]) for i in markers)
    while sum(len(pieces[i]) for words in arguments for i in words) > budget:
        longer = max(arguments, key=lambda words: sum(len(pieces[i]) for i in words))
        if len(longer) == 1:
            raise ValueError(f"the relation arguments cannot fit in {max_subwords} subwords")
        longer.pop()
    return sorted(markers + [i for words in arguments for i in words])
