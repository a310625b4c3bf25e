"""Pure, I/O-free domain logic of the BatchRelease (batch-release.md).

Everything here works on plain JSON dicts (the wire form of workloads) and takes time as a
parameter, so the reconcilers can call it and tests can feed it tables. Nothing in this package
talks to the API server: functions return plans (patches, scale actions, reasons) that the caller
executes.
"""
