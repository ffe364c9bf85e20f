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
    ids = torch.full((len(windows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(windows), width), dtype=torch.long)
    for row, window in enumerate(windows):
        ids[row, : len(window.input_ids)] = torch.tensor(window.input_ids, dtype=torch.long)
        mask[row, : len(window.input_ids)] = 1
    return ids, mask


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

    def tag(self, sentences: Sequence[Sequence[str]], batch_size: int = 32) -> list[list[WordTag]]:
        """One `WordTag` per word of each sentence (a sentence is a list of word strings)."""
        windows: list[tuple[int, Window]] = []
        for s_index, words in enumerate(sentences):
            windows.extend((s_index, w) for w in self.aligner.windows(words) if words)
        # Sorting by length keeps padding, and so wasted compute, small.
        order = sorted(range(len(windows)), key=lambda i: len(windows[i][1].input_ids))
        window_scores: dict[int, np.ndarray] = {}
        for batch_start in range(0, len(order), batch_size):
            batch = order[batch_start : batch_start + batch_size]
            for index, scores in zip(batch, self._run([windows[i][1] for i in batch])):
                window_scores[index] = scores
        results: list[list[WordTag]] = [[] for _ in sentences]
        by_sentence: dict[int, list[int]] = {}
        for index, (s_index, _) in enumerate(windows):
            by_sentence.setdefault(s_index, []).append(index)
        for s_index, indices in by_sentence.items():
            sent_windows = [windows[i][1] for i in indices]
            rows = []
            for w_local, position in best_window_per_word(sent_windows, len(sentences[s_index])):
                offset = sent_windows[w_local].word_positions.index(position)
                rows.append(window_scores[indices[w_local]][offset])
            results[s_index] = self.decode(np.stack(rows), sentences[s_index])
        return results

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

    def _run(self, batch: Sequence[Window]) -> list[np.ndarray]:
        """Per window, the (words x labels) log-probabilities at each word's first subword."""
        ids, mask = pad_batch(batch, self.tokenizer.pad_token_id)
        with torch.inference_mode():
            logits = self.model(input_ids=ids.to(self.device), attention_mask=mask.to(self.device)).logits
        log_probs = torch.log_softmax(logits.float(), dim=-1).cpu().numpy()
        return [log_probs[row, list(window.word_positions)] for row, window in enumerate(batch)]
