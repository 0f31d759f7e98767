"""What each of the chart's ServiceAccounts may do, as the API server's RBAC decides it.

The chart's ServiceAccounts and RBAC objects (as `helm template` renders them) are applied to fresh
namespaces of the test API server, and `kubectl auth can-i --as=system:serviceaccount:NS:NAME`
(with the groups a real token carries) is asked, per component, about every verb it needs and
several it must not have: the scheduler can neither read nor list any Secret, the chart's own
included; the operator touches no Job, Pod or Secret; the api, the migration hook and task pods can
do nothing. Three layouts: the defaults (definitions served cluster-wide, jobs in the release
namespace), watchNamespaces, and a jobs namespace of its own. Last, the Kubernetes executor itself
runs as the scheduler's account: starting, adopting and killing need no right it lacks.
"""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import config

from gnomon.runner.base import ExecutorStatus
from gnomon.runner.kubernetes.manifests import job_name
from gnomon.runner.kubernetes.runner import KubernetesRunner
from gnomon.settings import Settings
from tests.kubernetes.conftest import CHART, RELEASE, REPO_ROOT, run_helm
from tests.runner.kubernetes.kube import Cluster, RecordingSink, make_attempt

pytestmark = [pytest.mark.kubernetes, pytest.mark.helm]

RBAC_KINDS = frozenset(
    {"ServiceAccount", "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding", "Secret"}
)
# Asked in a namespace where nothing is granted to anyone.
ELSEWHERE = "default"
# `pods/log` in a question is the subresource; any other `resource/x` names one object.
SUBRESOURCES = frozenset({"log", "status"})
ASKED_AT_ONCE = 6


@dataclass(frozen=True)
class Layout:
    """Where one installation's parts are: its release namespace, where task Jobs run, and the
    namespaces whose ProcessDefinitions it serves (empty: all)."""

    release: str
    jobs: str
    watched: tuple[str, ...]

    def account(self, component: str) -> str:
        namespace = self.jobs if component == "tasks" else self.release
        return f"system:serviceaccount:{namespace}:{RELEASE}-{component}"

    @property
    def definition_namespaces(self) -> tuple[str, ...]:
        return self.watched or (self.release, ELSEWHERE)

    @property
    def namespaces(self) -> list[str]:
        return sorted({self.release, self.jobs, *self.watched})


def kubectl_run(kubectl: Path, kubeconfig: str, *args: str, stdin: str | None = None) -> str:
    result = subprocess.run(
        [str(kubectl), "--kubeconfig", kubeconfig, *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO_ROOT,
        check=False,
    )
    assert result.returncode == 0, f"kubectl {' '.join(args)} failed:\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module", params=["defaults", "watch-namespaces", "jobs-namespace"])
def layout(
    request: pytest.FixtureRequest, helm: Path, kubectl: Path, kubeconfig: str
) -> Iterator[Layout]:
    """The chart's accounts, RBAC and Secret applied to fresh namespaces, as one layout says."""
    # kubectl resolves `kopfpeerings.kopf.dev` and the like through discovery: without the CRDs a
    # fresh API server answers "no" for a resource it does not know, whatever the RBAC says.
    kubectl_run(
        kubectl,
        kubeconfig,
        "apply",
        "--server-side",
        "--force-conflicts",
        "-f",
        str(REPO_ROOT / "crds"),
    )
    suffix = uuid.uuid4().hex[:8]
    release = f"gnomon-rbac-{suffix}"
    values: list[str] = []
    jobs = release
    watched: tuple[str, ...] = ()
    if request.param == "watch-namespaces":
        watched = (f"gnomon-rbac-{suffix}-a", f"gnomon-rbac-{suffix}-b")
        values += ["--set", f"watchNamespaces={{{','.join(watched)}}}"]
    if request.param == "jobs-namespace":
        jobs = f"gnomon-rbac-{suffix}-jobs"
        values += ["--set", f"jobs.namespace={jobs}"]
    found = Layout(release, jobs, watched)
    rendered = run_helm(
        helm, "template", RELEASE, str(CHART), "--namespace", release, *values
    )  # fmt: skip
    objects = [doc for doc in yaml.safe_load_all(rendered) if doc and doc["kind"] in RBAC_KINDS]
    for namespace in found.namespaces:
        kubectl_run(kubectl, kubeconfig, "create", "namespace", namespace)
    try:
        kubectl_run(kubectl, kubeconfig, "apply", "-f", "-", stdin=yaml.safe_dump_all(objects))
        yield found
    finally:
        cluster_wide = [o for o in objects if o["kind"].startswith("Cluster")]
        for item in cluster_wide:
            kubectl_run(
                kubectl, kubeconfig, "delete", item["kind"], item["metadata"]["name"],
                "--ignore-not-found", "--wait=false",
            )  # fmt: skip
        for namespace in found.namespaces:
            kubectl_run(kubectl, kubeconfig, "delete", "namespace", namespace, "--wait=false")


