"""`argodoctor snapshot -o DIR`: a live cluster's relevant objects saved to share, secret values digested."""
from __future__ import annotations

import argparse
import sys

from .common import connect, fewer_collections


def run(args: argparse.Namespace) -> int:
    from ..view.cluster import LiveView, private_snapshot_dir, write_snapshot

    private_snapshot_dir(args.output_dir)  # before the cluster is asked anything
    view = LiveView(connect(args))
    with fewer_collections():
        counts = write_snapshot(view, args.output_dir, fmt=args.format)
    total = sum(n for n in counts.values() if n > 0)
    print(f"wrote {total} objects of {sum(1 for n in counts.values() if n >= 0)} kinds to {args.output_dir} "
          "(private to you; secret values and what no check judges digested, ConfigMaps no check reads left "
          "out: see `snapshot --help`)", file=sys.stderr)
    return 0 if all(n >= 0 for n in counts.values()) else 1
