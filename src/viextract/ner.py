"""Running a token-classification model over prepared sentences: windows in, word tags out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from .align import SubwordAligner, Window, best_window_per_word


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

    def __init__(self, model, tokenizer, aligner: SubwordAligner | None = None):
        self.model = model
        self.tokenizer = tokenizer
        self.aligner = aligner or SubwordAligner(tokenizer)
        self.id2label = {int(k): v for k, v in model.config.id2label.items()}

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
        window_tags: dict[int, list[WordTag]] = {}
        for batch_start in range(0, len(order), batch_size):
            batch = order[batch_start : batch_start + batch_size]
            for index, tags in zip(batch, self._run([windows[i][1] for i in batch])):
                window_tags[index] = tags
        results: list[list[WordTag]] = [[] for _ in sentences]
        by_sentence: dict[int, list[int]] = {}
        for index, (s_index, _) in enumerate(windows):
            by_sentence.setdefault(s_index, []).append(index)
        for s_index, indices in by_sentence.items():
            sent_windows = [windows[i][1] for i in indices]
            for w_local, position in best_window_per_word(sent_windows, len(sentences[s_index])):
                window = sent_windows[w_local]
                offset = window.word_positions.index(position)
                results[s_index].append(window_tags[indices[w_local]][offset])
        return results

    def _run(self, batch: Sequence[Window]) -> list[list[WordTag]]:
        ids, mask = pad_batch(batch, self.tokenizer.pad_token_id)
        with torch.inference_mode():
            logits = self.model(input_ids=ids.to(self.device), attention_mask=mask.to(self.device)).logits
        probs = torch.softmax(logits.float(), dim=-1)
        best_prob, best_id = probs.max(dim=-1)
        best_prob, best_id = best_prob.cpu().tolist(), best_id.cpu().tolist()
        out = []
        for row, window in enumerate(batch):
            out.append([WordTag(self.id2label[best_id[row][p]], best_prob[row][p]) for p in window.word_positions])
        return out
