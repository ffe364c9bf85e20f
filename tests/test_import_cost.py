"""What `import viextract` costs: torch (1.5 s or more) only where a model runs.

Reading results, `--help` and the workers that only prepare text (the GPU route of `pipe(n_process=N)`)
never need torch; each check runs in a fresh interpreter, as the property is about a process's first imports.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import viextract

REPO = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "transformers")


def _heavy_modules_after(code: str, heavy: tuple[str, ...] = HEAVY) -> list[str]:
    """The `heavy` modules a fresh interpreter has imported once it has run `code`."""
    check = textwrap.dedent(code) + f"\nimport sys\nprint(sorted(set({heavy!r}) & set(sys.modules)))\n"
    done = subprocess.run(
        [sys.executable, "-c", check], capture_output=True, text=True, cwd=REPO, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return eval(done.stdout.strip().splitlines()[-1])


def test_reading_results_and_the_cli_do_not_import_torch():
    code = """
        import viextract
        from viextract import ENTITY_LABELS, Entity, Extraction, HubError, ModelLoadError, Relation, Triple, render
        import viextract.cli, viextract.batch, viextract.results
        result = Extraction.from_json('{"text": "Lào", "entities": [], "relations": []}')
        render(result)
    """
    assert _heavy_modules_after(code) == []


def test_checking_a_batch_run_against_the_bundled_model_does_not_import_torch():
    """What `viextract batch` does on a run already complete: it compares the bundled model's files."""
    code = """
        from viextract.batch.runner import _model_files, _recorded_model
        folder, files = _model_files(_recorded_model(None))
        assert _recorded_model(str(folder)) == "bundled" and files
    """
    assert _heavy_modules_after(code) == []


def test_preparing_text_in_a_worker_does_not_import_torch_or_openssl():
    """What a text-preparing worker runs: the task unpickled by `_start_worker`, then `_run_task`."""
    code = """
        from pathlib import Path

        import viextract
        from viextract.loading import load_tokenizer, read_config
        from viextract.align import SubwordAligner
        from viextract.parallel import DocumentPreparer, _PrepareTask, _pickle_to_file, _start_worker, _run_task

        ner_dir = Path(viextract.__file__).parent / "models" / "default" / "ner"  # extractor.py imports torch
        config = read_config(ner_dir)
        tokenizer = load_tokenizer(ner_dir, config["vocab_size"], config.get("pad_token_id"))
        path = _pickle_to_file(_PrepareTask(DocumentPreparer("pyvi", SubwordAligner(tokenizer))))
        _start_worker(path, None)
        Path(path).unlink()
        [(sentences, windows)], cuts = _run_task(0, ["Ông Nguyễn Văn A đến Hà Nội."], None)
        assert len(sentences) == 1 and windows[0], (sentences, windows)
    """
    assert _heavy_modules_after(code, HEAVY + ("_hashlib",)) == []  # OpenSSL: 3.5 MB in each worker


def test_every_public_name_is_still_importable_from_the_package():
    from viextract import Extractor, extract
    from viextract.extractor import Extractor as Defined
    from viextract.extractor import extract as defined

    assert (Extractor, extract) == (Defined, defined)
    star: dict = {}
    exec("from viextract import *", star)  # each name of __all__, the lazy ones included
    assert set(viextract.__all__) <= set(star) and star["Extractor"] is Defined
    assert set(viextract.__all__) <= set(dir(viextract))


def test_segmenting_text_does_not_import_sklearn():
    """pyvi.ViTokenizer unpickles a sklearn_crfsuite CRF when imported: 3 to 4 s of scikit-learn in the first
    extract and in every text-preparing worker. The segmenter reads pyvi's files itself."""
    code = """
        from viextract.segment import _pyvi, pyvi_word_starts
        from viextract.text import prepare_text

        assert _pyvi(["Hà", "Nội", "đẹp"]) == ["Hà_Nội", "đẹp"]
        assert pyvi_word_starts([["Tp.", "Hồ", "Chí", "Minh"]]) == [[True, True, False, False]]
        assert prepare_text("Ông Nguyễn Văn A đến Hà Nội.", "pyvi")
    """
    assert _heavy_modules_after(code, ("sklearn", "sklearn_crfsuite", "pyvi.ViTokenizer")) == []
