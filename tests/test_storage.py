"""int8 weight storage (viextract.storage): small error, same predictions, loads like a float model."""

import errno
import json
import shutil
from pathlib import Path

import pytest
import torch
from safetensors import safe_open

from tests.conftest import build_tiny_token_classifier
from tests.relation_helpers import build_tiny_full_model
from viextract import Extractor
from viextract.errors import ModelLoadError
from viextract.storage import (
    STORAGE_KEY,
    compress_state,
    convert_directory,
    expand_state,
    load_model,
    main,
    quantize_rows,
    read_weights,
)


def spans(extraction) -> tuple:
    """What was found, without the scores (those move in the third decimal; see the test)."""
    entity = lambda e: (e.start, e.end, e.label)  # noqa: E731
    return [entity(e) for e in extraction.entities], [
        (entity(r.head), entity(r.tail), r.label) for r in extraction.relations
    ]


def scores(extraction) -> list[float]:
    return [e.score for e in extraction.entities] + [r.score for r in extraction.relations]


SAMPLE = "Thủ tướng Phạm Minh Chính tiếp Đại sứ Lào tại Hà Nội ngày 5/3/2024. Ông Nguyễn Văn An dự họp."


def test_row_quantization_error_is_within_half_a_step_per_row():
    torch.manual_seed(0)
    weight = torch.randn(50, 64) * torch.linspace(0.01, 3, 50)[:, None]  # rows of very different scale
    weight[7] = 0.0
    values, scales = quantize_rows(weight)
    assert values.dtype == torch.int8 and scales.shape == (50,)
    error = (values.float() * scales[:, None] - weight).abs()
    assert torch.all(error <= scales[:, None] / 2 + 1e-7)
    assert torch.all(values[7] == 0)  # an all-zero row survives (no division by zero)


def test_only_weight_matrices_are_stored_as_int8_and_expand_back():
    state = {
        "a.weight": torch.randn(8, 4),
        "a.bias": torch.randn(8),
        "ln.weight": torch.ones(4),
        "ids": torch.arange(3),
    }
    stored = compress_state(state)
    assert set(stored) == {"a.weight.int8", "a.weight.scale", "a.bias", "ln.weight", "ids"}
    back = expand_state(stored)
    assert set(back) == set(state)
    assert torch.equal(back["a.bias"], state["a.bias"]) and torch.equal(back["ids"], state["ids"])
    assert torch.allclose(back["a.weight"], state["a.weight"], atol=state["a.weight"].abs().max().item() / 254 + 1e-6)


@pytest.fixture(scope="module")
def float_and_int8(tiny_tokenizer_dir, tmp_path_factory):
    root = build_tiny_full_model(tiny_tokenizer_dir, tmp_path_factory.mktemp("float"))
    packed = tmp_path_factory.mktemp("int8") / "model"
    convert_directory(root, packed, to_int8=True)
    return root, packed


def test_an_int8_directory_is_a_quarter_of_the_weights_and_flagged(float_and_int8):
    root, packed = float_and_int8
    for part in ("ner", "re"):
        assert json.loads((packed / part / "config.json").read_text())[STORAGE_KEY] == "int8-rowwise"
        with safe_open(str(packed / part / "model.safetensors"), "pt") as f:
            word = f.get_tensor("roberta.embeddings.word_embeddings.weight.int8")
        assert word.dtype == torch.int8
        assert (packed / part / "vocab.txt").is_file() and (packed / part / "bpe.codes").is_file()
    size = (packed / "ner" / "model.safetensors").stat().st_size
    assert size < 0.35 * (root / "ner" / "model.safetensors").stat().st_size


def test_int8_model_gives_the_entities_and_relations_of_its_float_twin(float_and_int8):
    root, packed = float_and_int8
    full, small = Extractor.from_pretrained(root, device="cpu"), Extractor.from_pretrained(packed, device="cpu")
    assert all(p.dtype == torch.float32 for p in small.ner_model.parameters())  # float compute
    assert small.relation_extractor is not None
    for text in (SAMPLE, "Hà Nội và Thành phố Hồ Chí Minh ký thỏa thuận hợp tác năm 2023."):
        ours, theirs = small(text), full(text)
        assert spans(ours) == spans(theirs) and ours.entities and ours.relations
        assert scores(ours) == pytest.approx(scores(theirs), abs=0.01)


