"""deploy/compose.yaml, read as Docker Compose reads it: what runs, in what order, and exposed how.

No container engine is needed: the file's wiring is checked, and the settings it gives IMB are
checked by IMB's own settings model.
"""

import functools
import re
import shutil
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from dotenv import dotenv_values
from sqlalchemy.engine import make_url

from broker.cli import WORKERS
from broker.settings import Settings

DEPLOY = Path(__file__).parents[2] / "deploy"
Service = dict[str, Any]
ONE_SHOT = {"keys", "migrate"}
CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}
SECRET_WORDS = re.compile(r"PASSWORD|SECRET|TOKEN|DATABASE_URL|PRIVATE", re.IGNORECASE)


@functools.cache
def services() -> dict[str, Service]:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    found: dict[str, Service] = compose["services"]
    return found


def env_file_settings(path: Path) -> dict[str, str]:
    """The variables an env file sets, as Docker Compose reads it."""
    return {key: value or "" for key, value in dotenv_values(path).items()}


def imb_services() -> dict[str, Service]:
    return {name: s for name, s in services().items() if s.get("image", "").startswith("imb:")}


def running(command: list[str]) -> list[str]:
    return [
        name for name, s in services().items() if s.get("command", [])[: len(command)] == command
    ]


def test_every_worker_kind_runs_as_a_service_of_its_own() -> None:
    for worker in WORKERS:
        assert len(running(["imb", "worker", worker])) == 1, worker


def test_two_apis_serve_without_workers_after_the_schema_and_keys_are_ready() -> None:
    apis = running(["imb", "serve"])
    assert len(apis) == 2
    for name in apis:
        service = services()[name]
        assert "--no-workers" in service["command"]
        needs = service["depends_on"]
        assert needs["migrate"]["condition"] == "service_completed_successfully"
        assert needs["keys"]["condition"] == "service_completed_successfully"


def test_the_migration_runs_once_when_postgresql_is_healthy() -> None:
    migrate = services()["migrate"]
    assert migrate["command"] == ["imb", "migrate"]
    assert migrate["restart"] == "no"
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_workers_start_after_setup_and_kafka_workers_after_the_apis_made_the_topics() -> None:
    for worker in WORKERS:
        (name,) = running(["imb", "worker", worker])
        needs = services()[name]["depends_on"]
        assert needs["migrate"]["condition"] == "service_completed_successfully"
        if worker in ("relay", "router", "dispatcher"):
            assert all(
                needs[api]["condition"] == "service_healthy" for api in running(["imb", "serve"])
            )


def test_every_long_running_service_has_a_healthcheck() -> None:
    for name, service in services().items():
        if name not in ONE_SHOT:
            assert service["healthcheck"]["test"], name
            assert service["restart"] == "unless-stopped", name


def test_every_dependency_names_a_service_and_a_condition() -> None:
    known = services()
    for name, service in known.items():
        for needed, how in service.get("depends_on", {}).items():
            assert needed in known, f"{name} depends on unknown {needed}"
            assert how["condition"] in CONDITIONS, name
            if how["condition"] == "service_healthy":
                assert "healthcheck" in known[needed], f"{needed} has no healthcheck"


def test_only_the_proxy_publishes_a_port_and_only_on_loopback() -> None:
    publishing = {name: s["ports"] for name, s in services().items() if s.get("ports")}
    assert list(publishing) == ["proxy"]
    assert all(str(port).startswith("127.0.0.1:") for port in publishing["proxy"])


