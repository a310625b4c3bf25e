"""``--log-format``: json, console, or auto (console with colours on a terminal, JSON otherwise)."""

from __future__ import annotations

import io
import json
import logging

import pytest
import structlog

from rollouts.cmd.manager import parse_args
from runtime.logging import configure_logging, json_for_format


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def restore_logging():
    old = structlog.get_config(), logging.getLogger().handlers[:], logging.getLogger().level
    yield
    structlog.configure(**old[0])
    logging.getLogger().handlers[:] = old[1]
    logging.getLogger().setLevel(old[2])


@pytest.mark.parametrize(("fmt", "stream", "in_pod", "want_json"), [
    ("auto", Tty(), False, False),       # a person at a terminal
    ("auto", io.StringIO(), False, True),  # piped / redirected
    ("auto", Tty(), True, True),          # in a pod (even with a TTY allocated)
    ("json", Tty(), False, True),
    ("console", io.StringIO(), False, False),
])
def test_format_choice(monkeypatch, fmt, stream, in_pod, want_json) -> None:
    if in_pod:
        monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1")
    else:
        monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    assert json_for_format(fmt, stream) is want_json


def test_unknown_format_names_the_flag() -> None:
    with pytest.raises(ValueError, match="--log-format must be one of auto, json, console"):
        json_for_format("xml")


def test_flag_is_parsed_and_checked(capsys) -> None:
    assert parse_args([]).log_format == "auto"
    assert parse_args(["--log-format=json"]).log_format == "json"
    with pytest.raises(SystemExit):
        parse_args(["--log-format=xml"])
    assert "--log-format" in capsys.readouterr().err


def test_json_lines(restore_logging) -> None:
    out = io.StringIO()
    configure_logging(log_format="json", stream=out, cache=False)
    structlog.get_logger("t").info("hello", step=2)
    line = json.loads(out.getvalue().splitlines()[-1])
    assert (line["event"], line["step"], line["level"]) == ("hello", 2, "info")


def test_console_has_colours_only_on_a_terminal(restore_logging, monkeypatch) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    piped, tty = io.StringIO(), Tty()
    configure_logging(log_format="console", stream=piped, cache=False)
    structlog.get_logger("t").info("hello", step=2)
    assert "hello" in piped.getvalue() and "\x1b[" not in piped.getvalue()
    with pytest.raises(ValueError):
        json.loads(piped.getvalue().splitlines()[-1])
    configure_logging(log_format="auto", stream=tty, cache=False)
    structlog.get_logger("t").info("hello", step=2)
    assert "\x1b[" in tty.getvalue()