def _plainly_expanded(directory) -> dict[str, torch.Tensor]:
    """The weights of an int8-stored directory by the formula, each row times its scale in float32."""
    stored = read_weights(directory / "model.safetensors")
    return {
        name.removesuffix(".int8"): tensor.float() * stored[name.replace(".int8", ".scale")][:, None]
        for name, tensor in stored.items()
        if name.endswith(".int8")
    } | {name: tensor for name, tensor in stored.items() if not name.endswith((".int8", ".scale"))}


def _bit_equal(a: torch.Tensor, b: torch.Tensor) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and a.numpy().tobytes() == b.numpy().tobytes()


def test_loading_int8_weights_draws_no_random_initialisation_and_gives_the_plain_models_outputs(float_and_int8):
    """Weights were randomly initialised, then overwritten by the loaded ones (0.7 s for the bundled model);
    the model loaded without that must compute exactly what one built and filled the plain way computes."""
    from transformers import AutoConfig, AutoModelForTokenClassification

    _, packed = float_and_int8
    rng = torch.get_rng_state()
    loaded = Extractor.from_pretrained(packed, device="cpu").ner_model
    assert torch.equal(torch.get_rng_state(), rng)  # nothing drawn: no initialisation ran
    plain = AutoModelForTokenClassification.from_config(AutoConfig.from_pretrained(str(packed / "ner")))
    plain.load_state_dict(_plainly_expanded(packed / "ner"))
    plain.eval()
    ours, theirs = dict(loaded.named_parameters()), dict(plain.named_parameters())
    assert ours.keys() == theirs.keys() and all(_bit_equal(ours[n].data, theirs[n].data) for n in ours)
    assert all(isinstance(p, torch.nn.Parameter) and p.requires_grad for p in ours.values())
    buffers = dict(plain.named_buffers())
    assert all(_bit_equal(b, buffers[n]) for n, b in loaded.named_buffers())
    ids = torch.tensor([[0, 5, 9, 14, 7, 2], [0, 11, 3, 2, 1, 1]])
    mask = (ids != 1).long()
    with torch.no_grad():
        assert _bit_equal(
            loaded(input_ids=ids, attention_mask=mask).logits, plain(input_ids=ids, attention_mask=mask).logits
        )


def test_weights_the_file_lacks_start_from_the_random_initialisation_they_had(float_and_int8):
    """A task head on an int8-stored base (training) is not in the file: it must not be left as uninitialised
    memory, and the same seed gives it the same values as building the model gives."""
    from transformers import AutoConfig, AutoModelForSequenceClassification

    _, packed = float_and_int8
    config = AutoConfig.from_pretrained(str(packed / "ner"))
    torch.manual_seed(7)
    model, info = load_model(AutoModelForSequenceClassification, packed / "ner")
    torch.manual_seed(7)
    fresh = AutoModelForSequenceClassification.from_config(config)
    assert info["missing_keys"] and all(name.startswith("classifier.") for name in info["missing_keys"])
    heads = dict(fresh.named_parameters())
    assert all(_bit_equal(p.data, heads[n].data) for n, p in model.named_parameters() if n.startswith("classifier."))
    assert _bit_equal(
        model.roberta.embeddings.word_embeddings.weight.data,
        _plainly_expanded(packed / "ner")["roberta.embeddings.word_embeddings.weight"],
    )


def test_the_bundled_model_holds_exactly_its_stored_rows_times_their_scales():
    from viextract.extractor import BUNDLED_MODEL_DIR, default_extractor

    extractor = default_extractor()
    for part, model in (("ner", extractor.ner_model), ("re", extractor.relation_extractor.model)):
        state = model.state_dict()
        expected = _plainly_expanded(BUNDLED_MODEL_DIR / part)
        assert set(expected) <= set(state), part
        assert all(_bit_equal(state[name], tensor) for name, tensor in expected.items()), part


def test_a_loaded_int8_model_saves_as_an_ordinary_float_model(float_and_int8, tmp_path):
    _, packed = float_and_int8
    Extractor.from_pretrained(packed, device="cpu").save_pretrained(tmp_path / "saved")
    config = json.loads((tmp_path / "saved" / "ner" / "config.json").read_text())
    assert STORAGE_KEY not in config
    with safe_open(str(tmp_path / "saved" / "ner" / "model.safetensors"), "pt") as f:
        assert "roberta.embeddings.word_embeddings.weight" in set(f.keys())


