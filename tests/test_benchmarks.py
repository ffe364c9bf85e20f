"""The benchmark scripts run end to end in --quick mode on the tiny model and print their tables.

No timing assertions: these check that every code path runs and reports, not how fast it is.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

from benchmarks import quality, speed
from training.data.documents import Document


def test_quality_quick_prints_the_side_by_side_table(tiny_ner_dir, tmp_path, capsys):
    out = tmp_path / "quality.json"
    assert quality.main(["--quick", "--model", str(tiny_ner_dir), "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "| label | gold | model F1 (P / R) | weak F1 (P / R) | underthesea F1 (P / R) |" in printed
    assert "**micro, PER/ORG/LOC**" in printed
    figures = json.loads(out.read_text(encoding="utf-8"))
    assert set(figures["test"]) == {"model", "weak", "underthesea"}
    # underthesea is scored on its three labels only.
    assert set(figures["test"]["underthesea"]["per_label"]) == {"PER", "ORG", "LOC"}
    assert "kfold" not in figures


def test_quality_kfold_scores_every_document_once(tmp_path, capsys):
    out = tmp_path / "kfold.json"
    assert quality.main(["--systems", "weak", "--json", str(out)]) == 0
    assert "## Leave one document out (k = 5)" in capsys.readouterr().out
    folds = json.loads(out.read_text(encoding="utf-8"))["kfold"]["weak"]
    assert len(folds["per_document_f1"]) == 5
    assert folds["micro"]["support"] == 197


def test_speed_quick_prints_every_table(tiny_ner_dir, tiny_tokenizer_dir, tmp_path, capsys):
    out = tmp_path / "speed.json"
    argv = ["--quick", "--model", str(tiny_ner_dir), "--tokenizer", str(tiny_tokenizer_dir)]
    # One thread: on a busy shared CPU, two OpenMP threads on tiny matrices mostly wait for each other.
    argv += ["--threads", "1", "--skip-cold-start", "--docs", "2", "--json", str(out)]
    assert speed.main(argv) == 0
    printed = capsys.readouterr().out
    for expected in (
        "CPU ",
        "command: `",
        "| baseline: plain loop, fp32, 1 window a pass, no_grad |",
        "| Extractor.pipe, batch 1, fp32 |",
        "| Extractor.pipe, batch 8, fp32 |",
        "| Extractor.pipe, batch 32, fp32 |",
        "| Extractor.pipe, batch 32, int8 (torch dynamic) |",
        "| text preparation only, 1 process (normalise ... windows) |",
        "### Feeding the device",
        "| NER forward only, batch 32 |",
        "### Levers, each changed alone",
        "### Entity micro-F1 on dev",
        "## Summary",
    ):
        assert expected in printed
    figures = json.loads(out.read_text(encoding="utf-8"))
    assert set(figures["models"]) == {"model", "base"}
    model = figures["models"]["model"]
    assert [row["docs"] for row in model["pipe"]] == [2] * len(model["pipe"])
    assert {row["lever"] for row in model["levers"]} >= {"baseline", "attention kernel", "grad mode", "batching"}
    assert "dev_f1" not in figures["models"]["base"]  # random weights: no F1
    assert model["feed"]["pipe_fraction_of_forward"] > 0  # a timing: below 1 on an idle machine, not on a busy one


def test_percentile_matches_numpys_linear_interpolation():
    assert speed.percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert speed.percentile([5.0], 95) == 5.0
    assert speed.percentile([0.0, 10.0], 95) == pytest.approx(9.5)


def test_onnx_extractor_matches_torch(tiny_ner_dir, tmp_path, corpus):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    from viextract import Extractor
    from viextract.onnx import export_ner, load_onnx_extractor

    path = export_ner(tiny_ner_dir, tmp_path / "model.onnx")
    torch_results = list(Extractor.from_pretrained(tiny_ner_dir, device="cpu").pipe(corpus[:2]))
    onnx_results = list(load_onnx_extractor(tiny_ner_dir, path).pipe(corpus[:2]))

    def spans(results):
        return [[(e.start, e.end, e.label) for e in r.entities] for r in results]

    assert spans(onnx_results) == spans(torch_results)
    # In worker processes each opens its own session (a session cannot be pickled).
    assert spans(load_onnx_extractor(tiny_ner_dir, path).pipe(corpus[:2], n_process=2)) == spans(torch_results)


def test_a_float16_stored_model_exports_to_int8_onnx(tiny_ner_dir, tmp_path, corpus):
    """The bundled model is stored in float16; export must trace in float32 or int8 quantization breaks."""
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    from transformers import AutoModelForTokenClassification

    from viextract.onnx import export_ner, load_onnx_extractor

    half = tmp_path / "half"
    shutil.copytree(tiny_ner_dir, half)
    AutoModelForTokenClassification.from_pretrained(half / "ner").half().save_pretrained(half / "ner")
    path = export_ner(half, int8=True)
    result = load_onnx_extractor(half, path)(corpus[0][:800])
    assert all(e.text == corpus[0][e.start : e.end] for e in result.entities)


def test_model_kfold_sums_training_evaluates_folds_into_micro(monkeypatch, tmp_path):
    """The model's k-fold comes from training.evaluation.ner.kfold_ner; here its folds are given, not trained."""
    import training.evaluation.ner

    def fold(doc_id, correct, predicted, support):
        row = {"correct": correct, "predicted": predicted, "support": support, "f1": 0.0}
        return {"test_ids": [doc_id], "chars": {"micro": {"f1": 0.5}, "per_label": {"PER": row, "DATE": row}}}

    seen = {}

    def fake_kfold(config, documents, k, work_dir, device, batch_size, extra_train=()):
        seen.update(k=k, documents=len(documents), extra=len(extra_train))
        return {"folds": [fold("a", 1, 2, 2), fold("b", 2, 2, 4)]}

    monkeypatch.setattr(training.evaluation.ner, "kfold_ner", fake_kfold)
    result = quality.model_kfold(None, [], ["doc"] * 2, tmp_path, ["extra"] * 3)
    assert seen == {"k": 2, "documents": 2, "extra": 3}
    assert result["per_label"]["PER"]["correct"] == 3 and result["per_label"]["PER"]["support"] == 6
    assert result["micro"]["correct"] == 6 and result["micro"]["predicted"] == 8
    assert result["micro_per_org_loc"]["support"] == 6  # DATE is not one of underthesea's labels
    assert result["per_document_f1"] == {"a": 0.5, "b": 0.5}


