"""Issue 15: `check --push-gateway` against a real Prometheus Pushgateway (built by build.sh): what it
serves on /metrics afterwards is exactly what `-o prometheus` renders, grouped by job and cluster."""
from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from .. import harness

pytestmark = pytest.mark.integration
SNAPSHOT = Path(__file__).resolve().parents[2] / "examples" / "seed-broken"


@pytest.fixture(scope="module")
def gateway(server_bin, workdir):
    pg = harness.PushGateway(server_bin, workdir / "pushgateway")
    pg.dir.mkdir(parents=True, exist_ok=True)
    pg.start()
    yield pg
    pg.stop()


def samples(text: str, drop: tuple[str, ...] = ()) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """{(name, sorted labels without `drop`): value} of every argodoctor_* sample in an exposition."""
    out = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            if s.name.startswith("argodoctor_"):
                key = (s.name, tuple(sorted((k, v) for k, v in s.labels.items() if k not in drop)))
                assert key not in out, f"duplicate series {key}"
                out[key] = s.value
    return out


def test_push_then_scrape_reads_back_what_prometheus_format_renders(gateway, cli, tmp_path):
    code, rendered, err = cli("check", "--snapshot", SNAPSHOT, "-o", "prometheus", "--fail-on", "none",
                              "--push-gateway", gateway.url, "--push-job", "argodoctor-test")
    assert code == 0, err
    scraped = gateway.metrics()
    want = samples(rendered)
    assert len(want) > 50 and any(k[0] == "argodoctor_check_status" for k in want)
    cluster = next(dict(k[1])["cluster"] for k in want if k[0] == "argodoctor_info")
    got = samples(scraped)
    # The Pushgateway adds the group's labels to every series: job, the grouping key, and instance="".
    for _name, labels in got:
        extra = dict(labels)
        assert extra.pop("job") == "argodoctor-test" and extra["cluster"] == cluster
        assert extra.pop("instance", "") == ""
    assert samples(scraped, drop=("job", "instance")) == {
        (name, tuple(sorted({**dict(labels), "cluster": cluster}.items()))): v for (name, labels), v in want.items()}
    # read a few values back by name
    fails = sum(v for (n, lab), v in got.items() if n == "argodoctor_check_results" and dict(lab)["status"] == "fail")
    assert fails == sum(v for (n, lab), v in want.items()
                        if n == "argodoctor_check_status" and dict(lab)["status"] == "fail") > 0
    assert f'push_time_seconds{{cluster="{cluster}",instance="",job="argodoctor-test"}}' in scraped
    print(f"\n[pushgateway] {len(got)} argodoctor series pushed and scraped back, {int(fails)} failing results")


def test_a_second_push_replaces_the_group(gateway, cli):
    """PUT semantics: series of checks no longer run disappear from the group (no stale results)."""
    code, _, err = cli("check", "--snapshot", SNAPSHOT, "--fail-on", "none", "--push-gateway", gateway.url,
                       "--push-job", "replace-test")
    assert code == 0, err
    ids = {dict(lab)["id"] for (n, lab) in samples(gateway.metrics())
           if n == "argodoctor_check_status" and dict(lab)["job"] == "replace-test"}
    assert len(ids) > 5
    code, _, err = cli("check", "--snapshot", SNAPSHOT, "--fail-on", "none", "--checks", "AD101",
                       "--push-gateway", gateway.url, "--push-job", "replace-test")
    assert code == 0, err
    ids = {dict(lab)["id"] for (n, lab) in samples(gateway.metrics())
           if n == "argodoctor_check_status" and dict(lab)["job"] == "replace-test"}
    assert ids == {"AD101"}


def test_push_errors_are_one_line_and_bounded(cli):
    # nothing listens: exit 2 when the checks would exit 0, the checks' 1 when they fail
    port = harness.free_port()
    code, out, err = cli("check", "--snapshot", SNAPSHOT, "--fail-on", "none",
                         "--push-gateway", f"http://127.0.0.1:{port}")
    assert code == 2 and out and err.count("\n") == 1 and "pushing metrics to" in err, err
    code, _, err = cli("check", "--snapshot", SNAPSHOT, "--push-gateway", f"http://127.0.0.1:{port}")
    assert code == 1 and "pushing metrics to" in err
    # a server that accepts and never answers: the push gives up after --request-timeout
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(8)
        t0 = time.monotonic()
        code, _, err = cli("check", "--snapshot", SNAPSHOT, "--fail-on", "none", "--request-timeout", "1",
                           "--push-gateway", f"127.0.0.1:{s.getsockname()[1]}")
        assert code == 2 and "timed out" in err and time.monotonic() - t0 < 10, err


def test_cronjob_manifest_passes_the_push_gateway_through(cli):
    code, out, err = cli("cronjob", "manifest", "--push-gateway", "http://pushgateway.monitoring:9091",
                         "--push-job", "nightly")
    assert code == 0, err
    cron = next(o for o in yaml.safe_load_all(out) if o["kind"] == "CronJob")
    cmd = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["command"]
    assert cmd[cmd.index("--push-gateway") + 1] == "http://pushgateway.monitoring:9091"
    assert cmd[cmd.index("--push-job") + 1] == "nightly"
