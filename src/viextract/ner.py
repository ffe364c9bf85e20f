"""Running a token-classification model over prepared sentences: windows in, word tags out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from .align import SubwordAligner, Window, best_window_per_word
from .bio import TagBigrams, WordContext, WordShapes, best_valid_tags

# How word tags are read from the model's per-word distributions (see bio.best_valid_tags):
# "viterbi" (the default) is the best valid IOB2 sequence, scored with the model's tag bigrams
# when its config.json has them; "constrained" the best valid sequence without the bigrams;
# "argmax" each word's own most probable tag. The last two are there for comparison.
DECODINGS = ("viterbi", "constrained", "argmax")


def _stored(config, reader, labels: Sequence[str]):
    """`reader.from_dict` of the model config's `viextract[reader.KEY]`, or None where it has none."""
    settings = getattr(config, "viextract", None) or {}
    values = settings.get(reader.KEY) if isinstance(settings, dict) else None
    return reader.from_dict(values, labels) if values is not None else None


def tag_bigrams_of(config, labels: Sequence[str]) -> TagBigrams | None:
    """The `viextract.tag_bigrams` of a model config, or None (a model trained before them, or elsewhere)."""
    return _stored(config, TagBigrams, labels)


def word_context_of(config, labels: Sequence[str]) -> WordContext | None:
    """The `viextract.word_context` of a model config, or None (a model trained without it)."""
    return _stored(config, WordContext, labels)


def word_shapes_of(config, labels: Sequence[str]) -> WordShapes | None:
    """The `viextract.word_shapes` of a model config, or None (a model trained without them)."""
    return _stored(config, WordShapes, labels)


@dataclass(frozen=True)
class WordTag:
    label: str
    prob: float


