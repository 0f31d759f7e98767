"""The UI's buttons: form POSTs that trigger, pause, resume and delete definitions and kill and
retry runs, through the same `gnomon.api.commands` as the REST API.

Each action checks, in this order: that the form came from one of this site's pages
(`forgery`), that the browser is signed in when GNOMON_API_TOKEN is set (else it goes to the
login page and back), and, for Trigger and Delete, that the person confirmed (a confirmation page
when no script asked already). Done, it answers 303 to the page the action belongs to, whose
`done` notice says what happened; refused, it answers the REST API's status and message as a
page. A page's `next` field (a path on this site) may name another page to come back to.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute

from gnomon.api import ContextDep, NowDep, SessionDep, commands
from gnomon.errors import (
    ConcurrentWriteError,
    ConflictError,
    GnomonError,
    InvalidInputError,
    NotFoundError,
    StoreError,
    StoreUnavailableError,
)
from gnomon.web.errors import PageError, error_page
from gnomon.web.forms import Form, FormDep, local_path, refuse_forgery, with_notice
from gnomon.web.rendering import login_url, path_segment, render
from gnomon.web.sessions import signed_in

log = logging.getLogger(__name__)

DEFINITIONS: Final = "/process_definitions"
RUNS: Final = "/"


class SignInNeededError(GnomonError):
    """The action needs the API token and the browser is not signed in."""

    def __init__(self, back: str) -> None:
        super().__init__(f"sign in to act, then go back to {back}")
        self.back = back


class ActionRoute(APIRoute):
    """A route whose refusals become pages (or a redirect to the login page), never JSON."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except SignInNeededError as needed:
                return RedirectResponse(login_url(needed.back), status_code=303)
            except PageError as error:
                log.info("action %s refused: %s", request.url.path, error)
                return error_page(request, error)
            except GnomonError as error:
                return error_page(request, refusal(request, error))

        return handle


router = APIRouter(route_class=ActionRoute, include_in_schema=False)


def definition_page(name: str) -> str:
    return f"{DEFINITIONS}/{path_segment(name)}"


def run_page(process_id: str) -> str:
    return f"/processes/{path_segment(process_id)}"


def home(request: Request) -> str:
    """The page an action belongs to: its definition's or its run's."""
    params = request.path_params
    return definition_page(params["name"]) if "name" in params else run_page(params["process_id"])


def guarded_form(request: Request, form: FormDep, context: ContextDep) -> Form:
    """The action's form, once it is known to come from this site and from a signed-in browser
    (when a token is set); checked before the store is opened."""
    refuse_forgery(request, form, context.settings.public_url)
    if context.settings.api_token is not None and not signed_in(request, context):
        raise SignInNeededError(local_path(form.get("next"), home(request)))
    return form


ActionForm = Annotated[Form, Depends(guarded_form)]


@router.post(DEFINITIONS + "/{name}/trigger")
def trigger(
    request: Request,
    name: str,
    form: ActionForm,
    session: SessionDep,
    context: ContextDep,
    now: NowDep,
) -> Response:
    """Start a run now (of one task, with `task_definition_name`), once confirmed."""
    task = form.get("task_definition_name") or None
    if not form.confirmed:
        commands.check_trigger(session, name, task)
        return _confirm_trigger(request, form, name, task)
    commands.trigger_definition(session, context, now, name, task)
    return _done(form, definition_page(name), "task-triggered" if task else "triggered")


@router.post(DEFINITIONS + "/{name}/pause")
def pause(
    name: str, form: ActionForm, session: SessionDep, context: ContextDep, now: NowDep
) -> Response:
    """Stop the schedule; triggers still start runs."""
    commands.pause_definition(session, context, now, name)
    return _done(form, definition_page(name), "paused")


@router.post(DEFINITIONS + "/{name}/resume")
def resume(
    name: str, form: ActionForm, session: SessionDep, context: ContextDep, now: NowDep
) -> Response:
    """Start the schedule again."""
    commands.resume_definition(session, context, now, name)
    return _done(form, definition_page(name), "resumed")


@router.post(DEFINITIONS + "/{name}/delete")
def delete(
    request: Request, name: str, form: ActionForm, session: SessionDep, context: ContextDep
) -> Response:
    """Delete the definition, once confirmed; its past runs stay."""
    if not form.confirmed:
        commands.check_delete(session, name)
        return _confirm_delete(request, form, name)
    commands.delete_definition(session, context, name)
    return RedirectResponse(with_notice(DEFINITIONS, "deleted"), status_code=303)


