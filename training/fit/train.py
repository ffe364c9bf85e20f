"""Train a viextract model from a YAML config.

    python -m training.fit.train ner --config configs/ner.yaml [--set key=value ...] [--resume]
    python -m training.fit.train re  --config configs/re.yaml  [--set key=value ...] [--resume]

Several GPUs (or CPU processes): start the same command under `torchrun --nproc_per_node N -m
training.fit.train ...` or `accelerate launch -m training.fit.train ...`; the Trainer runs DDP.
Errors found before training (config, data, base model) print one line and exit with status 2.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import logging
import os
import sys
from collections.abc import Sequence

from ..pipes import quiet_pipe
from .config import ConfigError, add_overrides_option

# The one registry of tasks: name -> trainer module of this package.
TASKS = {"ner": "ner", "re": "relations"}


def build_parser(prog: str = "python -m training.fit.train") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n")[1])
    parser.add_argument("task", choices=list(TASKS), help="which model to train")
    parser.add_argument("--config", help="YAML config (keys: see docs/training.md); defaults if omitted")
    add_overrides_option(parser, help="override one config key (repeatable), e.g. --set learning_rate=3e-5")
    parser.add_argument("--resume", action="store_true", help="continue from the last checkpoint in checkpoint_dir")
    return parser


def task_module(task: str):
    """The trainer module of `task` (its `run` and its `CONFIG_CLASS`); imported on demand, so that `ner`
    never needs the relation code and vice versa."""
    return importlib.import_module(f".{TASKS[task]}", __package__)


def setup_logging() -> None:
    rank = int(os.environ.get("RANK", "0"))
    logging.basicConfig(
        level=logging.INFO if rank == 0 else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )


RESUME_HINT = (
    "the checkpoints saved before stay: the same command with --resume continues from the last one (and writes "
    "the model)"
)


def describe_os_error(error: OSError) -> str:
    """`path: reason` of an OSError, without its `[Errno 28]`."""
    if error.filename is None or error.strerror is None:
        return str(error)
    return f"{error.filename}: {error.strerror}"


@quiet_pipe
def main(argv: Sequence[str] | None = None, prog: str = "python -m training.fit.train") -> int:
    args = build_parser(prog).parse_args(argv)
    setup_logging()
    from ..data.documents import DataError
    from .trainer import BaseModelError

    try:
        module = task_module(args.task)
        config = module.CONFIG_CLASS.load(args.config, args.overrides)
        run = module.run
        if "resume" in inspect.signature(run).parameters:
            run(config, resume=args.resume)
        elif args.resume:
            raise ConfigError(f"--resume: the {args.task} trainer does not support resuming")
        else:
            run(config)
    except (ConfigError, DataError, BaseModelError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except OSError as error:  # a full disk at a checkpoint or the final save: the earlier checkpoints are whole
        print(f"error: {describe_os_error(error)}; {RESUME_HINT}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # Ctrl-C: the checkpoints saved so far stay, and are what --resume reads
        print("interrupted: the same command with --resume continues from the last checkpoint", file=sys.stderr)
        return 130  # 128 + SIGINT, as `viextract extract` and the shell report it
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
