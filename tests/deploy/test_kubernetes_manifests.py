"""deploy/k8s: both overlays render, are valid Kubernetes, and run IMB as the README promises."""

import functools
import re
import shutil
import subprocess
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from broker.cli import WORKERS
from broker.crypto.keys import ensure_key_material
from broker.settings import KafkaSettings
from tests.deploy.manifests import (
    Object,
    all_containers,
    component,
    named,
    of_kind,
    pod_labels,
    pod_spec,
    selects,
)

K8S = Path(__file__).parents[2] / "deploy" / "k8s"
OVERLAYS = ["single", "ha"]
# The schemas of the oldest Kubernetes release the manifests need (matchLabelKeys in
# topology spread constraints is on by default from 1.27; kubectl here is 1.32).
KUBERNETES_VERSION = "1.32.0"


@functools.cache
def render(overlay: str) -> list[Object]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.fail("kubectl (with its built-in kustomize) is needed to render deploy/k8s")
    rendered = subprocess.run(
        [kubectl, "kustomize", str(K8S / "overlays" / overlay)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert rendered.returncode == 0, f"kubectl kustomize {overlay}: {rendered.stderr}"
    return [item for item in yaml.safe_load_all(rendered.stdout) if item]


def deployments(overlay: str) -> list[Object]:
    return of_kind(render(overlay), "Deployment")


def api(overlay: str) -> Object:
    return named(render(overlay), "Deployment", "imb-api")


def settings_of(overlay: str, deployment: Object) -> dict[str, str]:
    """The ConfigMap a Deployment's main container reads its settings from."""
    (container,) = pod_spec(deployment)["containers"]
    (name,) = [s["configMapRef"]["name"] for s in container["envFrom"] if "configMapRef" in s]
    data: dict[str, str] = named(render(overlay), "ConfigMap", name)["data"]
    return data


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_rendered_object_is_valid_kubernetes(overlay: str) -> None:
    for item in render(overlay):
        try:
            kubernetes_validate.validate(item, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            where = ".".join(str(part) for part in exc.path)
            pytest.fail(f"{item['kind']}/{item['metadata']['name']} at {where}: {exc.message}")


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_worker_kind_runs_in_a_deployment_of_its_own(overlay: str) -> None:
    commands = {
        tuple(container["command"]): deployment["spec"]["replicas"]
        for deployment in deployments(overlay)
        for container in pod_spec(deployment)["containers"]
    }
    for worker in WORKERS:
        assert commands.get(("imb", "worker", worker), 0) >= 1, f"nothing runs {worker}"
    serve = [command for command in commands if command[:2] == ("imb", "serve")]
    assert serve and all("--no-workers" in command for command in serve)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_container_is_probed_and_bounded(overlay: str) -> None:
    for deployment in deployments(overlay):
        for container in pod_spec(deployment)["containers"]:
            assert "readinessProbe" in container and "livenessProbe" in container, component(
                deployment
            )
        for container in all_containers(deployment):
            resources = container["resources"]
            for bound in ("requests", "limits"):
                assert {"cpu", "memory"} <= resources.get(bound, {}).keys(), (
                    f"{component(deployment)}/{container['name']} lacks {bound}"
                )


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_workers_are_probed_through_the_heartbeat_they_write(overlay: str) -> None:
    for deployment in deployments(overlay):
        if component(deployment) == "api":
            continue
        (container,) = pod_spec(deployment)["containers"]
        env = {item["name"]: item["value"] for item in container["env"]}
        heartbeat = env["IMB_WORKERS__HEARTBEAT_FILE"]
        probe = " ".join(container["livenessProbe"]["exec"]["command"])
        assert heartbeat in probe
        # The file must be where the read-only pod may write: a mounted volume.
        mounts = [mount["mountPath"] for mount in container["volumeMounts"]]
        assert any(heartbeat.startswith(path + "/") for path in mounts)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_kind_has_a_disruption_budget_that_lets_a_drain_proceed(overlay: str) -> None:
    budgets = of_kind(render(overlay), "PodDisruptionBudget")
    for deployment in deployments(overlay):
        (budget,) = [b for b in budgets if selects(b["spec"]["selector"], pod_labels(deployment))]
        assert budget["spec"]["maxUnavailable"] >= 1


def test_ha_keeps_two_api_pods_through_a_drain_on_different_nodes() -> None:
    deployment = api("ha")
    (budget,) = [
        b
        for b in of_kind(render("ha"), "PodDisruptionBudget")
        if selects(b["spec"]["selector"], pod_labels(deployment))
    ]
    assert deployment["spec"]["replicas"] - budget["spec"]["maxUnavailable"] >= 2
    spread = pod_spec(deployment)["topologySpreadConstraints"]
    by_node = [c for c in spread if c["topologyKey"] == "kubernetes.io/hostname"]
    assert by_node and by_node[0]["whenUnsatisfiable"] == "DoNotSchedule"
    assert selects(by_node[0]["labelSelector"], pod_labels(deployment))


def test_ha_scales_the_router_and_dispatcher_but_not_the_chainer() -> None:
    replicas = {component(d): d["spec"]["replicas"] for d in deployments("ha")}
    assert replicas["router"] >= 2 and replicas["dispatcher"] >= 2
    assert replicas["chainer"] == 1


def test_ha_topics_keep_three_copies_of_which_two_must_hold_each_write() -> None:
    for deployment in deployments("ha"):
        settings = settings_of("ha", deployment)
        kafka = KafkaSettings(
            replication_factor=int(settings["IMB_KAFKA__REPLICATION_FACTOR"]),
            min_insync_replicas=int(settings["IMB_KAFKA__MIN_INSYNC_REPLICAS"]),
        )
        assert kafka.replication_factor == 3
        assert kafka.topic_configs() == {"min.insync.replicas": "2"}


def migration_job(overlay: str) -> Object:
    return named(render(overlay), "Job", "imb-migrate")


def init_container(pod_owner: Object, name: str) -> Object:
    containers: list[Object] = pod_spec(pod_owner)["initContainers"]
    (found,) = [c for c in containers if c["name"] == name]
    return found


def main_container(pod_owner: Object) -> Object:
    containers: list[Object] = pod_spec(pod_owner)["containers"]
    (found,) = [c for c in containers if c["name"] == "imb"]
    return found


def runs_imb_migrate(container: Object) -> bool:
    return container.get("command") == ["imb", "migrate"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_a_job_runs_imb_migrate_with_the_settings_keys_and_confinement_of_every_pod(
    overlay: str,
) -> None:
    job, deployment = migration_job(overlay), api(overlay)
    migrate = main_container(job)
    assert runs_imb_migrate(migrate)
    assert migrate["image"] == main_container(deployment)["image"]
    assert migrate["envFrom"] == main_container(deployment)["envFrom"]
    assert migrate["securityContext"] == main_container(deployment)["securityContext"]
    assert migrate["volumeMounts"] == main_container(deployment)["volumeMounts"]
    assert {"cpu", "memory"} <= migrate["resources"]["limits"].keys()
    for field in ("securityContext", "volumes", "automountServiceAccountToken"):
        assert pod_spec(job)[field] == pod_spec(deployment)[field], field
    assert init_container(job, "keys") == init_container(deployment, "keys")
    assert pod_spec(job)["restartPolicy"] == "Never"
    # A finished Job goes by itself, so the next release's template can be applied.
    assert job["spec"]["ttlSecondsAfterFinished"] > 0


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_deployment_waits_for_the_schema_at_head_before_its_process_starts(
    overlay: str,
) -> None:
    for deployment in deployments(overlay):
        assert not [c for c in all_containers(deployment) if runs_imb_migrate(c)], (
            f"{component(deployment)} migrates in its own pod"
        )
        wait = init_container(deployment, "schema")
        script = wait["command"][-1]
        assert wait["command"][:2] == ["sh", "-c"]
        assert "until imb migrate --check; do" in script
        assert wait["image"] == main_container(deployment)["image"]
        # The database the Job migrates, and no other secret (the notifier's SMTP one).
        assert wait["envFrom"] == main_container(migration_job(overlay))["envFrom"]
        assert wait["securityContext"] == main_container(deployment)["securityContext"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_wait_for_the_schema_gives_up_at_the_rollouts_progress_deadline(overlay: str) -> None:
    for deployment in deployments(overlay):
        script = init_container(deployment, "schema")["command"][-1]
        attempts = int(re.search(r"attempts=(\d+)", script).group(1))  # type: ignore[union-attr]
        pause = int(re.search(r"sleep (\d+)", script).group(1))  # type: ignore[union-attr]
        assert attempts * pause == deployment["spec"]["progressDeadlineSeconds"]


def keys_check(
    overlay: str, secret_files: Path, copied_to: Path
) -> subprocess.CompletedProcess[str]:
    """The keys init container's script, run here with its two mounts moved to these folders."""
    script = init_container(api(overlay), "keys")["command"][-1]
    script = script.replace("/etc/imb/keys", str(secret_files)).replace("/run/imb", str(copied_to))
    return subprocess.run(
        ["sh", "-c", script], capture_output=True, text=True, timeout=60, check=False
    )


def test_every_pod_refuses_to_start_without_each_key_file_imb_makes(tmp_path: Path) -> None:
    made = tmp_path / "made"
    ensure_key_material(made)
    key_files = sorted(path.name for path in made.iterdir())

    complete = keys_check("single", made, tmp_path / "complete")
    assert complete.returncode == 0, complete.stderr
    assert sorted(path.name for path in (tmp_path / "complete" / "keys").iterdir()) == key_files

    for missing in key_files:
        secret = tmp_path / f"without-{missing}"
        shutil.copytree(made, secret)
        (secret / missing).unlink()
        refused = keys_check("single", secret, tmp_path / f"copied-without-{missing}")
        assert refused.returncode != 0, f"a pod starts without {missing}"
        assert "Secret imb-keys" in refused.stderr


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_migration_job_reaches_only_dns_and_the_database(overlay: str) -> None:
    assert egress_ports(overlay, migration_job(overlay)) == {53, 5432}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_secrets_are_only_referenced_never_rendered(overlay: str) -> None:
    objects = render(overlay)
    assert not [s for s in of_kind(objects, "Secret") if s.get("data") or s.get("stringData")]
    for deployment in deployments(overlay):
        for container in all_containers(deployment):
            for variable in container.get("env", []):
                assert not any(
                    word in variable["name"] for word in ("PASSWORD", "SECRET", "DATABASE_URL")
                )
        volumes = {v["name"]: v for v in pod_spec(deployment)["volumes"]}
        assert volumes["keys-secret"]["secret"]["secretName"] == "imb-keys"
    for config in of_kind(objects, "ConfigMap"):
        assert "IMB_DATABASE_URL" not in config["data"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_only_the_api_takes_traffic_and_every_pod_is_denied_by_default(overlay: str) -> None:
    policies = of_kind(render(overlay), "NetworkPolicy")
    for deployment in deployments(overlay):
        labels = pod_labels(deployment)
        mine = [p for p in policies if selects(p["spec"]["podSelector"], labels)]
        assert any(
            {"Ingress", "Egress"} <= set(p["spec"]["policyTypes"]) and not p["spec"].get("ingress")
            for p in mine
        ), f"{component(deployment)} is not denied by default"
        admitting = [p for p in mine if p["spec"].get("ingress")]
        if component(deployment) == "api":
            ports = {
                port["port"] for p in admitting for r in p["spec"]["ingress"] for port in r["ports"]
            }
            assert ports == {8000}
        else:
            assert not admitting, f"{component(deployment)} takes traffic"


def egress_ports(overlay: str, deployment: Object) -> set[int]:
    policies = of_kind(render(overlay), "NetworkPolicy")
    return {
        port["port"]
        for policy in policies
        if selects(policy["spec"]["podSelector"], pod_labels(deployment))
        for rule in policy["spec"].get("egress", [])
        for port in rule.get("ports", [])
    }


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_pod_reaches_out_only_where_its_work_is(overlay: str) -> None:
    reach = {component(d): egress_ports(overlay, d) for d in deployments(overlay)}
    database_only = {53, 5432}
    assert reach["chainer"] == database_only
    assert reach["deadlines"] == database_only
    assert reach["relay"] == reach["router"] == database_only | {9092}
    assert reach["dispatcher"] == database_only | {9092, 443}
    assert reach["notifier"] == database_only | {443, 587, 465}
    assert reach["api"] == database_only | {9092, 443}