def test_expand_cli_writes_a_float_copy_that_plain_transformers_loads(float_and_int8, tmp_path, capsys):
    from transformers import AutoModelForTokenClassification

    _, packed = float_and_int8
    assert main(["expand", str(packed), str(tmp_path / "float")]) == 0
    assert "wrote" in capsys.readouterr().out
    assert STORAGE_KEY not in json.loads((tmp_path / "float" / "ner" / "config.json").read_text())
    model = AutoModelForTokenClassification.from_pretrained(str(tmp_path / "float" / "ner"))
    reference = Extractor.from_pretrained(packed, device="cpu").ner_model
    assert torch.equal(
        model.roberta.embeddings.word_embeddings.weight, reference.roberta.embeddings.word_embeddings.weight
    )


def test_a_bare_model_directory_round_trips(tiny_tokenizer_dir, tmp_path):
    build_tiny_token_classifier(tiny_tokenizer_dir, tmp_path / "bare")
    convert_directory(tmp_path / "bare", tmp_path / "packed", to_int8=True)
    convert_directory(tmp_path / "packed", tmp_path / "back", to_int8=False)
    back, packed = (Extractor.from_pretrained(tmp_path / name, device="cpu") for name in ("back", "packed"))
    assert back(SAMPLE) == packed(SAMPLE)  # expanding adds no further error: the same float32 weights


def test_a_converted_copy_leaves_out_onnx_exports_of_the_old_weights(tiny_tokenizer_dir, tmp_path):
    build_tiny_token_classifier(tiny_tokenizer_dir, tmp_path / "bare")
    for name in ("model.onnx", "model_int8.onnx"):  # stand-ins: traced from weights the copy will not have
        (tmp_path / "bare" / name).write_bytes(b"graph")
    convert_directory(tmp_path / "bare", tmp_path / "packed", to_int8=True)
    assert not list((tmp_path / "packed").glob("*.onnx"))
    assert (tmp_path / "packed" / "vocab.txt").is_file()  # the other files are copied


def test_unknown_storage_and_missing_scales_are_named(float_and_int8, tmp_path):
    import shutil

    _, packed = float_and_int8
    broken = tmp_path / "broken"
    shutil.copytree(packed, broken)
    config_path = broken / "ner" / "config.json"
    config = json.loads(config_path.read_text())
    config[STORAGE_KEY] = "int3"
    config_path.write_text(json.dumps(config))
    with pytest.raises(ModelLoadError, match=rf"config.json: field '{STORAGE_KEY}'.*int3"):
        Extractor.from_pretrained(broken, device="cpu")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelLoadError, match="empty: no model.safetensors"):
        convert_directory(tmp_path / "empty", tmp_path / "x", to_int8=True)
    assert not (tmp_path / "x").exists()


QUERY = "roberta.encoder.layer.0.attention.self.query.weight"


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        # numpy broadcast each of these over the whole matrix: the model loaded with wrong weights, silently.
        (lambda s: s.update({f"{QUERY}.scale": s[f"{QUERY}.scale"][:1].clone()}), r"\.scale' is float32 \[1\]"),
        (lambda s: s.update({f"{QUERY}.int8": s[f"{QUERY}.int8"][0].clone()}), r"\.int8' is int8 \[\d+\]"),
        (lambda s: s.update({f"{QUERY}.int8": s[f"{QUERY}.int8"].view(torch.uint8)}), r"\.int8' is uint8"),
        (lambda s: s[f"{QUERY}.scale"].fill_(float("nan")), r"\.scale' holds scales that are not finite"),
        (lambda s: s.pop(f"{QUERY}.int8"), r"\.scale' scales no '.*query\.weight\.int8' tensor"),
        # numpy's "operands could not be broadcast together", naming neither file nor tensor.
        (
            lambda s: s.update({f"{QUERY}.scale": s[f"{QUERY}.scale"][:3].clone()}),
            r"\.scale' is float32 \[3\], expected float32 \[\d+\]",
        ),
    ],
)
def test_int8_rows_and_scales_that_do_not_fit_are_refused_naming_the_tensor(float_and_int8, tmp_path, edit, message):
    from safetensors.torch import load_file, save_file

    _, packed = float_and_int8
    broken = tmp_path / "broken"
    shutil.copytree(packed, broken)
    weights = broken / "ner" / "model.safetensors"
    state = load_file(str(weights))
    edit(state)
    save_file(state, str(weights), metadata={"format": "pt"})
    with pytest.raises(ModelLoadError, match=rf"ner/model\.safetensors: '{QUERY}{message}"):
        Extractor.from_pretrained(broken, device="cpu")


