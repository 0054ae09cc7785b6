import pytest
from script_runs import train


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """One uninterrupted single-device run with evaluation: the run the
    script tests inspect, and the weights the distributed runs must end with."""
    run = tmp_path_factory.mktemp("tiny") / "run"
    result = train(run)
    assert result.returncode == 0, result.stderr[-3000:]
    # Beside the run, for the test of what a user sees.
    (run.parent / "stdout.txt").write_text(result.stdout)
    (run.parent / "stderr.txt").write_text(result.stderr)
    return run
