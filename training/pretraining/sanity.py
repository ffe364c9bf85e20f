"""Does the transferred model still embed like e5? Cosine of mean-pooled sentence vectors.

The transferred model reads the sentence word-segmented and PhoBERT-tokenized; e5 reads the raw
sentence. Both vectors are the mean of the last hidden states over <s> ... </s>. A matched pair
should be far closer than two different sentences (the `other` column), since e5's vectors all
share a common direction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .unigram import UnigramTokenizer

# Written for this check (not copied from anywhere): news-style sentences with names, dates, places.
CHECK_SENTENCES = (
    "Thủ tướng Chính phủ đã tiếp Đại sứ Lào tại Hà Nội vào sáng thứ Hai.",
    "Hai nước ký hiệp định hợp tác về giáo dục và y tế trong năm 2024.",
    "Giá xăng dầu trong nước tiếp tục giảm lần thứ ba liên tiếp.",
    "Đội tuyển bóng đá Việt Nam thắng Thái Lan với tỷ số 2-1.",
    "Ủy ban nhân dân thành phố Đà Nẵng tổ chức hội nghị xúc tiến đầu tư.",
    "Mưa lớn kéo dài khiến nhiều tuyến đường ở miền Trung bị ngập sâu.",
)


@dataclass
class SanityResult:
    matched: list[float]  # cosine of each sentence with itself across the two models
    other: float  # mean cosine of different sentences across the two models

    @property
    def mean_matched(self) -> float:
        return float(np.mean(self.matched))


def mean_pool(model, ids: list[int]) -> np.ndarray:
    import torch

    limit = model.config.max_position_embeddings - (2 if model.config.model_type == "roberta" else 0)
    with torch.no_grad():
        hidden = model(input_ids=torch.tensor([ids[:limit]])).last_hidden_state[0]
    vector = hidden.mean(0).numpy()
    return vector / np.linalg.norm(vector)


def phobert_ids(tokenizer, sentence: str, segmenter: str = "pyvi") -> list[int]:
    from viextract.text import prepare_text

    words = [w.text for s in prepare_text(sentence, segmenter=segmenter).sentences for w in s.words]
    return tokenizer.encode(" ".join(words))  # adds <s> ... </s>


def compare_with_e5(
    transferred, phobert_tokenizer, e5_model, e5_tokenizer: UnigramTokenizer,
    sentences: Sequence[str] = CHECK_SENTENCES, segmenter: str = "pyvi",
) -> SanityResult:  # fmt: skip
    ours = np.stack([mean_pool(transferred, phobert_ids(phobert_tokenizer, s, segmenter)) for s in sentences])
    theirs = np.stack([mean_pool(e5_model, e5_tokenizer.encode_with_specials(s)) for s in sentences])
    cosines = ours @ theirs.T
    n = len(sentences)
    other = float((cosines.sum() - np.trace(cosines)) / max(n * n - n, 1))
    return SanityResult([float(c) for c in np.diag(cosines)], other)


def int8_agreement(model, tokenizer, sentences: Sequence[str] = CHECK_SENTENCES, segmenter: str = "pyvi") -> float:
    """Lowest cosine, over `sentences`, between the model and its int8-stored copy (viextract.storage)."""
    import copy

    from viextract.storage import compress_state, expand_state

    stored = copy.deepcopy(model)
    stored.load_state_dict(expand_state(compress_state(model.state_dict())))
    ids = [phobert_ids(tokenizer, s, segmenter) for s in sentences]
    return min(float(mean_pool(model, i) @ mean_pool(stored, i)) for i in ids)