def test_float_weights_stored_as_integers_or_cut_short_are_refused_naming_the_file(float_and_int8, tmp_path):
    from safetensors.torch import load_file, save_file

    root, _ = float_and_int8
    broken = tmp_path / "broken"
    shutil.copytree(root, broken)
    weights = broken / "re" / "model.safetensors"
    state = load_file(str(weights))
    norm = next(name for name in state if name.endswith("LayerNorm.weight"))
    state[norm] = state[norm].long()  # from_pretrained cast it to float32 zeros and loaded the model
    save_file(state, str(weights), metadata={"format": "pt"})
    with pytest.raises(
        ModelLoadError, match=rf"re/model\.safetensors: tensor '{norm}' is stored as I64, but the model"
    ):
        Extractor.from_pretrained(broken, device="cpu")
    weights = broken / "ner" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-100])  # named the folder only, not the file
    with pytest.raises(ModelLoadError, match=r"ner/model\.safetensors: cannot be read as safetensors weights"):
        Extractor.from_pretrained(broken, device="cpu")


@pytest.mark.parametrize(("stored", "value"), [("float", float("nan")), ("int8", float("inf"))])
def test_weights_holding_nan_or_infinity_are_refused_naming_the_tensor(float_and_int8, tmp_path, stored, value):
    from safetensors.torch import load_file, save_file

    broken = tmp_path / "broken"
    shutil.copytree(dict(zip(("float", "int8"), float_and_int8))[stored], broken)
    weights = broken / "ner" / "model.safetensors"
    state = load_file(str(weights))
    norm = next(name for name in state if name.endswith("LayerNorm.bias"))
    state[norm][0] = value  # loaded, and found no entity in any text
    save_file(state, str(weights), metadata={"format": "pt"})
    with pytest.raises(
        ModelLoadError, match=rf"ner/model\.safetensors: tensor '{norm}' holds values that are not finite"
    ):
        Extractor.from_pretrained(broken, device="cpu")


def test_assemble_int8_checks_dev_f1_and_writes_int8_weights(float_and_int8, tmp_path, capsys):
    from tests.conftest import REPO
    from training.release.assemble import main as assemble

    root, _ = float_and_int8
    doc = json.loads((REPO / "data" / "corpus.jsonl").read_text(encoding="utf-8").splitlines()[2])
    (tmp_path / "corpus.jsonl").write_text(json.dumps(doc, ensure_ascii=False) + "\n", encoding="utf-8")
    (tmp_path / "splits.json").write_text(json.dumps({"train": [], "dev": [doc["id"]], "test": []}), encoding="utf-8")
    out = tmp_path / "model"
    args = ["--ner", str(root / "ner"), "--re", str(root / "re"), "--out", str(out), "--dtype", "int8"]
    assert assemble([*args, "--splits", str(tmp_path / "splits.json")]) == 0
    assert "dev F1 float32 -> int8" in capsys.readouterr().out
    assert json.loads((out / "re" / "config.json").read_text())[STORAGE_KEY] == "int8-rowwise"
    assert Extractor.from_pretrained(out, device="cpu").relation_extractor is not None


def test_converting_over_a_full_model_leaves_no_stale_relation_model(float_and_int8, tiny_tokenizer_dir, tmp_path):
    _, packed = float_and_int8
    target = tmp_path / "target"
    convert_directory(packed, target, to_int8=False)
    (target / "notes.txt").write_text("mine")  # another file: entries are moved in one by one
    build_tiny_token_classifier(tiny_tokenizer_dir, tmp_path / "ner-only" / "ner")
    convert_directory(tmp_path / "ner-only", target, to_int8=True)
    names = {p.name for p in target.iterdir()}
    assert {"ner", "notes.txt"} <= names and "re" not in names
    assert Extractor.from_pretrained(target, device="cpu").relation_extractor is None


