"""The ``data`` payloads of every event type in the contract (the newest schema version of each).

Every model is frozen and forbids unknown fields: a producer that needs a new field ships a new
``schemaversion``, and :mod:`events.upcasters` maps the old shape to the new one.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

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
#: the contract's channels (domain.md); the deadline policy must have a section for each
CHANNELS: tuple[str, ...] = Channel.__args__  # type: ignore[attr-defined]
#: operators add channels in the deadline policy (docs/deadlines.md, "Channels"): ``case.received`` accepts
#: any wire value of this shape, and a channel the policy does not name gets the ``other`` rules
CHANNEL_PATTERN = r"^[a-z][a-z0-9_]{0,39}$"
OTHER_CHANNEL = "other"
ChannelName = Annotated[str, StringConstraints(pattern=CHANNEL_PATTERN)]
PETITION_CHANNELS: frozenset[str] = frozenset({"letter", "visit", "online_petition"})
#: ``emergency`` (特急, e.g. a 24-hour tier) came with issue 19; a policy without an emergency section
#: applies its urgent rule
Urgency = Literal["urgent", "normal", "emergency"]
Outcome = Literal["resolved", "explained", "not_resolvable", "referred"]
Satisfaction = Literal[
    "very_satisfied", "satisfied", "basically_satisfied", "dissatisfied", "very_dissatisfied", "unreachable"
]
ReviewLevel = Literal["review", "re_review"]

# 依申请公开 (docs/analysts.md, 'Reports'): the applicant types and outcome categories of the national annual
# report's table (国办公开办函〔2021〕30号). Wire values in English, the form's Chinese labels in
# :mod:`reports.labels`.
ApplicantType = Literal[
    "natural_person",  # 自然人
    "commercial_enterprise",  # 法人或其他组织: 商业企业
    "research_institution",  # 科研机构
    "social_welfare_org",  # 社会公益组织
    "legal_service_org",  # 法律服务机构
    "other_org",  # 其他
]
DisclosureOutcome = Literal[
    "disclosed",  # (一) 予以公开
    "partially_disclosed",  # (二) 部分公开
    "not_disclosed",  # (三) 不予公开
    "unable_to_provide",  # (四) 无法提供
    "not_processed",  # (五) 不予处理
    "other",  # (六) 其他处理
]
#: outcome -> the reasons its row of the form splits into, in the form's order (1, 2, ...)
DISCLOSURE_REASONS: dict[str, tuple[str, ...]] = {
    "not_disclosed": (
        "state_secret", "prohibited_by_law", "security_stability", "third_party_rights",
        "internal_affairs", "process_information", "enforcement_file", "administrative_query",
    ),
    "unable_to_provide": ("not_held", "needs_creation", "unclear_after_correction"),
    "not_processed": (
        "petition_complaint", "repeated", "publication", "mass_repeated", "confirm_or_reissue",
    ),
    "other": ("no_correction", "fee_unpaid", "other"),
}  # fmt: skip
DisclosureReason = Literal[
    "state_secret", "prohibited_by_law", "security_stability", "third_party_rights", "internal_affairs",
    "process_information", "enforcement_file", "administrative_query",
    "not_held", "needs_creation", "unclear_after_correction",
    "petition_complaint", "repeated", "publication", "mass_repeated", "confirm_or_reissue",
    "no_correction", "fee_unpaid", "other",
]  # fmt: skip


class Data(BaseModel):
    """Base of every payload: frozen, strict about unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Petitioner(Data):
    """Personal data (个人信息). Never projected, logged or exported as metrics."""

    name: Name | None = None
    phone: Annotated[str, StringConstraints(max_length=40)] | None = None
    id_number: Annotated[str, StringConstraints(max_length=40)] | None = None


class SealedPetitioner(Data):
    """Personal data sealed with the person's own key (see :mod:`privacy.pii`): what the event store holds,
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


AnyPetitioner = Petitioner | SealedPetitioner | ErasedPetitioner


class DisclosureResult(Data):
    """How a disclosure request (依申请公开) was answered, in the national report's categories. ``reason`` is
    required for 不予公开 / 无法提供 / 不予处理 / 其他处理 and must be one of that outcome's reasons; it is
    not given for 予以公开 / 部分公开."""

    outcome: DisclosureOutcome
    reason: DisclosureReason | None = None

    @model_validator(mode="after")
    def _reason_fits(self) -> DisclosureResult:
        allowed = DISCLOSURE_REASONS.get(self.outcome)
        if allowed is None and self.reason is not None:
            raise ValueError(f"outcome {self.outcome!r} takes no reason")
        if allowed is not None and self.reason not in allowed:
            raise ValueError(f"outcome {self.outcome!r} needs a reason, one of {', '.join(allowed)}")
        return self


# --- case events -------------------------------------------------------------------------------------
class CaseReceived(Data):
    """A new case. The optional fields after ``petitioner`` came with the reports (issue 19); producers
    that do not send them keep working: ``applicant_type`` (disclosure requests), ``headcount`` (人数 of a
    petition, 5 or more = 集体访), ``skip_level`` (越级访), ``co_petitioners`` (further petitioners, sealed
    like the first)."""

    channel: ChannelName
    category: Name
    summary: Text
    region: Name | None = None
    urgency: Urgency = "normal"
    time_limit_days: Annotated[int, Field(ge=0, le=3650)] | None = None
    # the statutory limit (working days) beside a 承诺件 promise; unset: the policy's legal_limit (docs/deadlines.md)
    legal_time_limit_days: Annotated[int, Field(ge=0, le=3650)] | None = None
    petitioner: AnyPetitioner | None = None
    applicant_type: ApplicantType | None = None
    headcount: Annotated[int, Field(ge=1, le=100_000)] | None = None
    skip_level: bool | None = None
    co_petitioners: Annotated[list[AnyPetitioner], Field(max_length=100)] | None = None


class CaseAccepted(Data):
    pass


class CaseRejected(Data):
    reason: Text


class CaseAssigned(Data):
    """``department`` is the lead (主办); ``co_departments`` the co-handlers (协办), or the other departments
    of a 并联审批 service-centre application. Optional: older producers send none."""

    department: Name
    note: Text | None = None
    co_departments: Annotated[list[Name], Field(max_length=100)] | None = None

    @model_validator(mode="after")
    def _distinct(self) -> CaseAssigned:
        co = self.co_departments or []
        if self.department in co or len(set(co)) != len(co):
            raise ValueError("co_departments must be distinct and must not repeat the lead department")
        return self


class CaseReturned(Data):
    department: Name
    reason: Text


class CaseExtended(Data):
    """Schema version 2: ``extra`` in ``unit`` (``None`` = the channel's policy unit). Version 1 had
    ``extra_days`` only; :func:`events.upcasters.case_extended_v1_to_v2` maps it."""

    extra: Annotated[int, Field(ge=1, le=3650)]
    unit: Literal["working_days", "calendar_days", "months", "hours"] | None = None
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
    """``disclosure`` (optional) classifies the answer to a disclosure request for the annual report."""

    department: Name
    outcome: Outcome
    reply_summary: Text | None = None
    disclosure: DisclosureResult | None = None


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
    lead_department: Name | None = None  # 主办, one of ``departments``; the others co-handle (协办)
    due_date: Day
    target_case_id: Name | None = None

    @model_validator(mode="after")
    def _lead_is_addressed(self) -> SupervisionIssued:
        if self.lead_department is not None and self.lead_department not in self.departments:
            raise ValueError("lead_department must be one of departments")
        return self


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
