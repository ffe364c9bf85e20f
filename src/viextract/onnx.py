"""The NER model on ONNX Runtime (CPU): export it once, then extract with the usual `Extractor`.

    pip install "viextract[onnx]"

    from viextract.onnx import export_ner, load_onnx_extractor
    export_ner("my-model")                      # writes my-model/ner/model.onnx
    extractor = load_onnx_extractor("my-model")  # an Extractor whose NER runs on onnxruntime
    extractor.pipe(texts)

A Hub repo id works for both, as with `Extractor.from_pretrained` (`revision=`, `token=`): the model is
fetched into the Hugging Face cache as from_pretrained fetches it, and the graph is written beside it there
unless `output=` says where, stamped with the repo id and the commit it was exported from.

Everything around the model (segmentation, windows, BIO decoding, offsets) is the same code as
with torch; only the forward pass changes. A relation model, if the directory has one, stays on
torch. The exported file records the weights it came from: once they are retrained or replaced, loading
it is an error until it is exported again. Whether ONNX Runtime is faster than torch on a given CPU is measured in
benchmarks/speed.py, not assumed.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import inspect
import logging
import os
import re
import shlex
import warnings
from pathlib import Path
from types import SimpleNamespace

import torch

from .arguments import check_positive_int
from .errors import ModelLoadError
from .extractor import Extractor
from .loading import (
    WEIGHTS_FILE,
    check_ner_labels,
    check_segmenter,
    load_tokenizer,
    ner_load_errors,
    read_config,
    refuse_relation_model,
    resolve_model_dir,
    split_model_dir,
)
from .quiet import quiet_unless_verbose
from .saving import atomic_file, file_in_the_way

ONNX_FILE = "model.onnx"
ONNX_INT8_FILE = "model_int8.onnx"
# opset 17 has LayerNormalization as one op; every onnxruntime release since 1.14 runs it.
OPSET = 17
# Above any machine's core count (more intra-op threads than cores only slows onnxruntime down), yet a fixed
# number, so a setting that works on a big server is not refused on a laptop; 100000 spent minutes making threads.
MAX_THREADS = 1024
# Metadata of an exported graph: the sha256 of the model.safetensors it was exported from and, for a
# model fetched from the Hub, the repo id and the commit of that snapshot.
WEIGHTS_DIGEST_KEY = "viextract_weights_sha256"
HUB_REPO_KEY = "viextract_hub_repo_id"
HUB_COMMIT_KEY = "viextract_hub_commit"


def _require_onnxruntime():
    try:
        import onnxruntime
    except ImportError as error:
        raise ImportError(
            "viextract.onnx needs onnxruntime (and onnx to export): pip install 'viextract[onnx]'"
        ) from error
    return onnxruntime


def _require_exporter(int8: bool) -> None:
    """onnx (and onnxruntime for int8) before the model loads: without onnx, torch's exporter failed only after
    loading and tracing, with its own "Module onnx is not installed!" that names no extra."""
    try:
        import onnx  # noqa: F401
    except ImportError as error:
        raise ImportError("viextract.onnx needs onnx to export: pip install 'viextract[onnx]'") from error
    if int8:  # else the float graph was written, and the quantizer then missing
        _require_onnxruntime()


@quiet_unless_verbose
def export_ner(
    path_or_repo_id: str | os.PathLike,
    output: str | os.PathLike | None = None,
    *,
    revision: str | None = None,
    token: str | None = None,
    int8: bool = False,
    verbose: bool = False,
) -> Path:
    """Export the NER model of a model directory or Hub repo id to ONNX; returns the file written.

    `path_or_repo_id`, `revision` and `token` are read as `Extractor.from_pretrained` reads them. `output` is
    the .onnx file to write (default `<ner dir>/model.onnx`, in the Hub cache for a repo id); a file already
    there is replaced only once the new one is whole. `int8=True` also writes `model_int8.onnx` beside it
    (onnxruntime's dynamic int8 quantization of the weights) and returns that path. `verbose=True` lets
    transformers print its progress bars and log lines; by default exporting prints nothing.
    """
    from transformers import AutoModelForTokenClassification

    from .loading import check_loading_info
    from .storage import load_model

    _require_exporter(int8)
    root = resolve_model_dir(path_or_repo_id, revision=revision, token=token)
    ner_dir, _ = split_model_dir(root)
    # Names a missing config.json or weights file, which transformers would report in its own words.
    config = read_config(ner_dir)
    refuse_relation_model(ner_dir, config)  # else transformers' "does not recognize this architecture"
    model_type = config.get("model_type")
    path = Path(output).expanduser() if output is not None else ner_dir / ONNX_FILE
    if output is not None and os.fspath(output).endswith(("/", os.sep)):  # Path() drops the slash: a file `exports`
        raise IsADirectoryError(
            f"{os.fspath(output)}: names a folder, not the ONNX file to write; pass e.g. {path / ONNX_FILE}"
        )
    quantized = path.with_name(ONNX_INT8_FILE)
    # Before the minutes of loading and tracing, not after them.
    check_onnx_target(path, f"pass output= the file to write, e.g. {path / ONNX_FILE}")
    if int8:
        check_onnx_target(quantized, f"int8=True writes {ONNX_INT8_FILE} beside {path.name}; move the folder away")
    # Eager attention traces to plain MatMul/Softmax that onnxruntime fuses; sdpa's tracing
    # branches on the mask's contents. float32 whatever the stored dtype (float16, or the int8 rows
    # of viextract.storage, which only load_model reads): a float16 graph cannot be int8-quantized,
    # and a plain from_pretrained would fill int8-stored weights with random ones.
    with ner_load_errors(ner_dir):
        model, info = load_model(
            AutoModelForTokenClassification, ner_dir, attn_implementation="eager", dtype=torch.float32
        )
    check_loading_info(ner_dir, info, model_type)
    stamp = {WEIGHTS_DIGEST_KEY: weights_digest(ner_dir), **hub_source(path_or_repo_id, root)}
    # A failed or killed export leaves the previous file (or none), never a half-written graph under the real name.
    with atomic_file(path) as staging:
        _export_graph(model.eval(), staging, stamp)
    _remove_inferred_copy(path)  # of an int8 export killed (SIGKILL) in the quantizer
    if not int8:
        return path
    _require_onnxruntime()
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with atomic_file(quantized) as staging:
        with _no_root_logger_advice(), _no_inferred_copy_left(path):
            quantize_dynamic(str(path), str(staging), weight_type=QuantType.QInt8)
        _stamp(staging, stamp)  # quantize_dynamic does not copy the metadata
    return quantized


@contextlib.contextmanager
def _no_inferred_copy_left(graph: Path):
    """quantize_dynamic writes a shape-inferred copy of `graph` beside it (model-inferred.onnx, as large as the
    graph) and removes it only when it succeeds: a Ctrl-C or a failure left it in the export folder for good."""
    try:
        yield
    finally:
        _remove_inferred_copy(graph)


def _remove_inferred_copy(graph: Path) -> None:
    """Remove quantize_dynamic's shape-inferred copy of `graph`, which a SIGKILL leaves there, whole or not."""
    try:
        graph.with_name(f"{graph.stem}-inferred{graph.suffix}").unlink(missing_ok=True)
    except OSError as error:
        if error.errno != errno.ENAMETOOLONG:  # a graph named near the limit: no such copy can exist
            raise


# Where a graph is missing or unusable: the function, and the command for those who work from a shell.
REEXPORT = "viextract.onnx.export_ner (or from a shell with `viextract export-onnx MODEL`)"


def _export_advice(model: str | os.PathLike, output: Path | None, revision: str | None, int8: bool) -> str:
    """The export_ner call that writes `output` (default: beside the weights), and the `viextract export-onnx`
    line that does the same where the command can: it writes only model.onnx (and model_int8.onnx), into an
    --out folder that is new or holds an earlier export. An int8 graph is the model_int8.onnx export_ner writes
    beside its `output`, moved to the name asked where that is another."""
    written = _int8_export_output(output) if int8 and output is not None else output
    call = f"viextract.onnx.export_ner({str(model)!r}{f', output={str(written)!r}' if written is not None else ''}"
    call += f"{f', revision={revision!r}' if revision else ''}{', int8=True' if int8 else ''})"
    if int8 and output is not None and output.name != ONNX_INT8_FILE:
        return f"os.replace({call}, {str(output)!r})"  # export_ner returns its model_int8.onnx: moved to the name asked
    words = ["viextract", "export-onnx", str(model)]
    if output is not None:
        if output.name != (ONNX_INT8_FILE if int8 else ONNX_FILE) or not _command_writes_into(output.parent):
            return call
        words += ["--out", str(output.parent)]
    words += ["--revision", revision] if revision else []
    words += ["--int8"] if int8 else []
    return f"{call}, or from a shell: {shlex.join(words)}"


def _int8_export_output(int8_path: Path) -> Path:
    """The `output` for export_ner(int8=True), which writes the float graph there and model_int8.onnx beside it.

    For another name than model_int8.onnx, a folder of its own: the graphs it writes replace no one's files.
    """
    if int8_path.name == ONNX_INT8_FILE:
        return int8_path.with_name(ONNX_FILE)
    return int8_path.with_name(f"{int8_path.name}.export") / ONNX_FILE


def _command_writes_into(folder: Path) -> bool:
    from .export_command import OutFolderError, check_out_folder

    try:
        check_out_folder(str(folder))
    except OutFolderError:
        return False
    return True


def hub_source(path_or_repo_id: str | os.PathLike, root: Path) -> dict[str, str]:
    """The repo id and commit a model fetched from the Hub came from, as graph metadata; {} for a local folder.

    snapshot_download returns `.../snapshots/<commit>`: the commit a branch or tag resolved to when fetched.
    """
    if Path(path_or_repo_id).expanduser().is_dir():
        return {}
    source = {HUB_REPO_KEY: str(path_or_repo_id)}
    if root.parent.name == "snapshots" and re.fullmatch(r"[0-9a-f]{40}", root.name):
        source[HUB_COMMIT_KEY] = root.name
    return source


def check_onnx_target(path: Path, hint: str) -> None:
    """`path` can be written as a file: not a directory (`hint` says what to do then), no file above it."""
    if path.is_dir():
        raise IsADirectoryError(f"{path}: is a directory, not the ONNX file to write; {hint}")
    if (existing := file_in_the_way(path.parent)) is not None:
        raise NotADirectoryError(f"{path}: {existing} is a file, not a folder, so the ONNX file cannot be written")


def _export_graph(model, path: Path, stamp: dict[str, str]) -> None:
    """Trace `model` to an ONNX graph at `path`, stamped with `stamp` (what it was exported from)."""
    # Two rows, one padded, so the traced graph keeps the attention mask.
    ids = torch.tensor([[0, 5, 6, 7, 2], [0, 5, 2, 1, 1]], dtype=torch.long)
    mask = (ids != model.config.pad_token_id).long()
    options = {}
    if "dynamo" in inspect.signature(torch.onnx.export).parameters:
        options["dynamo"] = False  # the TorchScript exporter: fast, and needs no onnxscript
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # tracer and deprecation chatter about the exporter itself
        torch.onnx.export(
            model,
            (ids, mask),
            str(path),
            input_names=["input_ids", "attention_mask"],
            output_names=["logits"],
            dynamic_axes={name: {0: "batch", 1: "sequence"} for name in ("input_ids", "attention_mask", "logits")},
            opset_version=OPSET,
            **options,
        )
    _stamp(path, stamp)


class _DropQuantizerAdvice(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "pre-processing before quantization" not in record.getMessage()


@contextlib.contextmanager
def _no_root_logger_advice():
    """onnxruntime's quantize_dynamic advises through logging.warning on the root logger, which prints it and,
    in a script that configured no logging, installs a stderr handler for good: drop that one record, and
    hold a NullHandler meanwhile so that logging.warning finds a handler and configures nothing."""
    root = logging.getLogger()
    advice, placeholder = _DropQuantizerAdvice(), logging.NullHandler()
    root.addFilter(advice)
    root.addHandler(placeholder)
    try:
        yield
    finally:
        root.removeHandler(placeholder)
        root.removeFilter(advice)


def weights_digest(ner_dir: Path) -> str:
    """sha256 of the NER weights file: what an exported graph must have been traced from."""
    digest = hashlib.sha256()
    with open(ner_dir / WEIGHTS_FILE, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _stamp(path: Path, metadata: dict[str, str]) -> None:
    import onnx

    model = onnx.load(str(path), load_external_data=False)  # a graph over 2 GB keeps its external weights
    for key, value in metadata.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(model, str(path))


def check_exported_from(session, path: Path, ner_dir: Path) -> None:
    """A graph stamped by `export_ner` must come from the weights now in `ner_dir`: a model retrained into
    the same folder keeps its old model.onnx, which would otherwise run the old model without a word."""
    stamped = session.get_modelmeta().custom_metadata_map.get(WEIGHTS_DIGEST_KEY)
    if stamped is not None and stamped != weights_digest(ner_dir):
        raise ModelLoadError(
            f"{path}: exported from other weights than {ner_dir / WEIGHTS_FILE} (retrained or replaced since); "
            f"export it again with {REEXPORT}"
        )


def _open_session(ort, path: Path, options):
    """An inference session on `path`; a cut-off, empty or damaged file is a ModelLoadError naming it."""
    from onnxruntime.capi import onnxruntime_pybind11_state as state

    # No fallback: for a graph it cannot open, onnxruntime printed "*** EP Error ***" on stdout and retried on
    # the same CPU provider. A damaged name or metadata string in the graph is a UnicodeDecodeError.
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"], enable_fallback=0)
    except (state.InvalidProtobuf, state.InvalidArgument, state.InvalidGraph, UnicodeDecodeError) as error:
        raise ModelLoadError(f"{path}: not a whole ONNX graph ({error}); export it again with {REEXPORT}") from error


# What OnnxTokenClassifier feeds and reads; a graph may also take token_type_ids (fed zeros, as torch
# fills them when none are given), as one exported from a tokenizer's whole output does.
GRAPH_INPUTS = ("input_ids", "attention_mask")
TOKEN_TYPES = "token_type_ids"
GRAPH_OUTPUT = "logits"
GRAPH_SIGNATURE = (
    "input_ids and attention_mask (int64, [batch, sequence]) in, logits (float32, [batch, sequence, labels]) "
    "out, batch and sequence dynamic"
)


def check_graph_signature(session, path: Path) -> None:
    """The graph takes and gives what OnnxTokenClassifier feeds and reads: a graph of another exporter (other
    names, int32 ids, no mask, a sequence length fixed at export) loaded, then failed on the first text with
    onnxruntime's own words ("Invalid input name", "Got invalid dimensions")."""
    problems = _signature_problems(session.get_inputs(), session.get_outputs())
    if problems:
        found = ", ".join(f"{a.name} ({a.type}, {a.shape})" for a in [*session.get_inputs(), *session.get_outputs()])
        raise ModelLoadError(
            f"{path}: not a graph viextract can run: {'; '.join(problems)}. It has {found}; viextract needs "
            f"{GRAPH_SIGNATURE}, as viextract.onnx.export_ner writes: export the model again with it "
            f"(or from a shell with `viextract export-onnx MODEL`)"
        )


def _signature_problems(inputs, outputs) -> list[str]:
    """What in the graph's inputs and outputs (onnxruntime's NodeArgs) differs from GRAPH_SIGNATURE."""
    names, known = [arg.name for arg in inputs], (*GRAPH_INPUTS, TOKEN_TYPES)
    problems = [f"no input {name!r}" for name in GRAPH_INPUTS if name not in names]
    problems += [f"an input {name!r} that viextract does not feed" for name in names if name not in known]
    checked = [(arg, "tensor(int64)", 2) for arg in inputs if arg.name in known]
    logits = [arg for arg in outputs if arg.name == GRAPH_OUTPUT]
    if not logits:
        problems.append(f"no output {GRAPH_OUTPUT!r}")
    checked += [(arg, "tensor(float)", 3) for arg in logits]
    fixed = []
    for arg, dtype, rank in checked:
        if arg.type != dtype:
            problems.append(f"{arg.name} is {arg.type}, not {dtype}")
        if len(arg.shape) != rank:
            problems.append(f"{arg.name} has {len(arg.shape)} dimensions, not {rank}")
        elif any(isinstance(size, int) for size in arg.shape[:2]):  # a name or None is dynamic
            fixed.append(arg.name)
    if fixed:
        problems.append(f"the batch or sequence length of {', '.join(fixed)} is fixed (exported without dynamic axes)")
    return problems


def check_label_count(session, path: Path, ner_dir: Path, count: int) -> None:
    """The graph's logits have one column per label of config.json: torch refuses other weights at load,
    and a graph with another count would fail only on the first text."""
    columns = {output.name: output.shape for output in session.get_outputs()}.get("logits", [None])[-1]
    if isinstance(columns, int) and columns != count:
        raise ModelLoadError(
            f"{path}: gives {columns} labels a token but {ner_dir / 'config.json'} has {count} in 'id2label'; "
            f"export it again with {REEXPORT}"
        )


def check_vocabulary(session, path: Path, ner_dir: Path, size: int) -> None:
    """The graph embeds every id of the tokenizer: an unstamped graph of another model (another exporter's) with
    a smaller vocabulary loaded, then failed on the first text with onnxruntime's "indices element out of data
    bounds" (and its log line on stderr). One token, the tokenizer's last id, run with onnxruntime's log off."""
    import numpy as np
    from onnxruntime import RunOptions
    from onnxruntime.capi import onnxruntime_pybind11_state as state

    feeds = {name: np.ones((1, 1), dtype=np.int64) for name in GRAPH_INPUTS}
    feeds["input_ids"] = np.full((1, 1), size - 1, dtype=np.int64)
    if any(arg.name == TOKEN_TYPES for arg in session.get_inputs()):
        feeds[TOKEN_TYPES] = np.zeros((1, 1), dtype=np.int64)
    quiet = RunOptions()
    quiet.log_severity_level = 4  # fatal only
    try:
        session.run([GRAPH_OUTPUT], feeds, quiet)
    except state.InvalidArgument as error:
        raise ModelLoadError(
            f"{path}: cannot embed the {size} token ids of the tokenizer in {ner_dir} ({error}): exported from "
            f"another model; export this one with {REEXPORT}"
        ) from error


class OnnxTokenClassifier:
    """Stands in for the torch token classifier inside `TokenTagger`: same call, logits from onnxruntime."""

    def __init__(self, path: str | os.PathLike, config, threads: int | None = None):
        ort = _require_onnxruntime()
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or torch.get_num_threads()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.path = Path(path)
        self.session = _open_session(ort, self.path, options)
        self.config = config
        self.takes_token_types = any(arg.name == TOKEN_TYPES for arg in self.session.get_inputs())

    def eval(self) -> OnnxTokenClassifier:
        return self

    def parameters(self):
        # TokenTagger reads the device from the first parameter: inputs stay on the CPU.
        yield torch.empty(0)

    def modules(self):
        # Saving first looks for torch's quantized layers (none here), then calls save_pretrained below.
        return iter(())

    def __call__(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None) -> SimpleNamespace:
        if attention_mask is None:  # TokenTagger passes None when nothing is padded; the graph needs a mask
            attention_mask = torch.ones_like(input_ids)
        feeds = {"input_ids": input_ids.cpu().numpy(), "attention_mask": attention_mask.cpu().numpy()}
        if self.takes_token_types:
            feeds[TOKEN_TYPES] = torch.zeros_like(input_ids).cpu().numpy()
        (logits,) = self.session.run([GRAPH_OUTPUT], feeds)
        return SimpleNamespace(logits=torch.from_numpy(logits))

    def __reduce__(self):
        # A session cannot be pickled: a worker process of `Extractor.pipe(n_process=N)` opens its own,
        # on its share of the threads (None: torch's count, which the worker has set to that share).
        return (type(self), (self.path, self.config, None))

    def save_pretrained(self, *args, **kwargs):
        raise NotImplementedError(
            f"an ONNX model ({self.path}) cannot be saved as a torch model; save from Extractor.from_pretrained"
        )


def load_onnx_extractor(
    path_or_repo_id: str | os.PathLike,
    onnx_path: str | os.PathLike | None = None,
    *,
    revision: str | None = None,
    token: str | None = None,
    int8: bool = False,
    threads: int | None = None,
    segmenter: str | None = None,
) -> Extractor:
    """An `Extractor` whose NER model runs on onnxruntime from `onnx_path`.

    `path_or_repo_id`, `revision` and `token` are read as `Extractor.from_pretrained` reads them. The
    default `onnx_path` is `<ner dir>/model.onnx` (`model_int8.onnx` with `int8=True`), as `export_ner`
    writes it. `threads` defaults to torch's thread count.
    """
    from transformers import AutoConfig

    if threads is not None:  # '2' was pybind11's "incompatible function arguments", -1 silently ORT's default
        threads = check_positive_int("threads", threads)
        if threads > MAX_THREADS:
            raise ValueError(
                f"threads must be at most {MAX_THREADS} (this machine has {os.cpu_count() or '?'} cores), got {threads}"
            )
    root = resolve_model_dir(path_or_repo_id, revision=revision, token=token)
    ner_dir, relation_dir = split_model_dir(root)
    config_dict = read_config(ner_dir)
    entity_labels = check_ner_labels(ner_dir, config_dict)
    if segmenter is None:  # as Extractor.from_pretrained: an unknown one is named with its file
        check_segmenter(ner_dir, config_dict)
    tokenizer = load_tokenizer(ner_dir, int(config_dict.get("vocab_size", 0)), config_dict.get("pad_token_id"))
    path = Path(onnx_path).expanduser() if onnx_path is not None else ner_dir / (ONNX_INT8_FILE if int8 else ONNX_FILE)
    if path.is_dir():  # the output folder of an export, say: not "no ONNX model", export would not help
        example = path / (ONNX_INT8_FILE if int8 else ONNX_FILE)
        raise ModelLoadError(f"{path}: a folder, not an ONNX file; pass the file, e.g. {example}")
    if not path.is_file():
        output = path if onnx_path is not None else None
        raise ModelLoadError(
            f"{path}: no ONNX model; write it first with " + _export_advice(path_or_repo_id, output, revision, int8)
        )
    with ner_load_errors(ner_dir):
        config = AutoConfig.from_pretrained(str(ner_dir))
    model = OnnxTokenClassifier(path, config, threads=threads)
    check_exported_from(model.session, path, ner_dir)
    check_graph_signature(model.session, path)
    check_label_count(model.session, path, ner_dir, len(config_dict["id2label"]))
    check_vocabulary(model.session, path, ner_dir, len(tokenizer))
    relation_extractor = None
    if relation_dir is not None:
        from .relations import RelationExtractor

        relation_extractor = RelationExtractor.from_pretrained(relation_dir, entity_labels, device="cpu")
    return Extractor(model, tokenizer, relation_extractor, segmenter=segmenter)