def test_storage_command_errors_are_one_line(float_and_int8, tmp_path, capsys):
    _, packed = float_and_int8
    # A truncated weights file and a broken config.json were Python tracebacks.
    truncated, garbled = tmp_path / "truncated", tmp_path / "garbled"
    shutil.copytree(packed, truncated)
    weights = truncated / "ner" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    shutil.copytree(packed, garbled)
    (garbled / "ner" / "config.json").write_text("{", encoding="utf-8")
    for argv, message in [
        (["compress", str(tmp_path / "absent"), str(tmp_path / "out")], "absent: no such model folder"),
        (["expand", str(weights), str(tmp_path / "out")], "model.safetensors: a file, not a model folder"),
        (["compress", str(packed), str(packed / "int8")], "int8: inside the model it converts"),
        (["expand", str(truncated), str(tmp_path / "out")], "ner/model.safetensors: cannot be read as safetensors"),
        (["compress", str(garbled), str(tmp_path / "out")], "ner/config.json: cannot be read as JSON"),
    ]:
        with pytest.raises(SystemExit) as stopped:
            main(argv)
        assert stopped.value.code == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and message in err and "Traceback" not in err
    assert not (packed / "int8").exists() and not (tmp_path / "out").exists()


def test_writing_into_the_folder_above_the_input_is_refused_before_the_relation_model_is_lost(float_and_int8, tmp_path):
    # `compress model/ner model` swapped model's ner/ and re/ for a bare NER model: the relation model was deleted.
    root, _ = float_and_int8
    model = tmp_path / "model"
    shutil.copytree(root, model)
    before = sorted(str(p.relative_to(model)) for p in model.rglob("*"))
    with pytest.raises(ModelLoadError, match="holds the model it converts"):
        convert_directory(model / "ner", model, to_int8=True)
    assert sorted(str(p.relative_to(model)) for p in model.rglob("*")) == before
    assert Extractor.from_pretrained(model, device="cpu").relation_extractor is not None


def test_a_model_whose_save_was_interrupted_is_not_converted(float_and_int8, tmp_path):
    # The copy carried the marker along: it was written, then refused when loaded, as if a save into it had failed.
    from viextract.saving import INCOMPLETE_SAVE

    root, _ = float_and_int8
    model = tmp_path / "model"
    shutil.copytree(root, model)
    (model / INCOMPLETE_SAVE).write_text("killed\n")
    with pytest.raises(ModelLoadError, match=f"model.*was interrupted.*{INCOMPLETE_SAVE}"):
        convert_directory(model, tmp_path / "out", to_int8=True)
    assert not (tmp_path / "out").exists()


def test_expanding_a_half_precision_model_says_float32_in_its_config(tiny_tokenizer_dir, tmp_path):
    # The float32 copy kept config.json's "float16": transformers' dtype="auto" loaded it back in half
    # precision, and the card's size section called its float32 file float16.
    model, _ = build_tiny_token_classifier(tiny_tokenizer_dir, tmp_path / "float32")
    model.half().save_pretrained(tmp_path / "half")
    for name in ("vocab.txt", "bpe.codes"):
        shutil.copy(tmp_path / "float32" / name, tmp_path / "half" / name)
    for key in ("dtype", "torch_dtype"):
        assert json.loads((tmp_path / "half" / "config.json").read_text()).get(key) in (None, "float16")
    convert_directory(tmp_path / "half", tmp_path / "expanded", to_int8=False)
    config = json.loads((tmp_path / "expanded" / "config.json").read_text())
    with safe_open(str(tmp_path / "expanded" / "model.safetensors"), "pt") as weights:
        assert {weights.get_tensor(n).dtype for n in weights.keys()} <= {torch.float32, torch.int64}
    assert [config[key] for key in ("dtype", "torch_dtype") if key in config] == ["float32"]


def test_a_folder_holding_something_else_is_not_written_into(float_and_int8, tmp_path, capsys):
    # `compress outputs/ner .` in a project replaced its README.md by the model's and dropped weights beside its files.
    root, _ = float_and_int8
    shutil.copytree(root / "ner", tmp_path / "ner")
    (tmp_path / "ner" / "README.md").write_text("the model's card", encoding="utf-8")
    project = tmp_path / "project"
    project.mkdir()
    (project / "README.md").write_text("my project", encoding="utf-8")
    with pytest.raises(SystemExit) as stopped:
        main(["compress", str(tmp_path / "ner"), str(project)])
    assert stopped.value.code == 2 and "not a model folder" in capsys.readouterr().err
    assert [p.name for p in project.iterdir()] == ["README.md"]
    assert (project / "README.md").read_text(encoding="utf-8") == "my project"


