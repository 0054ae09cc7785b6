import os

import pytest

from tfpose import fileio


def test_atomic_write_replaces_or_leaves_untouched(tmp_path):
    path = tmp_path / "out.json"
    fileio.write_json(path, {"a": 1})
    assert path.read_text() == '{\n  "a": 1\n}\n'
    assert oct(os.stat(path).st_mode & 0o777) != oct(0o600)
    with pytest.raises(RuntimeError):
        with fileio.atomic_path(path) as temporary:
            with open(temporary, "w") as f:
                f.write("half")
            raise RuntimeError("crash while writing")
    assert path.read_text() == '{\n  "a": 1\n}\n'
    assert os.listdir(tmp_path) == ["out.json"]  # no temporary left behind
