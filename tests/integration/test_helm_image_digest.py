"""Issue 31 item 8: the chart takes image.digest and then runs exactly that image (repository@digest), as
`cronjob manifest --image REPO@DIGEST` does; a value that is no sha256 digest fails the render."""
from __future__ import annotations

import subprocess

import pytest

from argodoctor.report.cronjob import CronJobSpec, manifests

from .test_helm_argodoctor_chart import helm, normal, render  # noqa: F401  (helm: the fixture)

pytestmark = pytest.mark.integration
DIGEST = "sha256:" + "0123456789abcdef" * 4


def test_the_chart_runs_the_image_by_digest_when_given(helm, tmp_path):  # noqa: F811
    values = {"namespace": {"create": True}, "image": {"repository": "registry.example/argodoctor", "tag": "dev",
                                                         "digest": DIGEST}}
    chart = normal(render(helm, "argodoctor", values, tmp_path))
    cron = chart[("CronJob", "argodoctor", "argodoctor")]
    (container,) = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    assert container["image"] == f"registry.example/argodoctor@{DIGEST}"
    assert chart == normal(manifests(CronJobSpec(image=f"registry.example/argodoctor@{DIGEST}")))
    values["image"]["digest"] = "latest"
    with pytest.raises(subprocess.CalledProcessError) as e:
        render(helm, "argodoctor", values, tmp_path)
    assert "image.digest must be sha256:<64 hex digits>" in e.value.stderr
