"""Train a viextract model from a YAML config.

    python -m training.fit.train ner --config configs/ner.yaml [--set key=value ...] [--resume]
    python -m training.fit.train re  --config configs/re.yaml  [--set key=value ...] [--resume]

Several GPUs (or CPU processes): start the same command under `torchrun --nproc_per_node N -m
training.fit.train ...` or `accelerate launch -m training.fit.train ...`; the Trainer runs DDP.
Errors found before training (config, data, base model) print one line and exit with status 2.
"""

from __future__ import annotations

import argparse
import inspect
import logging
import os
import sys
from collections.abc import Sequence

from .config import CONFIG_CLASSES, ConfigError, TrainConfig, add_overrides_option

TASKS = ("ner", "re")


def build_parser(prog: str = "python -m training.fit.train") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n")[1])
    parser.add_argument("task", choices=TASKS, help="which model to train")
    parser.add_argument("--config", help="YAML config (keys: see docs/training.md); defaults if omitted")
    add_overrides_option(parser, help="override one config key (repeatable), e.g. --set learning_rate=3e-5")
    parser.add_argument("--resume", action="store_true", help="continue from the last checkpoint in checkpoint_dir")
    return parser


def config_class(task: str, module=None) -> type[TrainConfig]:
    """The config dataclass of `task`: registered in training.fit.config, or defined by the task's module."""
    if task in CONFIG_CLASSES:
        return CONFIG_CLASSES[task]
    candidates = [getattr(module, "CONFIG_CLASS", None)] if module is not None else []
    candidates += _subclasses(TrainConfig)
    for candidate in candidates:
        if isinstance(candidate, type) and issubclass(candidate, TrainConfig) and candidate.task == task:
            return candidate
    raise ConfigError(f"no config class for task {task!r}")


def _subclasses(cls: type) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        found += [sub, *_subclasses(sub)]
    return found


def task_module(task: str):
    # Imported here so that `ner` never needs the relation code and vice versa.
    if task == "ner":
        from . import ner as train_ner

        return train_ner
    from . import relations as train_re

    return train_re


def setup_logging() -> None:
    rank = int(os.environ.get("RANK", "0"))
    logging.basicConfig(
        level=logging.INFO if rank == 0 else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )


def main(argv: Sequence[str] | None = None, prog: str = "python -m training.fit.train") -> int:
    args = build_parser(prog).parse_args(argv)
    setup_logging()
    from ..data.documents import DataError

    known_errors: tuple[type[BaseException], ...] = (ConfigError, DataError)
    try:
        module = task_module(args.task)
        known_errors += tuple(e for e in (getattr(module, "BaseModelError", None),) if e is not None)
        config = config_class(args.task, module).load(args.config, args.overrides)
        run = module.run
        if "resume" in inspect.signature(run).parameters:
            run(config, resume=args.resume)
        elif args.resume:
            raise ConfigError(f"--resume: the {args.task} trainer does not support resuming")
        else:
            run(config)
    except known_errors as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
