"""`cronjob --schedule` is judged as the API server judges it: the verdicts of
argodoctor.k8s.cron_schedule against the real kube-apiserver's (server-side dry-run creates of a CronJob)."""
from __future__ import annotations

import pytest

from argodoctor.errors import KubeError
from argodoctor.k8s.cron_schedule import problem

pytestmark = pytest.mark.integration

SCHEDULES = [
    "0 * * * *", "*/5 * * * *", "0 3 * * *", "0 0 1 1 *", "0 0 * * 0", "0 0 * * 7", "0 0 * * sun", "0 0 * JAN *",
    "0 0 * jan-mar mon-fri", "0 0 ? * *", "5/15 * * * *", "1,2,3 * * * *", "0-59/10 * * * *", "*-5 * * * *",
    "59 23 31 12 6", "60 * * * *", "* 24 * * *", "* * 0 * *", "* * 32 * *", "* * * 13 *", "* * * 0 *",
    "* * * * 8", "5-3 * * * *", "*/0 * * * *", "1/2/3 * * * *", "1-2-3 * * * *", "a * * * *", "-1 * * * *",
    "1,,2 * * * *", ", * * * *", "* * * *", "* * * * * *", "", "   ", "@hourly", "@daily", "@midnight", "@weekly",
    "@monthly",
    "@yearly", "@annually", "@reboot", "@every 1h30m", "@every 5m", "@every 0", "@every 1x", "@every",
    "@every 1.5h", "@every -1h", "TZ=UTC 0 * * * *", "CRON_TZ=Europe/Paris 0 * * * *", "+5 * * * *",
    "0 0 * * MON", "0 0 * foo *", "0 12 * * 1-5",
]


def cronjob(schedule: str) -> dict:
    return {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "probe", "namespace": "default"},
            "spec": {"schedule": schedule, "jobTemplate": {"spec": {"template": {"spec": {
                "restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}}}}}}


def test_schedule_verdicts_match_the_api_server(admin_kube):
    disagreements = []
    for schedule in SCHEDULES:
        try:
            admin_kube.request("POST", "/apis/batch/v1/namespaces/default/cronjobs", query={"dryRun": "All"},
                               body=cronjob(schedule))
            server_ok, server_says = True, ""
        except KubeError as e:
            assert e.status == 422, e
            server_ok, server_says = False, str(e)
        ours = problem(schedule)
        if (ours is None) != server_ok:
            disagreements.append((schedule, ours, server_says))
    assert not disagreements, disagreements
