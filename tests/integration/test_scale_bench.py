"""A smoke run of bench/scale.py on its own control plane (the benchmark itself is not part of CI):
it builds the cluster of issue 11 at two small sizes, measures every column, and the request count
does not grow with the number of namespaces."""
from __future__ import annotations

import importlib.util
import io
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _scale_module():
    spec = importlib.util.spec_from_file_location("bench_scale", ROOT / "bench" / "scale.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_scale"] = module
    spec.loader.exec_module(module)
    return module


def test_scale_benchmark_runs_and_requests_do_not_grow_with_namespaces(server_bin, monkeypatch):
    monkeypatch.setenv("ARGODOCTOR_BIN_DIR", str(server_bin))
    scale = _scale_module()
    out = io.StringIO()
    rows, synthetic = scale.bench([20, 50], repeat=1, synthetic_objects=2000, out=out)

    assert [r["N"] for r in rows] == [20, 50]
    for row in rows:
        assert row["objects"] >= row["N"] * scale.PER_NAMESPACE
        for key in ("floor", "check", "check_json", "snapshot", "check_snap", "rss", "snapshot_mib"):
            assert row[key] > 0, (key, row)
        assert row["pages"] >= 17  # a LIST (one page at this size) per kind of the view
    small, large = rows
    # The same LIST pages (one per kind here) and a fixed number of other requests: nothing per namespace.
    assert large["pages"] == small["pages"]
    assert large["requests"] == small["requests"] < 80
    assert [r["format"] for r in synthetic] == ["json", "yaml"]
    assert all(r["objects"] >= 2000 and r["check"] > 0 for r in synthetic)
    text = out.getvalue()
    assert "| 20 |" in text and "| 50 |" in text and "synthetic snapshot" in text
