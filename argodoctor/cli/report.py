"""`argodoctor report show|diff`: stored reports read back from a file, a ConfigMap or S3, and compared."""
from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from ..errors import UserError
from .common import connect, context, emit

if TYPE_CHECKING:
    from ..view.kube import Kube


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from ..report import sinks
    from ..report.report import diff, from_dict, print_diff
    from ..view.cluster import LiveView

    if not args.report_command:
        raise UserError("report needs a subcommand: show or diff (see `argodoctor report --help`)")

    def kube() -> Kube:
        return connect(args)

    def s3_client(bucket: str):
        from ..s3 import bucket_client

        return bucket_client(context(args, LiveView(kube())), bucket, args.report_s3_secret)

    if args.report_command == "show":
        doc, _ = sinks.read_report(args.source, kube, s3_client)
        emit(from_dict(doc), args.output, sys.stdout)
        return 0
    new_doc, stored = sinks.read_report(args.new or args.old, kube, s3_client)
    if args.new:
        old_doc, _ = sinks.read_report(args.old, kube, s3_client)
    elif stored and stored.get("previous"):
        old_doc = stored["previous"]
    else:
        raise UserError("report diff needs two reports, or one configmap:// source holding a previous report")
    d = diff(old_doc, new_doc)
    if args.output == "json":
        sys.stdout.write(json.dumps(d, indent=2) + "\n")
    else:
        print_diff(d, old_doc, new_doc, Console(highlight=False))
    return 1 if d["new"] else 0
