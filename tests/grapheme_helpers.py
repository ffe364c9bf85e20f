"""Grapheme-cluster examples and the check that entities respect clusters and symbol edges."""

import unicodedata

from viextract.graphemes import cluster_bounds, is_symbol_word
from viextract.ner import WordTag

FLAG_VN = "\U0001f1fb\U0001f1f3"  # 🇻🇳
FLAG_LA = "\U0001f1f1\U0001f1e6"  # 🇱🇦
FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467"  # 👨‍👩‍👧
THUMBS_MEDIUM = "\U0001f44d\U0001f3fd"  # 👍🏽
HEART = "\u2764\ufe0f"  # ❤️ (with VARIATION SELECTOR-16)
SCOTLAND = "\U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f"  # black flag + tags
KEYCAP_ONE = "1\ufe0f\u20e3"  # 1️⃣
E_NFD = unicodedata.normalize("NFD", "ệ")  # e + dot below + circumflex


# Whole clusters and their parts on their own; tests/test_robustness.py runs the extractor on them.
CLUSTER_PIECES = [FLAG_VN, FLAG_LA, "\U0001f1fb", FAMILY, "\u200d", THUMBS_MEDIUM, "\U0001f3fd", HEART, "\ufe0f"]
CLUSTER_PIECES += [SCOTLAND, KEYCAP_ONE, E_NFD, "\u0301", "\u0323", "\U0001f600", "©", "$", "\x00"]


def clusters(text):
    return [text[a:b] for a, b in cluster_bounds(text)]


def check_clusters_and_edges(text, entities):
    bounds = {a for a, _ in cluster_bounds(text)} | {len(text)}
    for entity in entities:
        assert entity.text == text[entity.start : entity.end]
        assert entity.start in bounds and entity.end in bounds, (entity, text)
        if entity.label in {"PER", "TITLE", "ORG", "LOC"}:
            first, last = clusters(entity.text)[0], clusters(entity.text)[-1]
            assert not is_symbol_word(first) and not is_symbol_word(last), entity


class TagEverything:
    """A stand-in tagger that reads every word as one long TITLE: edges are all that decoding decides."""

    def __init__(self, aligner):
        self.aligner = aligner  # pipe prepares windows with the real tagger's aligner

    def tag(self, sentences, batch_size=32, batch_tokens=None, windows=None):
        return [[WordTag("B-TITLE" if i == 0 else "I-TITLE", 0.9) for i in range(len(s))] for s in sentences]
