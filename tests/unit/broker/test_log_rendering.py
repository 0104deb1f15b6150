"""What an operator sees in the logs: the format and level they chose, one look for every line."""

import io
import json
import logging
import logging.config
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog
import uvicorn.config

from broker.cli import main
from broker.logs import configure_logging, get_logger
from broker.settings import LogSettings, Settings


@pytest.fixture(autouse=True)
def restored_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.getLogger("uvicorn.access").disabled = False
    structlog.reset_defaults()


def _lines(settings: LogSettings) -> list[str]:
    out = io.StringIO()
    configure_logging(settings, stream=out)
    get_logger("imb.test").info("event.routed", message_id="m-1", deliveries=2, withheld=1)
    logging.getLogger("uvicorn.error").warning("worker %s stopped", "w-1")
    return out.getvalue().splitlines()


def test_console_lines_are_key_value_for_ours_and_libraries_alike() -> None:
    ours, library = _lines(LogSettings(format="console"))

    assert "event.routed" in ours
    assert "message_id=m-1" in ours and "deliveries=2" in ours and "withheld=1" in ours
    assert "[info" in ours and "[imb.test]" in ours
    assert "worker w-1 stopped" in library and "[warning" in library
    assert "[uvicorn.error]" in library
    assert not ours.startswith("{")


def test_json_lines_each_parse_with_the_same_keys() -> None:
    ours, library = (json.loads(line) for line in _lines(LogSettings(format="json")))

    assert ours["event"] == "event.routed" and ours["message_id"] == "m-1"
    assert ours["level"] == "info" and ours["logger"] == "imb.test"
    assert library["event"] == "worker w-1 stopped" and library["level"] == "warning"
    assert {"timestamp", "level", "logger", "event"} <= ours.keys() & library.keys()


def test_lines_below_the_chosen_level_are_left_out() -> None:
    lines = _lines(LogSettings(format="json", level="warning"))

    assert [json.loads(line)["level"] for line in lines] == ["warning"]


def test_uvicorns_own_access_line_is_silenced() -> None:
    out = io.StringIO()
    configure_logging(LogSettings(), stream=out)

    logging.getLogger("uvicorn.access").info('127.0.0.1 - "GET /v1/subjects/9434765919 HTTP/1.1"')

    assert out.getvalue() == ""


def test_the_older_log_level_name_is_still_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMB_LOG_LEVEL", "warning")

    assert Settings().log.level == "WARNING"


def test_the_nested_log_level_wins_over_the_older_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMB_LOG_LEVEL", "WARNING")
    monkeypatch.setenv("IMB_LOG__LEVEL", "debug")

    assert Settings().log.level == "DEBUG"


def test_an_unknown_log_format_is_one_line_error_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = tmp_path / "imb-data"
    monkeypatch.setenv("IMB_DATA_DIR", str(data_dir))
    monkeypatch.delenv("IMB_DATABASE_URL", raising=False)
    monkeypatch.setenv("IMB_LOG__FORMAT", "xml")

    with pytest.raises(SystemExit) as exited:
        main(["migrate"])

    error = capsys.readouterr().err
    assert exited.value.code == 1
    assert error.startswith("imb: log.format:") and error.count("\n") == 1
    assert not data_dir.exists()


def test_a_server_configured_by_uvicorn_earlier_in_the_process_still_logs_through_ours() -> None:
    # uvicorn's default configuration gives its loggers handlers of their own and stops them
    # reaching the root; a receiver or tool started in the same process applies it.
    logging.config.dictConfig(uvicorn.config.LOGGING_CONFIG)

    lines = _lines(LogSettings(format="json"))

    assert [json.loads(line)["event"] for line in lines] == ["event.routed", "worker w-1 stopped"]


def _fail_with_a_message_quoting(nhs_number: str) -> None:
    try:
        raise ValueError(f"could not encode subject {nhs_number}")
    except ValueError as cause:
        raise RuntimeError(f"push of {nhs_number} failed") from cause


def _logged_failure(settings: LogSettings, nhs_number: str) -> str:
    """A failure logged as the workers log one (`log.exception`), once by IMB's own logger and
    once by a library's standard-library logger."""
    out = io.StringIO()
    configure_logging(settings, stream=out)
    for logger in (get_logger("imb.worker"), logging.getLogger("aiokafka.consumer")):
        try:
            _fail_with_a_message_quoting(nhs_number)
        except RuntimeError:
            logger.exception("building the push failed")
    return out.getvalue()


@pytest.mark.parametrize("log_format", ["console", "json"])
def test_a_logged_failure_shows_types_and_frames_but_never_the_messages(log_format: str) -> None:
    nhs_number = "9434765919"

    logged = _logged_failure(LogSettings(format=log_format, level="debug"), nhs_number)

    # The frames quote the source (`raise ValueError(f"...{nhs_number}")`), never the value.
    assert nhs_number not in logged
    # Still enough to find the fault: both exceptions of the chain, by type, and the frames.
    assert logged.count("builtins.RuntimeError (message withheld)") == 2
    assert logged.count("builtins.ValueError (message withheld)") == 2
    assert logged.count("in _fail_with_a_message_quoting") >= 4
    if log_format == "json":
        lines = [json.loads(line) for line in logged.splitlines()]
        assert [line["event"] for line in lines] == ["building the push failed"] * 2
        assert all("Traceback" in line["exception"] for line in lines)


def test_each_failure_inside_an_exception_group_is_named_without_its_message() -> None:
    out = io.StringIO()
    configure_logging(LogSettings(format="json"), stream=out)
    nhs_number = "9434765919"
    try:
        raise ExceptionGroup("two tasks failed", [KeyError(nhs_number), TimeoutError(nhs_number)])
    except ExceptionGroup:
        get_logger("imb.worker").exception("a task group failed")

    [line] = [json.loads(text) for text in out.getvalue().splitlines()]
    assert nhs_number not in line["exception"]
    for kind in ("builtins.ExceptionGroup", "builtins.KeyError", "builtins.TimeoutError"):
        assert f"{kind} (message withheld)" in line["exception"]
