"""viextract.onnx: the ONNX Runtime engine gives torch's answers, and refuses a graph of other weights."""

import pytest

from viextract import Extractor

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

from viextract.onnx import export_ner, load_onnx_extractor  # noqa: E402


def spans(results) -> list:
    return [[(e.start, e.end, e.label) for e in r.entities] for r in results]


@pytest.fixture(scope="module")
def exported(tiny_ner_dir, tmp_path_factory):
    return export_ner(tiny_ner_dir, tmp_path_factory.mktemp("onnx") / "model.onnx")


def test_an_unpadded_batch_runs_as_on_torch(tiny_ner_dir, exported, corpus):
    """TokenTagger passes no attention mask when nothing is padded (one sentence, batch_size=1)."""
    texts = [corpus[0][:300], "Ông Nguyễn Văn An đến Hà Nội."]
    expected = spans(Extractor.from_pretrained(tiny_ner_dir, device="cpu").pipe(texts, batch_size=1))
    onnx = load_onnx_extractor(tiny_ner_dir, exported)
    assert spans(onnx.pipe(texts, batch_size=1)) == expected
    assert spans([onnx(texts[1])]) == expected[1:]
