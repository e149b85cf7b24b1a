"""The ``data`` payloads of every event type in the contract (the newest schema version of each).

Every model is frozen and forbids unknown fields: a producer that needs a new field ships a new
``schemaversion``, and :mod:`events.upcasters` maps the old shape to the new one.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Text = Annotated[str, StringConstraints(min_length=1, max_length=4000)]
# Plausible calendar dates (deadlines): a year 9999 date is a producer bug and would overflow date arithmetic.
Day = Annotated[dt.date, Field(ge=dt.date(2000, 1, 1), lt=dt.date(2100, 1, 1))]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]

Channel = Literal[
    "hotline_12345",
    "hotline_12319",
    "mayor_mailbox",
    "letter",
    "visit",
    "online_petition",
    "npc_suggestion",
    "cppcc_proposal",
    "city_management",
    "disclosure_request",
    "service_center",
]
CHANNELS: tuple[str, ...] = Channel.__args__  # type: ignore[attr-defined]
PETITION_CHANNELS: frozenset[str] = frozenset({"letter", "visit", "online_petition"})
Urgency = Literal["urgent", "normal"]
Outcome = Literal["resolved", "explained", "not_resolvable", "referred"]
Satisfaction = Literal[
    "very_satisfied", "satisfied", "basically_satisfied", "dissatisfied", "very_dissatisfied", "unreachable"
]
ReviewLevel = Literal["review", "re_review"]


class Data(BaseModel):
    """Base of every payload: frozen, strict about unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Petitioner(Data):
    """Personal data (个人信息). Never projected, logged or exported as metrics."""

    name: Name | None = None
    phone: Annotated[str, StringConstraints(max_length=40)] | None = None
    id_number: Annotated[str, StringConstraints(max_length=40)] | None = None


class SealedPetitioner(Data):
    """Personal data sealed with the person's own key (see :mod:`events.pii`): what the event store holds,
    and what producers that encrypt at the source send. ``person`` is the keyed pseudonym."""

    person: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    alg: Literal["AES-256-GCM"]
    nonce: Annotated[str, StringConstraints(max_length=100)]
    ct: Annotated[str, StringConstraints(max_length=4000)]
    v: Literal[1] = 1


class ErasedPetitioner(Data):
    """A petitioner whose person was forgotten (``casetrack forget``) before this copy was sealed: nothing is
    left to decrypt, only the pseudonym (so repeat counts and replays stay the same)."""

    person: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    erased: Literal[True]
    v: Literal[1] = 1


# --- case events -------------------------------------------------------------------------------------
class CaseReceived(Data):
    channel: Channel
    category: Name
    summary: Text
    region: Name | None = None
    urgency: Urgency = "normal"
    time_limit_days: Annotated[int, Field(ge=0, le=3650)] | None = None
    # the statutory limit (working days) beside a 承诺件 promise; unset: the policy's legal_limit (docs/deadlines.md)
    legal_time_limit_days: Annotated[int, Field(ge=0, le=3650)] | None = None
    petitioner: Petitioner | SealedPetitioner | ErasedPetitioner | None = None


class CaseAccepted(Data):
    pass


class CaseRejected(Data):
    reason: Text


class CaseAssigned(Data):
    department: Name
    note: Text | None = None


class CaseReturned(Data):
    department: Name
    reason: Text


class CaseExtended(Data):
    """Schema version 2: ``extra`` in ``unit`` (``None`` = the channel's policy unit). Version 1 had
    ``extra_days`` only; :func:`events.upcasters.case_extended_v1_to_v2` maps it."""

    extra: Annotated[int, Field(ge=1, le=3650)]
    unit: Literal["working_days", "calendar_days", "months"] | None = None
    reason: Text
    approved_by: Name | None = None


class CaseSuspended(Data):
    """``reason`` ``hearing`` (听证) or ``correction`` (补正) has a meaning of its own (docs/deadlines.md);
    ``correction_due`` is the last day the applicant was given to correct (optional)."""

    reason: Text
    correction_due: Day | None = None


class CaseResumed(Data):
    restart_clock: bool = False


class CaseResolved(Data):
    department: Name
    outcome: Outcome
    reply_summary: Text | None = None


class CaseFollowedUp(Data):
    satisfaction: Satisfaction
    note: Text | None = None


class CaseReopened(Data):
    reason: Text


class CaseClosed(Data):
    pass


class CaseMerged(Data):
    into_case_id: Name


class CaseReviewRequested(Data):
    level: ReviewLevel


class CaseReviewDecided(Data):
    level: ReviewLevel
    decision: Literal["upheld", "changed"]


# --- supervision orders (督办单) ----------------------------------------------------------------------
class SupervisionIssued(Data):
    title: Text
    issued_by: Name
    level: Literal["leader_instruction", "office", "npc", "cppcc", "other"]
    departments: Annotated[list[Name], Field(min_length=1, max_length=100)]
    due_date: Day
    target_case_id: Name | None = None


class SupervisionProgressReported(Data):
    department: Name
    note: Text
    percent: Annotated[int, Field(ge=0, le=100)] | None = None


class SupervisionUrged(Data):
    note: Text | None = None


class SupervisionCompleted(Data):
    department: Name
    result: Text


class SupervisionCancelled(Data):
    reason: Text


# --- rectification items (整改) -----------------------------------------------------------------------
class RectificationOpened(Data):
    source: Literal["inspection", "audit", "supervision", "public_review", "petition"]
    problem: Text
    department: Name
    responsible_person: Name
    deadline: Day
    measures: Annotated[list[Text], Field(min_length=1, max_length=500)]
    related_case_id: Name | None = None


class RectificationProgressReported(Data):
    measures_done: Annotated[int, Field(ge=0, le=500)]
    note: Text | None = None


class RectificationExtended(Data):
    new_deadline: Day
    reason: Text


class RectificationCompleted(Data):
    summary: Text


class RectificationVerified(Data):
    accepted: bool
    verifier: Name
    note: Text | None = None
