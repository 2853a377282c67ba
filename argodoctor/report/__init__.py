"""What a run leaves behind. The finished run (report: the Report, the human table and the catalog's
JSON), the other output formats (formats, with the HTML report's templates/), where reports go and come
back from (sinks), Kubernetes Events for changed results (events) and argodoctor as an in-cluster CronJob
that writes reports on a schedule (cronjob). Kept light: importing this package imports nothing heavy."""