def test_model_kfold_read_from_a_results_file_must_hold_out_each_document(tmp_path):
    def fold(doc_id):
        row = {"correct": 1, "predicted": 2, "support": 3, "f1": 0.4}
        return {"test_ids": [doc_id], "chars": {"micro": {"f1": 0.4}, "per_label": {"LOC": row}}}

    documents = [Document(id=i, date=None, text="x", entities=(), relations=()) for i in ("a", "b")]
    result = quality.kfold_from_folds([fold("a"), fold("b")], documents)
    assert result["micro"]["correct"] == 2 and result["micro"]["support"] == 6
    with pytest.raises(ValueError, match="not each of the 2 corpus documents alone"):
        quality.kfold_from_folds([fold("a")], documents)


def test_an_int8_stored_model_exports_its_own_weights(tiny_ner_dir, tmp_path, corpus):
    """The bundled model is int8-stored; only viextract.storage reads those rows (a plain from_pretrained
    fills them with random weights, and the export used to ship that model without a word)."""
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    from viextract import Extractor
    from viextract.onnx import export_ner, load_onnx_extractor
    from viextract.storage import convert_directory

    stored = convert_directory(tiny_ner_dir, tmp_path / "int8", to_int8=True)
    path = export_ner(stored, tmp_path / "model.onnx")
    with torch.no_grad():
        ids = torch.tensor([[0, 5, 6, 7, 2]])
        expected = Extractor.from_pretrained(stored, device="cpu").ner_model(input_ids=ids).logits.numpy()
    session = load_onnx_extractor(stored, path).ner_model.session
    got = session.run(["logits"], {"input_ids": ids.numpy(), "attention_mask": np.ones_like(ids.numpy())})[0]
    assert np.abs(got - expected).max() < 1e-4

    def spans(extractor):
        return [[(e.start, e.end, e.label) for e in r.entities] for r in extractor.pipe(corpus[:2])]

    assert spans(load_onnx_extractor(stored, path)) == spans(Extractor.from_pretrained(stored, device="cpu"))
