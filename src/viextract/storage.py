"""int8 weight storage with float compute: smaller model files, same float32 model once loaded.

Every 2-D floating `*weight` tensor (embeddings, linear layers) is stored as int8 with one
float32 scale per row (`q = round(w / scale)`, `scale = max|row| / 127`) under the names
`<name>.int8` and `<name>.scale`; everything else keeps its dtype. config.json carries
`"viextract_storage": "int8-rowwise"`, so loaders know to dequantise (plain transformers would
not find the weights under their own names and says so, rather than reading int8 as floats).

    python -m viextract.storage compress SRC DST   # float model directory -> int8-stored copy
    python -m viextract.storage expand SRC DST     # int8-stored directory -> ordinary float32 copy

DST is a new or empty folder, or a model directory (SRC itself included); a folder holding something else is
refused, as is one inside SRC or above it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import threading
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .errors import ModelLoadError
from .loading import WEIGHTS_FILE, check_schema_version
from .saving import INCOMPLETE_SAVE, atomic_directory, is_save_leftover

STORAGE_KEY = "viextract_storage"
INT8_ROWWISE = "int8-rowwise"
INT8_SUFFIX, SCALE_SUFFIX = ".int8", ".scale"


def quantize_rows(weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(int8 values, float32 per-row scales) with weight ≈ values * scales[:, None]."""
    weight = weight.detach().float()
    scales = weight.abs().amax(dim=1) / 127.0
    safe = torch.where(scales > 0, scales, torch.ones_like(scales))  # an all-zero row stays zero
    values = torch.round(weight / safe[:, None]).clamp(-127, 127).to(torch.int8)
    return values.contiguous(), scales.contiguous()