def test_a_converted_copy_leaves_out_what_a_killed_onnx_export_left(tiny_tokenizer_dir, tmp_path):
    """`.model.onnx.1234.tmp`, a graph of the old weights under the name it was staged as, was copied along."""
    build_tiny_token_classifier(tiny_tokenizer_dir, tmp_path / "bare")
    (tmp_path / "bare" / ".model.onnx.1234.tmp").write_bytes(b"half a graph")
    convert_directory(tmp_path / "bare", tmp_path / "packed", to_int8=True)
    assert not list((tmp_path / "packed").glob("*.tmp"))


def test_a_converted_copy_leaves_out_a_model_a_killed_save_left_staged(float_and_int8, tmp_path):
    """`.re.1234.dir.tmp`, a whole relation model a killed save had staged beside `re/`, was copied into the copy."""
    import shutil

    source = tmp_path / "model"
    shutil.copytree(float_and_int8[0], source)
    folders = sorted(p.name for p in source.iterdir() if p.is_dir())
    shutil.copytree(source / "re", source / ".re.99999999.dir.tmp")
    convert_directory(source, tmp_path / "packed", to_int8=True)
    assert sorted(p.name for p in (tmp_path / "packed").iterdir() if p.is_dir()) == folders


def test_a_converted_copy_leaves_out_an_old_model_set_aside_and_a_staged_card(float_and_int8, tmp_path):
    """`.old-ner-1234` (an old `ner/` a killed save set aside) was converted into the copy as a second model,
    and `.README.md.1234.tmp` (a card being written) copied as it was."""
    import shutil

    source = tmp_path / "model"
    shutil.copytree(float_and_int8[0], source)
    names = sorted(p.name for p in source.iterdir())
    shutil.copytree(source / "ner", source / ".old-ner-99999999")
    (source / ".README.md.99999999.tmp").write_text("half a card", encoding="utf-8")
    convert_directory(source, tmp_path / "packed", to_int8=True)
    assert sorted(p.name for p in (tmp_path / "packed").iterdir()) == names


def test_a_target_that_cannot_be_written_is_named_not_its_staging_folder(float_and_int8, tmp_path, monkeypatch, capsys):
    """A read-only target's error named only the hidden `/x/.model.1234.dir.tmp` the user never gave."""
    _, packed = float_and_int8
    make_folder = Path.mkdir

    def read_only_mkdir(path, *args, **kwargs):
        if path.name.endswith(".dir.tmp"):  # as a folder whose parent is read-only refuses it (root ignores modes)
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return make_folder(path, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", read_only_mkdir)
    target = tmp_path / "model"
    with pytest.raises(SystemExit) as stopped:
        main(["expand", str(packed), str(target)])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {target}: cannot write the converted model there (Permission denied; at ")
    assert err.count("\n") == 1 and not target.exists()


def test_converting_a_model_of_another_schema_major_version_is_refused(float_and_int8, tmp_path, capsys):
    """`storage expand` copied a model whose config says SCHEMA.md 2.0 without a word, as loading did before."""
    _, packed = float_and_int8
    source = tmp_path / "model"
    shutil.copytree(packed, source)
    config_path = source / "ner" / "config.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    config["viextract"] = {**(config.get("viextract") or {}), "schema_version": "2.0"}
    config_path.write_text(json.dumps(config), encoding="utf-8")
    with pytest.raises(SystemExit) as stopped:
        main(["expand", str(source), str(tmp_path / "out")])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {config_path}: field 'viextract.schema_version': SCHEMA.md version 2.0, which")
    assert not (tmp_path / "out").exists()


def test_help_says_what_source_and_target_may_be(float_and_int8, tmp_path, capsys):
    """`--help` listed `source target` with no word on which folders the command writes into or refuses."""
    with pytest.raises(SystemExit):
        main(["--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "source the model folder to convert" in help_text
    assert "target where the converted copy goes" in help_text
    assert "it may be source itself" in help_text and "not a model (no ner/ or config.json) is refused" in help_text
    _, packed = float_and_int8
    shutil.copytree(packed, tmp_path / "model")  # as the help says, target may be source: converted in place
    assert main(["expand", str(tmp_path / "model"), str(tmp_path / "model")]) == 0
    assert STORAGE_KEY not in json.loads((tmp_path / "model" / "ner" / "config.json").read_text())
