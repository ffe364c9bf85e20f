"""The model card `save_pretrained` writes as README.md: Hugging Face front matter and a short body."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

# The card's first body line: a README.md without it was not written by viextract and is never replaced.
CARD_MARKER = "<!-- written by viextract save_pretrained; edit freely, then delete this line to keep it -->"
CARD_FILENAME = "README.md"
# Where a card names the Hub repo it will live in: filled in by whatever pushes it (push_to_hub, `publish push`).
REPO_ID_PLACEHOLDER = "REPO_ID"


# What training records as the licence of data it cannot vouch for (training.release.provenance): a user's own
# annotated files. Only the publisher knows their licence, so no licence id is chosen for them.
UNRECORDED_LICENCE = "not recorded"


def is_unrecorded(licence: str) -> bool:
    """True for a licence nobody recorded: the user's own data, or a silver source of unknown origin."""
    return licence.startswith(UNRECORDED_LICENCE) or licence == "unknown"


def choose_licence(licences: Iterable[str]) -> tuple[str, str]:
    """A licence id the Hub accepts for weights that learned from text under `licences`, and why.

    The one rule for both cards (`save_pretrained`'s and `publish card`'s), so one model never gets two
    licences: CC BY-SA text keeps its licence on the weights; text whose licence nobody recorded leaves the
    choice to the publisher ("other"); otherwise viextract's own licence, MIT.
    """
    licences = [str(licence) for licence in licences if licence]
    if any("CC BY-SA" in licence.upper() for licence in licences):
        return "cc-by-sa-4.0", (
            "the weights learned from text under CC BY-SA 4.0 (UD Vietnamese VTB: in the base's pretraining, or in "
            "fine-tuning through an earlier model or silver data), so they are "
            "shared under the same licence; pass --license to choose otherwise"
        )
    if any(is_unrecorded(licence) for licence in licences):
        return "other", (
            "the licence of the fine-tuning data is not recorded (the publisher's own data): it is the publisher's "
            "to state; pass --license"
        )
    return "mit", "viextract's licence; pass --license to choose otherwise"


def provenance_licences(config: dict[str, Any]) -> list[str]:
    """The licences of every text a model's config.json provenance (`viextract.provenance`) names."""
    sources = ((config.get("viextract") or {}).get("provenance") or {}).get("sources") or []
    return sorted({str(s.get("licence")) for s in sources if isinstance(s, dict) and s.get("licence")})


def card_licence(config: dict[str, Any], *others: dict[str, Any] | None) -> str:
    """The Hub licence id for a model's config.json (and its relation model's, `others`), by `choose_licence`
    over their stored provenance: a relation model fine-tuned from another base may have learned from text
    under another licence than the NER model, and the weights shipped together keep both."""
    licences = [licence for each in (config, *others) if each for licence in provenance_licences(each)]
    return choose_licence(licences)[0]


def is_ours(readme: Path) -> bool:
    """True when `readme` is absent or is a card viextract wrote (it still holds CARD_MARKER). A folder (or
    other non-file) of that name is the user's, like any README viextract did not write: never replaced. So is
    one that cannot be read (no permission) or a link to a file not there (a share not mounted): which card it
    holds cannot be told, and a save replaced the link itself (an unreadable one was a PermissionError)."""
    if not readme.exists() and not readme.is_symlink():
        return True
    try:
        return readme.is_file() and CARD_MARKER in readme.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False


def kept_dev_f1(metrics: dict[str, Any] | None) -> float | None:
    """Dev F1 of the weights a training run saved: the best epoch's when dev chose it (`best_dev_f1`),
    the last evaluation's when the run kept its last epoch (`select_on_dev: false`); None if unknown."""
    metrics = metrics or {}
    value = metrics.get("kept_dev_f1")
    if value is None and metrics.get("kept_epoch") == "last":
        history = metrics.get("log_history") or []
        scores = [entry["eval_f1"] for entry in history if isinstance(entry, dict) and "eval_f1" in entry]
        value = scores[-1] if scores else None
    elif value is None:
        value = metrics.get("best_dev_f1")
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _dev_name(metrics: dict[str, Any] | None) -> str:
    """The dev data the metrics were scored on, as training recorded it (`data`), for the model-index."""
    rows = (metrics or {}).get("data") or []
    dev = [row for row in rows if isinstance(row, dict) and row.get("name") == "dev" and "source" in row]
    sources = [str(row["source"]) for row in dev]
    return f"dev split: {', '.join(sources)}" if sources else "dev split"


def render_card(
    ner_config: dict[str, Any],
    metrics: dict[str, Any] | None,
    has_relations: bool,
    re_config: dict[str, Any] | None = None,
) -> str:
    labels = sorted({label.split("-", 1)[-1] for label in (ner_config.get("id2label") or {}).values()} - {"O"})
    lines = [
        "---",
        "library_name: viextract",
        "pipeline_tag: token-classification",
        "language: vi",
        f"license: {card_licence(ner_config, re_config)}",
        "tags:",
        *[f"- {tag}" for tag in ("viextract", "ner", *(("relation-extraction",) if has_relations else ()),
                                 "vietnamese", "phobert")],
    ]
    f1 = kept_dev_f1(metrics)
    if f1 is not None:
        lines += [
            "model-index:",
            "- name: viextract",
            "  results:",
            "  - task: {type: token-classification, name: Named entity recognition}",
            f"    dataset: {{type: viextract, name: {json.dumps(_dev_name(metrics), ensure_ascii=False)}, split: dev}}",
            f"    metrics:\n    - {{type: f1, value: {round(float(f1), 4)}, name: entity F1 (dev)}}",
        ]
    parts = "entities and typed relations" if has_relations else "entities"
    lines += [
        "---",
        CARD_MARKER,
        "",
        "# viextract model",
        "",
        f"A [viextract](https://pypi.org/project/viextract/) model: {parts} from Vietnamese text,",
        "with character offsets into the input.",
        "",
        f"Entity labels: {', '.join(labels) if labels else '(none stored)'}.",
        "",
        "```python",
        "from viextract import Extractor",
        f'extractor = Extractor.from_pretrained("{REPO_ID_PLACEHOLDER}")',
        'print(extractor("Thủ tướng Phạm Minh Chính gặp Tổng thống Joe Biden tại Hà Nội."))',
        "```",
        "",
    ]
    return "\n".join(lines)


def fill_repo_id(card: Path, repo_id: str) -> None:
    """Name `repo_id` where the card at `card` (if any) holds REPO_ID_PLACEHOLDER."""
    if card.is_file():
        card.write_text(card.read_text(encoding="utf-8").replace(REPO_ID_PLACEHOLDER, repo_id), encoding="utf-8")


def write_card(staging: Path, target: Path) -> None:
    """Write README.md into `staging` from its `ner/`, unless `target` has a README.md someone else wrote."""
    if not is_ours(target / CARD_FILENAME):
        return
    ner = staging / "ner"
    config = json.loads((ner / "config.json").read_text(encoding="utf-8"))
    metrics = None
    metrics_path = ner / "training_metrics.json"
    if metrics_path.is_file():
        metrics = json.loads(metrics_path.read_text(encoding="utf-8"))
    re_path = staging / "re" / "config.json"
    re_config = json.loads(re_path.read_text(encoding="utf-8")) if re_path.is_file() else None
    text = render_card(config, metrics, (staging / "re").is_dir(), re_config)
    (staging / CARD_FILENAME).write_text(text, encoding="utf-8")
