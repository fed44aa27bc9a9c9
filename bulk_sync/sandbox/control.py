"""The sandbox's control API (`/_sandbox/`): teams, faults, settings, stats, reset.

Every route wants the header `X-Sandbox-Admin: TOKEN`; without it, 401.
"""

from __future__ import annotations

import hmac
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, HTTPException, Request
from pydantic import BaseModel

from .faults import FaultPlan, FaultSpecError, check_delay
from .models import StoreError
from .runtime import Sandbox


def _sandbox(request: Request) -> Sandbox:
    sandbox: Sandbox = request.app.state.sandbox
    return sandbox


def _admin(
    request: Request,
    x_sandbox_admin: Annotated[str | None, Header(description="The admin token")] = None,
) -> None:
    token = _sandbox(request).settings.admin_token
    if x_sandbox_admin is None or not hmac.compare_digest(x_sandbox_admin.encode(), token.encode()):
        raise HTTPException(401, "Missing or invalid X-Sandbox-Admin header")


router = APIRouter(prefix="/_sandbox", tags=["sandbox control"], dependencies=[Depends(_admin)])
SandboxDep = Annotated[Sandbox, Depends(_sandbox)]


class TeamIn(BaseModel):
    apiKey: str | None = None


class UserOut(BaseModel):
    id: str
    firstName: str
    lastName: str
    email: str


class StageOut(BaseModel):
    id: str
    name: str


class TeamOut(BaseModel):
    teamId: str
    apiKey: str
    users: list[UserOut]
    crmStages: list[StageOut]


@router.post("/teams", status_code=201, response_model=TeamOut)
def create_team(sandbox: SandboxDep, body: Annotated[TeamIn | None, Body()] = None) -> Any:
    """A new team seeded like the default one, with its own API key.

    The API lists neither users nor CRM stages, so their ids come back here.
    """
    try:
        team = sandbox.store.teams.create(sandbox.seed, body.apiKey if body else None)
    except StoreError as exc:
        raise HTTPException(400, exc.message) from None
    return {
        "teamId": team.team_id,
        "apiKey": team.api_key,
        "users": [
            {"id": u.id, "firstName": u.first_name, "lastName": u.last_name, "email": u.email}
            for u in team.users
        ],
        "crmStages": [{"id": st.id, "name": st.name} for st in team.crm_stages],
    }


def _faults_view(sandbox: Sandbox) -> dict[str, Any]:
    plan = sandbox.faults.plan
    return {
        "faults": plan.as_dict(),
        "seed": sandbox.faults.seed,
        "latency_ms": plan.latency_ms,
        "late_commit_delay_s": sandbox.faults.late_commit_delay_s,
    }


@router.get("/faults")
def get_faults(sandbox: SandboxDep) -> dict[str, Any]:
    return _faults_view(sandbox)


@router.put("/faults")
def set_faults(sandbox: SandboxDep, body: Annotated[dict[str, Any], Body()]) -> dict[str, Any]:
    """Set fault probabilities, e.g. `{"429": 0.1, "drop_after": 0.05}`; `{}` turns them off.

    Three optional keys besides the kinds: `seed` restarts the sequence from that seed,
    `latency_ms` sets what a `latency` fault adds, `late_commit_delay_s` how long after
    the client gave up a `late_commit` request runs (late commits already waiting
    too). Left out, the last two keep their value. The sequence restarts either way.
    """
    values = dict(body)
    seed = values.pop("seed", None)
    latency = values.pop("latency_ms", sandbox.faults.plan.latency_ms)
    delay = values.pop("late_commit_delay_s", None)
    try:
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise FaultSpecError("seed must be an integer")
        if isinstance(latency, bool) or not isinstance(latency, int):
            raise FaultSpecError("latency_ms must be an integer")
        if delay is not None:
            delay = check_delay(delay)
        plan = FaultPlan.from_mapping(values, latency_ms=latency)
    except FaultSpecError as exc:
        raise HTTPException(400, str(exc)) from None
    sandbox.faults.configure(plan, seed, late_commit_delay_s=delay)
    return _faults_view(sandbox)


@router.get("/settings")
def get_settings(sandbox: SandboxDep) -> dict[str, Any]:
    return sandbox.ties.view()


@router.put("/settings")
def set_settings(sandbox: SandboxDep, body: Annotated[dict[str, Any], Body()]) -> dict[str, Any]:
    """Settings that are not faults, e.g. `{"unstable_ties": true, "tie_seed": 7}`.

    `unstable_ties` (true/false): contacts that tie on the sort key come back in a
    fresh random order on every list request. `tie_seed` (integer) restarts the
    sequence of those orders from that seed. Keys left out keep their value; the
    sequence restarts on every PUT.
    """
    values = dict(body)
    enabled = values.pop("unstable_ties", None)
    seed = values.pop("tie_seed", None)
    if values:
        unknown = ", ".join(repr(k) for k in sorted(values))
        raise HTTPException(400, f"unknown setting {unknown}; known: unstable_ties, tie_seed")
    if enabled is not None and not isinstance(enabled, bool):
        raise HTTPException(400, "unstable_ties must be true or false")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise HTTPException(400, "tie_seed must be an integer")
    sandbox.ties.configure(enabled, seed)
    return sandbox.ties.view()


@router.get("/stats")
def stats(sandbox: SandboxDep) -> dict[str, Any]:
    """Requests answered by (method, route, status), faults injected, contacts per team."""
    requests, faults = sandbox.stats.snapshot()
    teams = [{"teamId": t, "contacts": n} for t, n in sandbox.store.teams.contact_counts()]
    return {"requests": requests, "faults": faults, "teams": teams}


@router.post("/reset")
def reset(sandbox: SandboxDep) -> dict[str, str]:
    """Every team's data and every counter back to the seed; settings stay."""
    sandbox.reset()
    return {"message": "Sandbox reset"}
