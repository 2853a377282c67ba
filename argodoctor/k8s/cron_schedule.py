"""Whether a CronJob's schedule is one the Kubernetes API server accepts, judged before anything is
written (`cronjob manifest|install --schedule`).

The API server's rule (pkg/apis/batch/validation/validation.go validateScheduleFormat, v1.27..v1.35):
robfig/cron/v3 `ParseStandard` must accept the text, and a new CronJob may not say TZ or CRON_TZ in
it (the timeZone field does that). ParseStandard (robfig/cron v3.0.1 parser.go) takes a descriptor
(@yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly, `@every <Go duration>`) or exactly
five fields: minute 0-59, hour 0-23, day of month 1-31, month 1-12 or jan-dec, day of week 0-6 or
sun-sat; each a comma list of `*`/`?`, N, N-M, each with an optional /STEP. tests/integration checks
these verdicts against the real API server's.
"""
from __future__ import annotations

import re

DESCRIPTORS = {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}
MONTHS = {m: i + 1 for i, m in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split())}
DAYS = {d: i for i, d in enumerate("sun mon tue wed thu fri sat".split())}
FIELDS = (("minute", 0, 59, {}), ("hour", 0, 23, {}), ("day of month", 1, 31, {}), ("month", 1, 12, MONTHS),
          ("day of week", 0, 6, DAYS))
# Go's time.ParseDuration: an optional sign, then numbers each with a unit ("0" alone needs none).
_GO_DURATION = re.compile(r"[-+]?(?:0|(?:(?:\d+\.?\d*|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+)")


def problem(schedule: str) -> str | None:
    """Why the API server would reject schedule, or None when it accepts it."""
    if "TZ" in schedule:
        return "cannot use TZ or CRON_TZ in the schedule (the CronJob's timeZone field sets the time zone)"
    if not schedule.strip():
        return "the schedule is empty"
    if schedule.startswith("@"):
        if schedule in DESCRIPTORS:
            return None
        if schedule.startswith("@every "):
            duration = schedule[len("@every "):]
            return None if _GO_DURATION.fullmatch(duration) else f"@every takes a duration like 1h30m, not {duration!r}"
        return f"unrecognized descriptor {schedule} (one of {', '.join(sorted(DESCRIPTORS))} or @every DURATION)"
    fields = schedule.split()
    if len(fields) != 5:
        return (f"expected exactly 5 fields (minute hour day-of-month month day-of-week), found {len(fields)}: "
                f"{' '.join(fields)}")
    for text, (name, low, high, names) in zip(fields, FIELDS, strict=True):
        for expr in filter(None, text.split(",")):  # getField splits with strings.FieldsFunc: no empty ones
            why = _range_problem(expr, low, high, names)
            if why:
                return f"{name} field {text!r}: {why}"
    return None


def _range_problem(expr: str, low: int, high: int, names: dict[str, int]) -> str | None:
    """robfig/cron getRange: `*`/`?`, N or N-M, optionally /STEP (N/STEP runs from N to the maximum)."""
    range_and_step = expr.split("/")
    bounds = range_and_step[0].split("-")
    if bounds[0] in ("*", "?"):
        start, end = low, high
    else:
        try:
            start = _number(bounds[0], names)
            if len(bounds) > 2:
                return f"too many hyphens: {expr}"
            end = _number(bounds[1], names) if len(bounds) == 2 else start
        except ValueError as e:
            return str(e)
    if len(range_and_step) > 2:
        return f"too many slashes: {expr}"
    if len(range_and_step) == 2:
        try:
            step = _number(range_and_step[1], {})
        except ValueError as e:
            return str(e)
        if len(bounds) == 1:
            end = high
        if step == 0:
            return "step of range should be a positive number"
    if start < low:
        return f"beginning of range ({start}) below minimum ({low}): {expr}"
    if end > high:
        return f"end of range ({end}) above maximum ({high}): {expr}"
    if start > end:
        return f"beginning of range ({start}) beyond end of range ({end}): {expr}"
    return None


def _number(text: str, names: dict[str, int]) -> int:
    if names and text.lower() in names:
        return names[text.lower()]
    if not re.fullmatch(r"[-+]?\d+", text):  # Go's strconv.Atoi
        raise ValueError(f"failed to parse int from {text!r}")
    value = int(text)
    if value < 0:
        raise ValueError(f"negative number ({value}) not allowed: {text}")
    return value
