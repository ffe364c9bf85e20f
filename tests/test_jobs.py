import json

from training.fit.jobs import load_jobs, run_jobs


def write(tmp_path, entries):
    path = tmp_path / "jobs.json"
    path.write_text(json.dumps(entries), encoding="utf-8")
    return load_jobs(path)


def test_jobs_follow_dependencies_and_skip_after_a_failure(tmp_path):
    out = tmp_path / "order.txt"
    jobs = write(
        tmp_path,
        [
            {"name": "a", "cmd": f"echo a >> {out}"},
            {"name": "b", "cmd": f"echo b >> {out}", "after": ["a"]},
            {"name": "bad", "cmd": "exit 3"},
            {"name": "c", "cmd": f"echo c >> {out}", "after": ["bad"]},
        ],
    )
    states = {job.name: (job.state, job.returncode) for job in run_jobs(jobs, 2, 60, tmp_path / "logs")}
    assert states == {"a": ("ok", 0), "b": ("ok", 0), "bad": ("failed", 3), "c": ("skipped", None)}
    assert out.read_text().split() == ["a", "b"]


def test_jobs_past_the_deadline_are_stopped_and_the_rest_skipped(tmp_path):
    jobs = write(tmp_path, [{"name": "slow", "cmd": "sleep 30"}, {"name": "next", "cmd": "true", "after": ["slow"]}])
    states = {job.name: job.state for job in run_jobs(jobs, 2, 1.0, tmp_path / "logs")}
    assert states == {"slow": "killed", "next": "skipped"}


def test_jobs_file_must_name_earlier_dependencies(tmp_path):
    import pytest

    with pytest.raises(SystemExit, match="'after' names \\['later'\\]"):
        write(tmp_path, [{"name": "a", "cmd": "true", "after": ["later"]}, {"name": "later", "cmd": "true"}])