@router.post("/processes/{process_id}/kill")
def kill(
    process_id: str, form: ActionForm, session: SessionDep, context: ContextDep, now: NowDep
) -> Response:
    """Stop the run: its running tasks end, and it fails."""
    commands.kill_run(session, context, now, process_id)
    return _done(form, run_page(process_id), "killed")


@router.post("/processes/{process_id}/retry")
def retry(
    process_id: str, form: ActionForm, session: SessionDep, context: ContextDep, now: NowDep
) -> Response:
    """Give each failed task of the run one more attempt."""
    commands.retry_run(session, context, now, process_id)
    return _done(form, run_page(process_id), "retried")


@router.get(DEFINITIONS + "/{name}/trigger")
@router.get(DEFINITIONS + "/{name}/pause")
@router.get(DEFINITIONS + "/{name}/resume")
@router.get(DEFINITIONS + "/{name}/delete")
@router.get("/processes/{process_id}/kill")
@router.get("/processes/{process_id}/retry")
def not_an_action(request: Request) -> Response:
    """An action's URL opened as a page (a confirmation page reloaded later, a copied link):
    nothing is done; the browser goes to the page the action belongs to."""
    return RedirectResponse(home(request), status_code=303)


def _done(form: Form, default: str, notice: str) -> Response:
    return RedirectResponse(with_notice(local_path(form.get("next"), default), notice), 303)


def _confirm_trigger(request: Request, form: Form, name: str, task: str | None) -> Response:
    if task:
        title = f"Trigger task {task} of {name}?"
        question = f"A run of {name} with only its task {task} starts now."
    else:
        title = f"Trigger {name}?"
        question = f"A run of {name} starts now, whatever its schedule says."
    fields = {"task_definition_name": task} if task else {}
    label = "Trigger task" if task else "Trigger"
    return _confirmation(request, form, name, "trigger", title, question, label, fields)


def _confirm_delete(request: Request, form: Form, name: str) -> Response:
    question = (
        f"The definition {name} and its waiting trigger requests are deleted; its past runs "
        "stay readable. This cannot be undone."
    )
    return _confirmation(request, form, name, "delete", f"Delete {name}?", question, "Delete", {})


def _confirmation(
    request: Request,
    form: Form,
    name: str,
    verb: str,
    title: str,
    question: str,
    label: str,
    fields: dict[str, str],
) -> Response:
    """A page asking again, whose button posts the same form with `confirmed=1`."""
    wanted = local_path(form.get("next"), "")
    if wanted:
        fields = {**fields, "next": wanted}
    return render(
        request,
        "confirm.html",
        title=title,
        question=question,
        action=f"{definition_page(name)}/{verb}",
        label=label,
        kind="button-danger" if verb == "delete" else "button-primary",
        fields={**fields, "confirmed": "1"},
        cancel=wanted or definition_page(name),
    )


_TITLES: Final = {
    "trigger": "Could not trigger",
    "pause": "Could not pause",
    "resume": "Could not resume",
    "delete": "Could not delete",
    "kill": "Could not kill",
    "retry": "Could not retry",
}


def refusal(request: Request, error: GnomonError) -> PageError:
    """The page for an error of the store or the commands: the REST API's status and message."""
    status, message = _status_and_message(error)
    title = _TITLES.get(request.url.path.rsplit("/", 1)[-1], "Could not do that")
    if status != 404:
        return PageError(status, title, message, link=(home(request), "Back"))
    if "name" in request.path_params:
        return PageError(status, title, message, link=(DEFINITIONS, "Back to the definitions"))
    return PageError(status, title, message, link=(RUNS, "Back to the latest runs"))


def _status_and_message(error: GnomonError) -> tuple[int, str]:
    """As `gnomon.api.errors` answers the same errors."""
    if isinstance(error, InvalidInputError):
        return 400, str(error)
    if isinstance(error, NotFoundError):
        return 404, str(error)
    if isinstance(error, ConcurrentWriteError):
        log.info("conflicting write: %s", error)
        return 409, "a concurrent request changed the same data; retry"
    if isinstance(error, ConflictError):
        return 409, str(error)
    if isinstance(error, StoreUnavailableError):
        log.warning("store unavailable: %s", error)
        return 503, "the store is unavailable; try again later"
    log.error("action failed", exc_info=error)
    if isinstance(error, StoreError):
        return 500, "internal error in the store"
    return 500, "internal error"