def pad_batch(windows: Sequence[Window], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad windows to the longest in the batch; returns input_ids and attention_mask."""
    width = max(len(w.input_ids) for w in windows)
    # Filled in numpy, one slice a row: a tensor per row costs more than the copy at large batches.
    ids = np.full((len(windows), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(windows), width), dtype=np.int64)
    for row, window in enumerate(windows):
        ids[row, : len(window.input_ids)] = window.input_ids
        mask[row, : len(window.input_ids)] = 1
    return torch.from_numpy(ids), torch.from_numpy(mask)


class TokenTagger:
    """Tags the words of many sentences at once, batching windows of similar length."""

    def __init__(self, model, tokenizer, aligner: SubwordAligner | None = None, decoding: str = "viterbi"):
        if decoding not in DECODINGS:
            raise ValueError(f"decoding must be one of {', '.join(DECODINGS)}, got {decoding!r}")
        self.model = model
        self.tokenizer = tokenizer
        self.aligner = aligner or SubwordAligner(tokenizer)
        self.decoding = decoding
        self.id2label = {int(k): v for k, v in model.config.id2label.items()}
        self.labels = [self.id2label[i] for i in range(len(self.id2label))]
        self.bigrams = tag_bigrams_of(model.config, self.labels)
        self.context = word_context_of(model.config, self.labels)
        self.shapes = word_shapes_of(model.config, self.labels)

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def tag(
        self,
        sentences: Sequence[Sequence[str]],
        batch_size: int = 32,
        batch_tokens: int | None = None,
        windows: Sequence[Sequence[Window]] | None = None,
    ) -> list[list[WordTag]]:
        """One `WordTag` per word of each sentence (a sentence is a list of word strings).

        `windows`: each sentence's windows when they were built already (`DocumentPreparer` in a
        worker process); `batch_size` and `batch_tokens` bound a forward pass (see `plan_batches`).
        """
        if windows is None:
            windows = [self.aligner.windows(words) if words else [] for words in sentences]
        flat = [(s_index, w) for s_index, sentence_windows in enumerate(windows) for w in sentence_windows]
        window_scores = self.score_windows([w for _, w in flat], batch_size, batch_tokens)
        results: list[list[WordTag]] = [[] for _ in sentences]
        by_sentence: dict[int, list[int]] = {}
        for index, (s_index, _) in enumerate(flat):
            by_sentence.setdefault(s_index, []).append(index)
        for s_index, indices in by_sentence.items():
            sent_windows = [flat[i][1] for i in indices]
            rows = []
            for w_local, position in best_window_per_word(sent_windows, len(sentences[s_index])):
                offset = sent_windows[w_local].word_positions.index(position)
                rows.append(window_scores[indices[w_local]][offset])
            results[s_index] = self.decode(np.stack(rows), sentences[s_index])
        return results

    def score_windows(
        self, windows: Sequence[Window], batch_size: int = 32, batch_tokens: int | None = None
    ) -> list[np.ndarray]:
        """Per window, the (words x labels) log-probabilities at each word's first subword.

        Windows are sorted by length (little padding), every batch is launched before any result
        is read back, and the results come back to the host in one copy: the device never waits
        for the host between batches.
        """
        order = sorted(range(len(windows)), key=lambda i: len(windows[i].input_ids))
        lengths = [len(windows[i].input_ids) for i in order]
        pieces = []
        for start, end in plan_batches(lengths, batch_size, batch_tokens):
            pieces.append(self._forward([windows[i] for i in order[start:end]]))
        if not pieces:
            return []
        rows = torch.cat(pieces).cpu().numpy()
        scores: list[np.ndarray] = [rows[:0]] * len(windows)
        position = 0
        for i in order:
            count = len(windows[i].word_positions)
            scores[i] = rows[position : position + count]
            position += count
        return scores

    def decode(self, log_probs: np.ndarray, words: Sequence[str] | None = None) -> list[WordTag]:
        """One sentence's (words x labels) log-probabilities to one tag per word.

        Viterbi also weighs the model's word context and word shapes (`WordContext`, `WordShapes`)
        when it has them and `words` are given; each WordTag's probability stays the model's own.
        """
        if self.decoding == "viterbi":
            best = best_valid_tags(log_probs, self.labels, self.bigrams, self.context, words, self.shapes)
        elif self.decoding == "constrained":
            best = best_valid_tags(log_probs, self.labels)
        else:
            best = log_probs.argmax(axis=-1).tolist()
        return [WordTag(self.labels[i], float(np.exp(row[i]))) for row, i in zip(log_probs, best)]

    def _attention_mask(self, mask: torch.Tensor, device: torch.device) -> torch.Tensor | None:
        """The mask to pass, decided on the host so that the device never has to be asked.

        None when nothing is padded: transformers drops an all-ones mask anyway, but only after an
        `.all()` that makes the host wait for the device, and without a mask SDPA may use its flash
        kernel. On a GPU with SDPA, a padded batch gets a 4D boolean mask, which transformers passes
        on as it is rather than checking (and waiting for) the 2D one.
        """
        if bool(mask.all()):
            return None
        if device.type == "cuda" and getattr(self.model.config, "_attn_implementation", None) == "sdpa":
            return _to_device(mask.bool()[:, None, None, :], device)
        return _to_device(mask, device)

    def _run(self, batch: Sequence[Window]) -> list[np.ndarray]:
        """Per window, the (words x labels) log-probabilities at each word's first subword (one batch)."""
        rows = self._forward(batch).cpu().numpy()
        bounds = np.cumsum([0] + [len(w.word_positions) for w in batch])
        return [rows[a:b] for a, b in zip(bounds[:-1], bounds[1:])]

    def _forward(self, batch: Sequence[Window]) -> torch.Tensor:
        """The batch's word rows of log-probabilities, (words of all windows x labels), left on the device."""
        device = self.device
        ids, mask = pad_batch(batch, self.tokenizer.pad_token_id)
        rows = torch.tensor([r for r, w in enumerate(batch) for _ in w.word_positions], dtype=torch.long)
        cols = torch.tensor([p for w in batch for p in w.word_positions], dtype=torch.long)
        attention_mask = self._attention_mask(mask, device)
        with torch.inference_mode():
            logits = self.model(input_ids=_to_device(ids, device), attention_mask=attention_mask).logits
            words = logits[_to_device(rows, device), _to_device(cols, device)]
            return torch.log_softmax(words.float(), dim=-1)


def _to_device(tensor: torch.Tensor, device: torch.device) -> torch.Tensor:
    """A host tensor on `device`; to a GPU through pinned memory, so the copy does not block the host."""
    if device.type != "cuda":
        return tensor.to(device)
    return tensor.pin_memory().to(device, non_blocking=True)


def plan_batches(lengths: Sequence[int], batch_size: int, batch_tokens: int | None = None) -> list[tuple[int, int]]:
    """[start, end) runs of `lengths` (sorted ascending), each one forward pass.

    A batch holds at most `batch_size` windows and, when `batch_tokens` is set, at most that many
    tokens once padded to its longest window (a window longer than the budget goes alone): windows
    of similar length travel together and every pass does about the same work.
    """
    if batch_size < 1 or (batch_tokens is not None and batch_tokens < 1):
        raise ValueError("batch_size and batch_tokens must be at least 1")
    batches = []
    start, longest = 0, 0
    for index, length in enumerate(lengths):
        rows, width = index - start + 1, max(longest, length)
        if index > start and (rows > batch_size or (batch_tokens is not None and rows * width > batch_tokens)):
            batches.append((start, index))
            start, width = index, length
        longest = width
    if start < len(lengths):
        batches.append((start, len(lengths)))
    return batches
