"""Training gives the files it gave before the training/ split (issue #22: "the same commands give
the same files").

tests/data/training_golden.json describes what a tiny NER run and a tiny relation run wrote at
abac3af, the last commit before the split (its `made_by` says so), through that commit's command
`python -m training.train ner|re --config ...`. It was made with

    git worktree add --detach /tmp/presplit abac3af
    PYTHONPATH=$PWD/src:$PWD python -m tests.training_golden write --tree /tmp/presplit --module training.train

`python -m training.train` at 15f7e80, and `python -m training.fit.train` and `viextract train` at
6a0901e (main after the split), wrote byte-identical weights and the same manifest. The only bytes
that differ are training_config.yaml's first line, a comment naming the command to train again
(`viextract train` since the split, on purpose), which the manifest leaves out like the run's folder
(written `<root>`) and the timings.

The provenance record of the tiny runs (config.json's `viextract.provenance`, and training_metrics.json's)
was edited by hand once, on purpose: their train.jsonl lies outside the repository's data/, so it is the
user's data (`user_data`, licence "not recorded: the user's data"), not the project's corpus. And
training_config.yaml's `splits_file` was set to null by hand in both runs: the runs give `train_files`, and
since 3333dfa a splits file no one wrote is recorded as null beside them (the default was read by nobody).

Here the current code trains the same tiny bases on the same data in this process. Weights are
compared tensor by tensor and the metrics' floats one by one, within a relative 1e-4 (another thread
count or machine rounds differently); all else exactly. Regenerate the manifest (same command with
`--tree .`) only for a change meant to alter what training writes, and say why in the commit. Where
the bases differ too, the environment changed (torch, transformers): see `made_by`.
"""

from __future__ import annotations

import json

import torch

from tests.training_golden import GOLDEN, compare_manifest, make_manifest, run_in_process

# One intra-op thread, as the other training tests: faster on shared cores, and the result is the same with 2.
torch.set_num_threads(1)


def test_tiny_trainings_write_the_files_they_wrote_before_the_split(tmp_path):
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    manifest = make_manifest(tmp_path, run_in_process)
    differences = compare_manifest(golden, manifest)
    if any(line.startswith("/bases/") for line in differences):
        # Then training did not change, its inputs did: tests/conftest.py's tiny models, torch or transformers.
        differences.insert(0, f"the tiny bases differ from those of the golden run, made by {golden['made_by']}")
    assert not differences, "\n".join(differences[:40])
