"""What a batch worker needs to load its own extractor: a small picklable description, loaded once per process."""

from __future__ import annotations

from dataclasses import dataclass

_loaded: dict[ExtractorSpec, object] = {}


@dataclass(frozen=True)
class ExtractorSpec:
    """`model` None means the bundled default model; `threads` sets torch's intra-op threads in the worker.

    `revision` pins a Hub model to one commit, so every worker (and a resumed run) loads the same weights.
    """

    model: str | None = None
    device: str | None = None
    quantize: str | None = None
    threads: int | None = None
    revision: str | None = None

    def load(self):
        """The extractor for this spec, loaded on first use in this process and kept."""
        if self not in _loaded:
            import torch

            from ..extractor import Extractor
            from ..loading import BUNDLED_MODEL_DIR

            if self.threads:
                torch.set_num_threads(self.threads)
            path = self.model if self.model is not None else BUNDLED_MODEL_DIR
            _loaded[self] = Extractor.from_pretrained(
                path, device=self.device, quantize=self.quantize, revision=self.revision
            )
        return _loaded[self]