def test_kafka_is_a_three_node_kraft_cluster_of_apache_kafka_3_9() -> None:
    nodes = {name: s for name, s in services().items() if name.startswith("kafka-")}
    assert len(nodes) == 3
    ids = set()
    for node in nodes.values():
        assert re.fullmatch(r"apache/kafka:3\.9\.\d+", node["image"])
        env = node["environment"]
        assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"].count("@") == 3
        assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
        assert int(env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"]) == 3
        ids.add(env["KAFKA_NODE_ID"])
    assert len(ids) == 3


def test_imb_creates_its_topics_with_three_copies_two_in_sync(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, service in imb_services().items():
        for key, value in service.get("environment", {}).items():
            monkeypatch.setenv(key, str(value))
        settings = Settings()
        assert settings.kafka.replication_factor == 3, name
        assert settings.kafka.topic_configs() == {"min.insync.replicas": "2"}, name


def test_settings_and_secrets_come_from_the_env_file_only() -> None:
    for name, service in imb_services().items():
        assert service["env_file"] == "imb.env", name
    for name, service in services().items():
        for key in service.get("environment", {}):
            assert not SECRET_WORDS.search(key), f"{name} sets {key} inline"
    assert "change-me" in env_file_settings(DEPLOY / "imb.env.example")["IMB_DATABASE_URL"]


def test_postgresql_reads_its_own_password_and_none_of_imbs_secrets() -> None:
    postgres = services()["postgres"]
    assert postgres["env_file"] == "postgres.env"
    assert set(env_file_settings(DEPLOY / "postgres.env.example")) == {"POSTGRES_PASSWORD"}
    assert not [key for key in env_file_settings(DEPLOY / "imb.env.example") if "POSTGRES" in key]


def test_the_walkthrough_gives_imb_and_postgresql_the_same_new_password(tmp_path: Path) -> None:
    for example in ("imb.env.example", "postgres.env.example"):
        (tmp_path / "deploy").mkdir(exist_ok=True)
        shutil.copy(DEPLOY / example, tmp_path / "deploy" / example)
    readme = (DEPLOY / "README.md").read_text()
    (steps,) = re.findall(r"```\n(cp deploy/imb\.env\.example.*?)```", readme, re.DOTALL)

    made = subprocess.run(
        ["sh", "-c", steps], cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False
    )

    assert made.returncode == 0, made.stderr
    url = make_url(env_file_settings(tmp_path / "deploy" / "imb.env")["IMB_DATABASE_URL"])
    password = env_file_settings(tmp_path / "deploy" / "postgres.env")["POSTGRES_PASSWORD"]
    assert password != "change-me" and len(password) >= 32
    assert url.password == password
    assert url.host == "postgres" and "postgres" in services()
    environment = services()["postgres"]["environment"]
    assert (url.username, url.database) == (
        environment["POSTGRES_USER"],
        environment["POSTGRES_DB"],
    )
    for made_file in ("imb.env", "postgres.env"):
        assert stat.S_IMODE((tmp_path / "deploy" / made_file).stat().st_mode) == 0o600


def test_the_env_files_themselves_are_never_committed() -> None:
    ignored = (Path(__file__).parents[2] / ".gitignore").read_text().splitlines()
    assert {"deploy/imb.env", "deploy/postgres.env"} <= set(ignored)


def test_running_processes_read_the_shared_keys_without_being_able_to_write_them() -> None:
    keys = services()["keys"]
    assert "imb-data:/var/lib/imb" in keys["volumes"]
    for name, service in imb_services().items():
        if name not in ONE_SHOT:
            assert service["volumes"] == ["imb-data:/var/lib/imb:ro"], name
            assert service["depends_on"]["keys"]["condition"] == "service_completed_successfully"


def test_the_proxy_routes_to_both_apis_on_the_port_it_publishes() -> None:
    proxy = services()["proxy"]
    (mount,) = [v for v in proxy["volumes"] if v.endswith(":/etc/nginx/nginx.conf:ro")]
    config = (DEPLOY / mount.split(":")[0]).read_text()
    (upstream, servers) = re.search(r"upstream (\w+) \{(.*?)\}", config, re.DOTALL).groups()  # type: ignore[union-attr]
    assert f"proxy_pass http://{upstream};" in config
    routed = set(re.findall(r"server ([\w-]+):(\d+)", servers))
    assert routed == {(api, "8000") for api in running(["imb", "serve"])}
    for api in running(["imb", "serve"]):
        assert "--port" in services()[api]["command"]
    (listen,) = re.findall(r"listen (\d+);", config)
    assert proxy["ports"] == [f"127.0.0.1:8000:{listen}"]
