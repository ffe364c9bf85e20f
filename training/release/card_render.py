"""Rendering `CardData` into README.md text: Hugging Face YAML front matter and the markdown template."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import yaml

from .card_data import LEVEL_HEADERS, LEVELS, NOT_MEASURED, RECOMMENDED_BASE, TASK_NAMES, CardData, CardError, MeanStd
from .card_sources import weights_stamp

logger = logging.getLogger(__name__)


TEMPLATE_PATH = Path(__file__).parent / "templates" / "model_card.md"


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.2f}"


def _mean_std(value: MeanStd | None) -> str:
    if value is None:
        return "–"
    over = "" if value.folds is None else f" ({value.folds} {'fold' if value.folds == 1 else 'folds'})"
    return f"{value.mean * 100:.2f} ± {value.std * 100:.2f}{over}"


def _table_labels(labels: list[str], tables: list[dict[str, Any]]) -> list[str]:
    """The model's labels, then any other label the results have rows for."""
    seen = {label for table in tables for label in table}
    return list(labels) + sorted(seen - set(labels))


def render_card(card: CardData, template_path: str | Path = TEMPLATE_PATH) -> str:
    """README.md text: the front matter, then the template's sections."""
    try:
        import jinja2
    except ImportError as error:  # jinja2 comes with the [train] tools; say so instead of a traceback
        raise CardError("rendering a model card needs jinja2: pip install jinja2") from error

    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(Path(template_path).parent)),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    environment.filters["pct"] = _pct
    environment.filters["mean_std"] = _mean_std
    template = environment.get_template(Path(template_path).name)
    text = template.render(
        card=card,
        front_matter=card.front_matter().strip(),
        weights_stamp=weights_stamp(card.weights_sha256),
        levels=LEVELS,
        level_headers=LEVEL_HEADERS,
        task_names=TASK_NAMES,
        not_measured=NOT_MEASURED,
        entity_names=[label.name for label in card.entity_labels],
        relation_names=[label.name for label in card.relation_labels],
        table_labels=_table_labels,
        recommended_base=RECOMMENDED_BASE,
    )
    return re.sub(r"\n{3,}", "\n\n", text)


def split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    """(parsed YAML front matter, markdown body) of a card; CardError if it has none or it does not parse."""
    match = re.match(r"\A---\n(.*?)\n---\n", text, re.S)
    if not match:
        raise CardError("the card does not start with YAML front matter between '---' lines")
    try:
        meta = yaml.safe_load(match.group(1))
    except yaml.YAMLError as error:
        raise CardError(f"the card's front matter is not valid YAML ({error})") from error
    if not isinstance(meta, dict):
        raise CardError("the card's front matter is not a mapping")
    return meta, text[match.end() :]
