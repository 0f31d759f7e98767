"""The Job and Secret the runner sends, as pure dicts: names, labels, limits, environment."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from gnomon.domain.definitions import BatchImageCommand, TaskExecutable
from gnomon.errors import SettingsError
from gnomon.runner.base import Attempt
from gnomon.runner.kubernetes.manifests import (
    build_job_manifest,
    build_token_secret_manifest,
    image_reference,
    job_name,
    label_value,
)
from gnomon.settings import ExecutorName, PullPolicy, Settings
from tests.runner.kubernetes.kube import make_attempt, make_shell_attempt

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


def settings(**overrides: object) -> Settings:
    values: dict[str, object] = {"database_url": "sqlite://", "public_url": "http://api:8080/"}
    return Settings(**{**values, **overrides})  # type: ignore[arg-type]


def env_of(manifest: dict[str, Any]) -> dict[str, dict[str, Any]]:
    container = manifest["spec"]["template"]["spec"]["containers"][0]
    return {entry["name"]: entry for entry in container["env"]}


def test_job_name_is_a_deterministic_dns_label_naming_the_task() -> None:
    attempt = make_attempt(definition="Nightly_ETL", task="Extract.Orders")
    name = job_name(attempt)
    assert name == job_name(attempt)
    assert DNS_LABEL.match(name) and len(name) <= 63
    assert name.startswith("gn-nightly-etl-extract-orders-")


@pytest.mark.parametrize(
    "definition, task",
    [("D" * 200, "t" * 200), ("___", "..."), ("Ünïcode-Ñame", "x"), ("a", "-b-")],
)
def test_job_names_fit_63_characters_whatever_the_names(definition: str, task: str) -> None:
    name = job_name(make_attempt(definition=definition, task=task))
    assert DNS_LABEL.match(name) and len(name) <= 63


def test_each_attempt_of_a_task_gets_its_own_name() -> None:
    first = make_attempt(previous_attempts=0)
    retry = Attempt(**{**first.__dict__, "previous_attempts": 1, "task_id": "other"})
    assert job_name(first) != job_name(retry)


def test_long_or_odd_label_values_are_shortened_with_a_hash() -> None:
    assert label_value("Nightly_ETL") == "Nightly_ETL"
    for value in ("x" * 100, "a b/c", "-leading", "ünï"):
        shortened = label_value(value)
        assert LABEL_VALUE.match(shortened) and len(shortened) <= 63
        assert shortened == label_value(value)
    assert label_value("x" * 100) != label_value("x" * 101)


def test_job_manifest_runs_one_pod_once_with_deadline_and_ttl() -> None:
    attempt = make_attempt(max_runtime_seconds=90)
    manifest = build_job_manifest(
        attempt, settings(kubernetes_job_ttl_seconds=600, kill_grace_seconds=2.5), instance="prod"
    )
    spec = manifest["spec"]
    assert manifest["metadata"]["name"] == job_name(attempt)
    assert spec["backoffLimit"] == 0
    assert spec["activeDeadlineSeconds"] == 90
    assert spec["ttlSecondsAfterFinished"] == 600
    pod = spec["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    assert pod["terminationGracePeriodSeconds"] == 3
    assert "serviceAccountName" not in pod
    unbounded = build_job_manifest(make_attempt(), settings(), instance="x")
    assert "activeDeadlineSeconds" not in unbounded["spec"]


def test_labels_link_job_and_pods_to_the_task_and_annotations_keep_exact_values() -> None:
    attempt = make_attempt(definition="D" * 80)
    manifest = build_job_manifest(attempt, settings(), instance="prod")
    labels = manifest["metadata"]["labels"]
    assert labels["gnomon.dev/task-id"] == attempt.task_id
    assert labels["gnomon.dev/process-id"] == attempt.process_id
    assert labels["gnomon.dev/instance"] == "prod"
    assert labels["app.kubernetes.io/managed-by"] == "gnomon"
    assert len(labels["gnomon.dev/definition"]) <= 63
    assert manifest["metadata"]["annotations"]["gnomon.dev/definition"] == "D" * 80
    assert manifest["spec"]["template"]["metadata"]["labels"] == labels


def test_resources_come_from_memory_and_ecs_cpu_units() -> None:
    manifest = build_job_manifest(make_attempt(memory=512, cpu=256), settings(), instance="x")
    resources = manifest["spec"]["template"]["spec"]["containers"][0]["resources"]
    assert resources["limits"] == {"memory": "512Mi", "cpu": "250m"}
    assert resources["requests"] == resources["limits"]
    plain = build_job_manifest(make_attempt(), settings(), instance="x")
    assert "resources" not in plain["spec"]["template"]["spec"]["containers"][0]


def test_batch_commands_use_whole_vcpus() -> None:
    batch = BatchImageCommand(image="repo/app", tag="2", command=["run"], memory=1000, v_cpus=2)
    attempt = Attempt("t", "p", "d", "task", 0, TaskExecutable(batch_image_command=batch), "token")
    container = build_job_manifest(attempt, settings(), instance="x")["spec"]["template"]["spec"][
        "containers"
    ][0]
    assert container["resources"]["limits"] == {"memory": "1000Mi", "cpu": "2"}
    assert container["image"] == "repo/app:2"
    assert container["args"] == ["run"]


def test_token_comes_from_the_secret_and_never_appears_in_the_job() -> None:
    attempt = make_attempt()
    manifest = build_job_manifest(attempt, settings(), instance="x")
    env = env_of(manifest)
    assert env["GNOMON_TASK_TOKEN"] == {
        "name": "GNOMON_TASK_TOKEN",
        "valueFrom": {"secretKeyRef": {"name": job_name(attempt), "key": "token"}},
    }
    assert attempt.token not in json.dumps(manifest)
    secret = build_token_secret_manifest(attempt, settings(), instance="x", job_uid="uid-1")
    assert secret["stringData"] == {"token": attempt.token}
    assert secret["metadata"]["name"] == job_name(attempt)
    owner = secret["metadata"]["ownerReferences"][0]
    assert (owner["kind"], owner["name"], owner["uid"]) == ("Job", job_name(attempt), "uid-1")


def test_environment_has_gnomon_variables_that_user_variables_cannot_override() -> None:
    attempt = make_attempt(
        environment={"GNOMON_TASK_ID": "forged", "FOO": "bar", "SUNDIAL_URL": "x"}
    )
    env = env_of(build_job_manifest(attempt, settings(), instance="x"))
    assert env["FOO"]["value"] == "bar"
    assert env["GNOMON_TASK_ID"]["value"] == attempt.task_id
    assert env["GNOMON_URL"]["value"] == "http://api:8080"
    assert env["SUNDIAL_URL"]["value"] == "http://api:8080/"
    assert env["SUNDIAL_TASK_PREVIOUS_ATTEMPTS"]["value"] == "0"


@pytest.mark.parametrize("executor", list(ExecutorName))
def test_without_a_public_url_no_job_is_built_to_call_an_unreachable_host(
    executor: ExecutorName,
) -> None:
    # host.docker.internal (Docker's default) names nothing in a cluster: a pod given it would
    # fail every callback, so the Job is refused with the setting to fix, whatever the executor.
    config = settings(public_url=None, executor=executor, port=9000)
    with pytest.raises(SettingsError, match="GNOMON_PUBLIC_URL") as refused:
        build_job_manifest(make_attempt(), config, instance="x")
    assert "host.docker.internal" not in str(refused.value)


def test_the_public_url_is_the_pods_callback_url_however_it_ends() -> None:
    for public_url in ("http://gnomon-api.ops.svc", "http://gnomon-api.ops.svc/"):
        manifest = build_job_manifest(make_attempt(), settings(public_url=public_url), instance="x")
        env = env_of(manifest)
        assert env["GNOMON_URL"]["value"] == "http://gnomon-api.ops.svc"
        assert env["SUNDIAL_URL"]["value"] == "http://gnomon-api.ops.svc/"
        assert "host.docker.internal" not in json.dumps(manifest)


@pytest.mark.parametrize(
    "policy, expected",
    [
        (PullPolicy.IF_NOT_PRESENT, "IfNotPresent"),
        (PullPolicy.ALWAYS, "Always"),
        (PullPolicy.NEVER, "Never"),
    ],
)
def test_pull_policy_is_mapped(policy: PullPolicy, expected: str) -> None:
    manifest = build_job_manifest(make_attempt(), settings(pull_policy=policy), instance="x")
    assert manifest["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] == expected


def test_namespace_and_service_account_come_from_settings() -> None:
    config = settings(kubernetes_namespace="batch", kubernetes_service_account="runner")
    manifest = build_job_manifest(make_attempt(), config, instance="x")
    assert manifest["metadata"]["namespace"] == "batch"
    assert manifest["spec"]["template"]["spec"]["serviceAccountName"] == "runner"


def test_no_service_account_token_is_mounted_unless_the_command_asks() -> None:
    pod = build_job_manifest(make_attempt(), settings(), instance="x")["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False
    assert "serviceAccountName" not in pod  # the namespace's default account


@pytest.mark.parametrize("kind", ["docker_image_command", "batch_image_command"])
def test_a_command_may_ask_for_the_service_account_token(kind: str) -> None:
    command = {"image": "repo/app", "command": ["run"], "mount_service_account_token": True}
    if kind == "batch_image_command":
        command |= {"memory": 100, "vCpus": 1}
    attempt = Attempt(
        **{**make_attempt().__dict__, "executable": TaskExecutable.model_validate({kind: command})}
    )
    config = settings(kubernetes_service_account="tasks")
    pod = build_job_manifest(attempt, config, instance="x")["spec"]["template"]["spec"]
    assert (pod["automountServiceAccountToken"], pod["serviceAccountName"]) == (True, "tasks")


def test_image_reference_keeps_explicit_tags_and_digests() -> None:
    assert image_reference("busybox", "1.36") == "busybox:1.36"
    assert image_reference("localhost:5000/app", "v1") == "localhost:5000/app:v1"
    assert image_reference("app:pinned", "latest") == "app:pinned"
    assert image_reference("app@sha256:abc", "latest") == "app@sha256:abc"


def test_shell_scripts_are_not_for_this_backend() -> None:
    with pytest.raises(ValueError, match="cannot run shell_script_command"):
        build_job_manifest(make_shell_attempt(), settings(), instance="x")