@dataclass(frozen=True)
class Ask:
    """`kubectl auth can-i VERB RESOURCE -n NAMESPACE` as one account, with the groups its token
    would carry, so that a grant to every service account would count too."""

    kubectl: Path
    kubeconfig: str
    layout: Layout

    def __call__(self, component: str, verb: str, resource: str, namespace: str) -> bool:
        user = self.layout.account(component)
        account_namespace = user.split(":")[2]
        groups = (
            "system:serviceaccounts",
            f"system:serviceaccounts:{account_namespace}",
            "system:authenticated",
        )
        command = [str(self.kubectl), "--kubeconfig", self.kubeconfig, "auth", "can-i"]
        resource, _, sub = resource.partition("/")
        if sub in SUBRESOURCES:
            command += [f"--subresource={sub}"]
        elif sub:
            resource = f"{resource}/{sub}"
        command += [verb, resource, "--namespace", namespace, f"--as={user}"]
        command += [f"--as-group={group}" for group in groups]
        result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
        answer = result.stdout.strip()
        assert answer in ("yes", "no"), f"{' '.join(command)}: {result.stdout}{result.stderr}"
        return answer == "yes"


@pytest.fixture
def ask(kubectl: Path, kubeconfig: str, layout: Layout) -> Ask:
    return Ask(kubectl, kubeconfig, layout)


def answers(
    ask: Ask, component: str, questions: list[tuple[str, str, str]]
) -> dict[tuple[str, str, str], bool]:
    """Each question's answer; asked a few at a time, since each is one kubectl process."""
    with ThreadPoolExecutor(ASKED_AT_ONCE) as pool:
        replies = pool.map(lambda question: ask(component, *question), questions)
        return dict(zip(questions, replies, strict=True))


def test_the_scheduler_runs_jobs_and_makes_secrets_it_cannot_read(ask: Ask, layout: Layout) -> None:
    jobs = layout.jobs
    needed = [
        *((verb, "jobs.batch", jobs) for verb in ("get", "list", "watch", "create", "delete")),
        *((verb, "pods", jobs) for verb in ("get", "list", "watch")),
        ("get", "pods/log", jobs),
        ("create", "secrets", jobs),
        ("delete", "secrets", jobs),
    ]
    assert answers(ask, "scheduler", needed) == dict.fromkeys(needed, True)
    forbidden = [
        *((verb, "secrets", jobs) for verb in ("get", "list", "watch", "update", "patch")),
        ("get", f"secrets/{RELEASE}", layout.release),
        ("list", "secrets", layout.release),
        ("deletecollection", "secrets", jobs),
        ("create", "pods", jobs),
        ("patch", "jobs.batch", jobs),
        ("list", "processdefinitions.gnomon.dev", layout.definition_namespaces[0]),
        ("create", "jobs.batch", ELSEWHERE),
        ("list", "pods", ELSEWHERE),
    ]
    if jobs != layout.release:  # no rights where it does not run tasks
        forbidden += [("list", "jobs.batch", layout.release), ("create", "secrets", layout.release)]
    assert answers(ask, "scheduler", forbidden) == dict.fromkeys(forbidden, False)


def test_the_operator_serves_definitions_and_nothing_else(ask: Ask, layout: Layout) -> None:
    needed: list[tuple[str, str, str]] = []
    for namespace in layout.definition_namespaces:
        needed += [
            (verb, "processdefinitions.gnomon.dev", namespace)
            for verb in ("get", "list", "watch", "patch", "update")
        ]
        needed += [
            (verb, "processdefinitions.gnomon.dev/status", namespace)
            for verb in ("get", "patch", "update")
        ]
        needed += [(verb, "events", namespace) for verb in ("create", "patch")]
        needed += [(verb, "events.events.k8s.io", namespace) for verb in ("create", "patch")]
    if layout.watched:
        needed += [
            (verb, "kopfpeerings.kopf.dev", namespace)
            for namespace in layout.watched
            for verb in ("get", "list", "watch", "patch")
        ]
    else:
        needed += [
            (verb, "clusterkopfpeerings.kopf.dev", ELSEWHERE)
            for verb in ("get", "list", "watch", "patch")
        ]
    assert answers(ask, "operator", needed) == dict.fromkeys(needed, True)
    forbidden = [
        ("create", "jobs.batch", layout.jobs),
        ("list", "jobs.batch", layout.jobs),
        ("get", "secrets", layout.jobs),
        ("get", f"secrets/{RELEASE}", layout.release),
        ("list", "secrets", layout.release),
        ("list", "pods", layout.jobs),
        ("get", "pods/log", layout.jobs),
        ("create", "processdefinitions.gnomon.dev", layout.definition_namespaces[0]),
        ("delete", "processdefinitions.gnomon.dev", layout.definition_namespaces[0]),
        ("list", "namespaces", ELSEWHERE),
        ("list", "customresourcedefinitions.apiextensions.k8s.io", ELSEWHERE),
    ]
    if layout.watched:  # nothing outside the watched namespaces
        forbidden += [
            ("list", "processdefinitions.gnomon.dev", layout.release),
            ("list", "processdefinitions.gnomon.dev", ELSEWHERE),
            ("list", "clusterkopfpeerings.kopf.dev", ELSEWHERE),
        ]
    assert answers(ask, "operator", forbidden) == dict.fromkeys(forbidden, False)