def compress_state(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The tensors to store: 2-D float weights as int8 + scales, the rest as they are."""
    stored: dict[str, torch.Tensor] = {}
    for name, tensor in state.items():
        if tensor.dim() == 2 and tensor.is_floating_point() and name.endswith("weight"):
            stored[name + INT8_SUFFIX], stored[name + SCALE_SUFFIX] = quantize_rows(tensor)
        else:
            stored[name] = tensor.detach().contiguous()
    return stored


def expand_state(stored: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """float32 tensors under the model's own names, from what `compress_state` stored."""
    state: dict[str, torch.Tensor] = {}
    for name, tensor in stored.items():
        if name.endswith(SCALE_SUFFIX):
            continue
        if name.endswith(INT8_SUFFIX):
            base = name[: -len(INT8_SUFFIX)]
            state[base] = _dequantized(tensor, stored[base + SCALE_SUFFIX])
        else:
            state[name] = tensor.float() if tensor.is_floating_point() else tensor
    return state


def _dequantized(values: torch.Tensor, scales: torch.Tensor) -> torch.Tensor:
    """`values.float() * scales[:, None]`, bit for bit (int8 to float32 is exact, then one float32 product each).

    In numpy, in one pass and one allocation: torch spread each product over its threads, which on
    a busy 2-core machine took 2.4 s for the bundled NER model against 0.2 s here.
    """
    return torch.from_numpy(np.multiply(values.numpy(), scales.float().numpy()[:, None], dtype=np.float32))


def read_storage(directory: str | os.PathLike) -> str | None:
    """The storage flag of a model directory's config.json (None: ordinary weights)."""
    path = Path(directory) / "config.json"
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
        value = config.get(STORAGE_KEY)
    except (OSError, ValueError, AttributeError):
        return None  # the caller's own config checks report a missing or broken config.json
    if isinstance(config.get("viextract") or {}, dict):  # a wrong type there is check_field_types' to name
        check_schema_version(path, config)  # else `storage expand` copied a model of another major version
    if value not in (None, INT8_ROWWISE):
        raise ModelLoadError(f"{path}: field '{STORAGE_KEY}': unknown storage {value!r}, expected {INT8_ROWWISE!r}")
    return value


def read_weights(path: Path) -> dict[str, torch.Tensor]:
    """The tensors of a safetensors file; a truncated or foreign file is a ModelLoadError naming it."""
    from safetensors.torch import load_file

    try:
        return load_file(str(path))
    except Exception as error:  # SafetensorError, OSError: the storage command printed a traceback
        raise ModelLoadError(f"{path}: cannot be read as safetensors weights ({error})") from error


def read_config_object(path: Path) -> dict[str, Any]:
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ModelLoadError(f"{path}: cannot be read as JSON ({error})") from error
    if not isinstance(config, dict):
        raise ModelLoadError(f"{path}: expected a JSON object")
    return config


def load_state(directory: str | os.PathLike) -> dict[str, torch.Tensor]:
    """The float32 state dict of an int8-stored directory."""
    path = Path(directory) / WEIGHTS_FILE
    stored = read_weights(path)
    missing = [n for n in stored if n.endswith(INT8_SUFFIX) and n[: -len(INT8_SUFFIX)] + SCALE_SUFFIX not in stored]
    if missing:
        raise ModelLoadError(f"{path}: int8 tensors without their '{SCALE_SUFFIX}' row scales: {missing[:3]}")
    for name in stored:
        if name.endswith(SCALE_SUFFIX):
            check_int8_pair(path, name[: -len(SCALE_SUFFIX)], stored)
    return expand_state(stored)


def check_int8_pair(path: Path, base: str, stored: dict[str, torch.Tensor]) -> None:
    """`base.int8` holds int8 rows and `base.scale` one finite scale per row: else numpy's broadcasting made
    weights of a scale of one element, of one row or of uint8 values, loaded without a word."""
    values, scales = stored.get(base + INT8_SUFFIX), stored[base + SCALE_SUFFIX]
    if values is None:
        problem = f"'{base}{SCALE_SUFFIX}' scales no '{base}{INT8_SUFFIX}' tensor"
    elif values.dtype != torch.int8 or values.dim() != 2:
        problem = f"'{base}{INT8_SUFFIX}' is {_described(values)}, expected int8 rows (2-D)"
    elif not scales.is_floating_point() or tuple(scales.shape) != values.shape[:1]:
        problem = (
            f"'{base}{SCALE_SUFFIX}' is {_described(scales)}, expected float32 [{values.shape[0]}], a scale per row"
        )
    elif not torch.isfinite(scales).all():
        problem = f"'{base}{SCALE_SUFFIX}' holds scales that are not finite numbers"
    else:
        return
    raise ModelLoadError(f"{path}: {problem}")


def _described(tensor: torch.Tensor) -> str:
    return f"{str(tensor.dtype).removeprefix('torch.')} {list(tensor.shape)}"


def load_model(model_class: Any, directory: str | os.PathLike, **kwargs: Any):
    """(model, loading info) as `model_class.from_pretrained(directory, output_loading_info=True, **kwargs)`
    gives them, dequantising an int8-stored directory first. Either way the info lists the weights that
    are missing, unused or of the wrong shape, for `loading.check_loading_info` to refuse.

    `model_class` is an Auto class or a PreTrainedModel subclass; kwargs as for from_pretrained
    (`config`, `dtype`, `attn_implementation`). The loaded config forgets the storage flag, so
    saving the model again writes ordinary float weights.
    """
    if read_storage(directory) is None:
        path = Path(directory) / WEIGHTS_FILE
        stored = stored_dtypes(path)  # a broken file is named, not only the folder
        # Mismatched shapes are then listed in the loading info instead of an error that points to a
        # report quiet loading never shows.
        model, info = model_class.from_pretrained(
            str(directory), use_safetensors=True, output_loading_info=True, ignore_mismatched_sizes=True, **kwargs
        )
        refuse_integer_weights(path, stored, model)
        refuse_non_finite(path, model)
        return model, info
    from transformers import AutoConfig

    config = kwargs.pop("config", None) or AutoConfig.from_pretrained(str(directory))
    if hasattr(config, STORAGE_KEY):
        delattr(config, STORAGE_KEY)
    dtype = kwargs.pop("dtype", torch.float32)
    factory = getattr(model_class, "from_config", None) or model_class._from_config
    stored = load_state(directory)
    model, info = _filled(lambda: factory(config, **kwargs), stored, initialise=False)
    if info["missing_keys"] or info["mismatched_keys"]:
        # Built again with its random initialisation, which the weights the file lacks keep (a task head on
        # a base model, in training), drawn as before.
        model, info = _filled(lambda: factory(config, **kwargs), stored, initialise=True)
    model = model.to(dtype).eval()
    refuse_non_finite(Path(directory) / WEIGHTS_FILE, model)
    return model, info


def stored_dtypes(path: Path) -> dict[str, str]:
    """Each tensor's dtype as the safetensors header gives it ("F32", "I64"), nothing read but the header."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as weights:
            return {name: weights.get_slice(name).get_dtype() for name in weights.keys()}
    except Exception as error:  # SafetensorError, OSError
        raise ModelLoadError(f"{path}: cannot be read as safetensors weights ({error})") from error


def refuse_integer_weights(path: Path, stored: dict[str, str], model: Any) -> None:
    """ModelLoadError for a tensor stored as integers or booleans where the model's is floating point:
    from_pretrained casts it without a word, so LayerNorm weights of I64 zeros gave no entities at all."""
    expected = model.state_dict()
    prefix = getattr(model, "base_model_prefix", "")
    for name, dtype in stored.items():
        own = expected.get(name, expected.get(f"{prefix}.{name}"))
        if own is not None and own.is_floating_point() and not dtype.startswith(("F", "BF")):
            raise ModelLoadError(f"{path}: tensor '{name}' is stored as {dtype}, but the model's is floating point")


def refuse_non_finite(path: Path, model: Any) -> None:
    """ModelLoadError for a weight holding NaN or infinity: the model loaded and found no entity in any text.
    Only float32 and float64 weights are looked at, as a cast to half precision may make an infinity of its own."""
    for name, tensor in model.state_dict().items():
        if tensor.dtype in (torch.float32, torch.float64) and not _all_finite(tensor):
            raise ModelLoadError(f"{path}: tensor '{name}' holds values that are not finite numbers (NaN or infinity)")


def _all_finite(tensor: torch.Tensor) -> bool:
    """True when no value is NaN or infinite. A sum carries either; numpy's, in 0.02 s for the bundled model
    where torch.isfinite took 1.5 s or more on a busy 2-core machine. Only a non-finite sum is looked at value
    by value, as a sum of huge values may overflow."""
    values = tensor.detach().cpu().numpy()
    return bool(np.isfinite(np.sum(values))) or bool(np.isfinite(values).all())


def _filled(build: Any, stored: dict[str, torch.Tensor], initialise: bool) -> tuple[Any, dict[str, list]]:
    """(the model `build()` makes, holding the `stored` weights; its loading info). Without `initialise`, the
    weights it does not hold are uninitialised memory: the caller builds again when the info lists any."""
    with contextlib.nullcontext() if initialise else _no_init_weights():  # else 0.7 s or more of overwritten draws
        model = build()
    expected = model.state_dict()
    state = _under_prefix(stored, expected, getattr(model, "base_model_prefix", ""))
    # As from_pretrained(ignore_mismatched_sizes=True) reports them: (name, stored shape, model's shape).
    mismatched = [(n, tuple(t.shape), tuple(expected[n].shape)) for n, t in state.items()
                  if n in expected and t.shape != expected[n].shape]  # fmt: skip
    skipped = {name for name, _, _ in mismatched}
    state = {name: tensor for name, tensor in state.items() if name not in skipped}
    # assign: the model takes the dequantised tensors themselves; copying them in cost 0.3 to 1.7 s.
    missing, unexpected = model.load_state_dict(state, strict=False, assign=True)
    model.tie_weights()
    untied = [n for n in missing if n not in skipped and n not in _tied_names(model, state)]
    return model, {"missing_keys": untied, "unexpected_keys": list(unexpected), "mismatched_keys": mismatched}


# no_init_weights swaps torch's init functions for no-ops and puts back what it found: two threads loading at
# once could put back each other's no-ops for good, so our loads enter it one at a time.
_INIT_LOCK = threading.Lock()


@contextlib.contextmanager
def _no_init_weights():
    """transformers' context that skips the random initialisation of a model's weights (0.7 s or more for
    the bundled model, all overwritten by the loaded ones); where it is not found, initialisation runs."""
    try:
        from transformers.initialization import no_init_weights  # transformers 5
    except ImportError:
        try:
            from transformers.modeling_utils import no_init_weights  # transformers 4
        except ImportError:
            no_init_weights = contextlib.nullcontext
    with _INIT_LOCK, no_init_weights():
        yield


def _under_prefix(state: dict[str, torch.Tensor], expected: dict, prefix: str) -> dict[str, torch.Tensor]:
    """A bare encoder's weights (`encoder.layer.0...`) under a task model's prefix (`roberta.encoder...`),
    as from_pretrained places them: the int8-stored e5 base is a bare RobertaModel."""
    if not prefix or any(name in expected for name in state):
        return state
    prefixed = {f"{prefix}.{name}": tensor for name, tensor in state.items()}
    return prefixed if any(name in expected for name in prefixed) else state


def _tied_names(model, state: dict[str, torch.Tensor]) -> set[str]:
    """Parameters that share storage with one that was loaded (tied embeddings and heads)."""
    params = dict(model.named_parameters(remove_duplicate=False))
    loaded = {params[n].data_ptr() for n in state if n in params}
    return {n for n, p in params.items() if p.data_ptr() in loaded} | {n for n, _ in model.named_buffers()}


def convert_directory(source: str | os.PathLike, target: str | os.PathLike, to_int8: bool) -> Path:
    """Copy a model directory (or one with ner/ and re/), weights stored int8 or expanded to float32; atomic."""
    source, target = Path(source), Path(target)
    if not source.is_dir():  # "no such model folder" for a file that is there sent the user looking for it
        raise ModelLoadError(f"{source}: {'a file, not a' if source.exists() else 'no such'} model folder")
    if not _is_model_dir(source) and not any(_is_model_dir(d) for d in source.iterdir() if d.is_dir()):
        raise ModelLoadError(f"{source}: no {WEIGHTS_FILE} + config.json here or in a subdirectory")
    if (source / INCOMPLETE_SAVE).exists():  # the copy would carry the marker and be refused when loaded
        raise ModelLoadError(
            f"{source}: a save into this model was interrupted ({INCOMPLETE_SAVE} is present), so ner/ and re/ "
            f"may come from different models; save it again before converting it"
        )
    if source.resolve() in target.resolve().parents:
        raise ModelLoadError(f"{target}: inside the model it converts ({source}); write it elsewhere")
    if target.resolve() in source.resolve().parents:  # the swap would delete the folder it read, and its re/
        raise ModelLoadError(f"{target}: holds the model it converts ({source}); write it elsewhere")
    if _holds_something_else(target):
        raise ModelLoadError(
            f"{target}: not empty and not a model folder (no ner/ or config.json), so its files could be "
            f"replaced by the model's; write into a new or empty folder, or over a model"
        )
    # ner/ and re/ are ours as in Extractor.save_pretrained: a stale re/ would pair old relations with new entities.
    with atomic_directory(target, owned=("ner", "re")) as staging:
        _convert_into(source, staging, to_int8)
    return target


def _holds_something_else(target: Path) -> bool:
    """True for a folder with visible entries but no model: a project's README.md would be replaced by the card.
    Hidden ones (.DS_Store, a Hub clone's .gitattributes) do not count."""
    if not target.is_dir() or (target / "ner").is_dir() or (target / "config.json").is_file():
        return False
    return any(not entry.name.startswith(".") for entry in target.iterdir())


def _is_model_dir(directory: Path) -> bool:
    return (directory / WEIGHTS_FILE).is_file() and (directory / "config.json").is_file()


def _made_from_weights(name: str) -> bool:
    """Files rewritten from the converted weights, or traced from the old ones (an ONNX export names their
    digest, so a copy would only be refused when loaded)."""
    return name in (WEIGHTS_FILE, "config.json") or name.endswith(".onnx")


def _convert_into(source: Path, target: Path, to_int8: bool) -> None:
    from safetensors.torch import save_file

    target.mkdir(exist_ok=True)
    for item in source.iterdir():
        if is_save_leftover(item.name):
            continue  # what a killed save left (`.re.1234.dir.tmp`, `.old-ner-1234`): no part of this model
        if item.is_dir():
            if _is_model_dir(item):
                _convert_into(item, target / item.name, to_int8)
            else:
                shutil.copytree(item, target / item.name)
        elif not (_is_model_dir(source) and _made_from_weights(item.name)):
            shutil.copy2(item, target / item.name)
    if not _is_model_dir(source):
        return
    config = read_config_object(source / "config.json")
    state = load_state(source) if read_storage(source) else read_weights(source / WEIGHTS_FILE)
    config.pop(STORAGE_KEY, None)
    if to_int8:
        config[STORAGE_KEY] = INT8_ROWWISE
        state = compress_state(state)
    else:
        state = {n: t.float() if t.is_floating_point() else t for n, t in state.items()}
        # Else a float16 source's "float16" stayed: dtype="auto" loaded the float32 copy back in half precision.
        for key in [k for k in ("dtype", "torch_dtype") if k in config] or ["dtype"]:
            config[key] = "float32"
    save_file(state, str(target / WEIGHTS_FILE), metadata={"format": "pt"})
    (target / "config.json").write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m viextract.storage",
        description="int8 weight storage of a model directory (config.json + model.safetensors)",
    )
    parser.add_argument(
        "action", choices=("compress", "expand"), help="compress: float -> int8; expand: int8 -> float32"
    )
    parser.add_argument(
        "source",
        help="the model folder to convert: config.json + model.safetensors, or a folder holding ner/ (and re/)",
    )
    parser.add_argument(
        "target",
        help="where the converted copy goes: a new or empty folder, or a model folder (its model is replaced; it may "
        "be source itself), never a folder inside source or one above it; a non-empty folder that is not a model "
        "(no ner/ or config.json) is refused",
    )
    args = parser.parse_args(argv)
    try:
        out = convert_directory(args.source, args.target, to_int8=args.action == "compress")
    except ModelLoadError as error:
        parser.exit(2, f"error: {error}\n")
    except OSError as error:
        parser.exit(2, f"error: {_command_error(error, args.target)}\n")
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(f"wrote {out} ({args.action}ed, {size / 1e6:.1f} MB in all)")
    return 0


def _command_error(error: OSError, target: str) -> str:
    """The error line for `error`: one at a hidden staging path (`/x/.model.1234.dir.tmp`) names the target
    the user gave first, since that hidden name appears nowhere in their command."""
    paths = [Path(os.fsdecode(name)) for name in (error.filename, error.filename2) if isinstance(name, (str, bytes))]
    if not any(is_save_leftover(part) for path in paths for part in path.parts):
        return str(error)
    where = f"; at {paths[0]}" if paths else ""
    return f"{target}: cannot write the converted model there ({error.strerror or error}{where})"


if __name__ == "__main__":
    raise SystemExit(main())
