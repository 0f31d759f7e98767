"""The container a job becomes: pure functions, no engine."""

from __future__ import annotations

from gnomon.runner.docker.spec import (
    LABEL_INSTANCE,
    LABEL_MANAGED,
    LABEL_TASK_ID,
    container_spec,
    host_config_arguments,
    label_filters,
)
from tests.runner.attempts import make_attempt
from tests.runner.conftest import runner_settings


def test_a_docker_job_keeps_its_limits_labels_and_environment() -> None:
    attempt = make_attempt(
        "docker_image_command",
        image="repo/app",
        tag="2",
        command=["run"],
        memory=256,
        cpu=2048,
        log_paths=["/var/log/app.log"],
        environment_variables=[{"variable_name": "SUNDIAL_URL", "value": "forged"}],
    )
    spec = container_spec(attempt, runner_settings(port=9000), "blue")
    assert (spec.image, spec.tag, spec.command) == ("repo/app", "2", ["run"])
    assert (spec.memory_mb, spec.nano_cpus) == (256, 2_000_000_000)
    assert spec.log_paths == ("/var/log/app.log",)
    assert spec.environment["SUNDIAL_URL"] == "http://host.docker.internal:9000/"
    assert spec.labels[LABEL_TASK_ID] == attempt.task_id
    assert label_filters("blue") == [f"{LABEL_MANAGED}=true", f"{LABEL_INSTANCE}=blue"]
    assert spec.name == f"gnomon-{attempt.task_id}"


def test_a_batch_job_gets_whole_cpus() -> None:
    attempt = make_attempt(
        "batch_image_command", image="repo/app", command=["run"], memory=1000, vCpus=2
    )
    spec = container_spec(attempt, runner_settings(), "default")
    assert (spec.nano_cpus, spec.memory_mb, spec.tag) == (2_000_000_000, 1000, "latest")


def test_host_config_on_the_default_bridge_maps_the_host_gateway() -> None:
    attempt = make_attempt("docker_image_command", image="a", command=["b"], memory=32, cpu=512)
    spec = container_spec(attempt, runner_settings(), "default")
    assert host_config_arguments(spec, None, 1_000_000_000) == {
        "mem_limit": "32m",
        "memswap_limit": "32m",
        "nano_cpus": 500_000_000,
        "extra_hosts": {"host.docker.internal": "host-gateway"},
    }
    assert host_config_arguments(spec, "host", 250_000_000)["nano_cpus"] == 250_000_000
    assert "extra_hosts" not in host_config_arguments(spec, "host", None)
    assert host_config_arguments(spec, "jobs", None)["network_mode"] == "jobs"