@pytest.mark.parametrize("component", ["api", "migrate", "tasks"])
def test_the_api_the_migration_and_task_pods_can_do_nothing(
    ask: Ask, layout: Layout, component: str
) -> None:
    forbidden = [
        ("*", "*", namespace)
        for namespace in sorted({layout.release, layout.jobs, *layout.definition_namespaces})
    ]
    forbidden += [
        ("get", f"secrets/{RELEASE}", layout.release),
        ("list", "secrets", layout.jobs),
        ("create", "jobs.batch", layout.jobs),
        ("list", "pods", layout.jobs),
        ("list", "processdefinitions.gnomon.dev", layout.definition_namespaces[0]),
        ("get", "configmaps", layout.jobs),
    ]
    assert answers(ask, component, forbidden) == dict.fromkeys(forbidden, False)


def test_the_scheduler_is_refused_the_charts_secret_for_real(
    kubectl: Path, kubeconfig: str, layout: Layout
) -> None:
    # Beyond can-i: an actual read of the chart's Secret as the scheduler is refused.
    result = subprocess.run(
        [str(kubectl), "--kubeconfig", kubeconfig, "get", "secret", RELEASE]
        + ["--namespace", layout.release, f"--as={layout.account('scheduler')}"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0 and "forbidden" in result.stderr.lower(), result.stderr
    owner = kubectl_run(
        kubectl, kubeconfig, "get", "secret", RELEASE, "--namespace", layout.release,
        "-o", "jsonpath={.metadata.name}",
    )  # fmt: skip
    assert owner == RELEASE  # it is there: the refusal is RBAC's, not a missing object


def test_the_executor_needs_no_right_the_scheduler_lacks(kubeconfig: str, layout: Layout) -> None:
    admin: Any = config.new_client_from_config(config_file=kubeconfig)  # type: ignore[no-untyped-call]
    scheduler: Any = config.new_client_from_config(config_file=kubeconfig)  # type: ignore[no-untyped-call]
    scheduler.set_default_header("Impersonate-User", layout.account("scheduler"))
    settings = Settings(
        database_url="sqlite://",
        public_url="http://gnomon-api.gnomon.svc",
        kubernetes_namespace=layout.jobs,
        kubernetes_service_account=f"{RELEASE}-tasks",
    )
    cluster = Cluster(admin, layout.jobs)
    kept, orphan = make_attempt(task="kept"), make_attempt(task="orphan")
    sink = RecordingSink()
    before = KubernetesRunner(settings, sink, instance="rbac", api_client=scheduler)
    after = KubernetesRunner(settings, sink, instance="rbac", api_client=scheduler)
    try:
        for attempt in (kept, orphan):
            before.start(attempt)
            assert sink.wait_for_state(attempt.task_id, ExecutorStatus.INITIALIZING)
            assert cluster.secret(job_name(attempt)) is not None
        pod = cluster.job(job_name(kept)).spec.template.spec
        assert (pod.service_account_name, pod.automount_service_account_token) == (
            f"{RELEASE}-tasks",
            False,
        )
        before.close()

        after.adopt([kept])  # lists Jobs and Pods; deletes the orphan's Job and Secret
        assert cluster.job(job_name(orphan)) is None
        assert cluster.secret(job_name(orphan)) is None
        assert after.healthy() is None
        after.kill(kept.task_id, "killed by user")
        assert sink.wait_finished(kept.task_id).reason == "killed by user"
        assert cluster.job(job_name(kept)) is None
        assert cluster.secret(job_name(kept)) is None
    finally:
        before.close()
        after.close()
        scheduler.close()
        admin.close()
