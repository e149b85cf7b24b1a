"""The deadline policy: per channel and urgency, the time limit, its unit, when the clock starts, the maximum
extension, step limits and the early-warning threshold; plus the KPI knobs.

The policy is a TOML file (the documented default ships as ``projections/default_policy.toml``; its comments
explain every key, and ``docs/deadlines.md`` summarises them). Operators copy it, edit it and point the
service at their copy: :func:`load_policy` validates it and raises :class:`PolicyError` naming the file and
the offending key.

Inheritance inside the file, from general to specific (a more specific key wins):
``[warning]`` (global) → ``[channels.<channel>]`` → ``[channels.<channel>.urgent]`` / ``.normal``.
Step limits (``steps.<name>``) are inherited by name the same way.
"""

from __future__ import annotations

import tomllib
from fractions import Fraction
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Final, Literal, cast

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    model_validator,
)

from events.data import CHANNELS, Channel

__all__ = [
    "ChannelRule",
    "DEFAULT_LEGAL_LIMIT",
    "ClockStart",
    "DeadlinePolicy",
    "KpiPolicy",
    "PolicyError",
    "StepLimit",
    "Unit",
    "WarningThreshold",
    "load_policy",
]

Unit = Literal["working_days", "calendar_days", "months"]
ClockStart = Literal["received", "accepted", "assigned"]
StepStart = Literal["received", "accepted", "assigned", "requested"]
URGENCIES: Final[tuple[str, ...]] = ("normal", "urgent")
DEFAULT_POLICY_RESOURCE: Final = "default_policy.toml"


class PolicyError(ValueError):
    """The deadline policy file cannot be read or is invalid. The message names the file and the key."""


def _fraction(v: Any) -> Any:
    """Accept 0.25, 1, or a string such as "1/3" / "20%"."""
    if isinstance(v, str):
        s = v.strip()
        try:
            return float(Fraction(s[:-1]) / 100) if s.endswith("%") else float(Fraction(s))
        except (ValueError, ZeroDivisionError):
            raise ValueError(f'{v!r} is not a fraction (write 0.25, "1/3" or "20%")') from None
    return v


FractionValue = Annotated[float, BeforeValidator(_fraction), Field(ge=0.0, le=1.0)]
Count = Annotated[int, Field(ge=0, le=3650, strict=True)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class WarningThreshold(_Frozen):
    """Yellow when the remaining time is ≤ ``fraction`` × the limit **or** ≤ ``working_days`` working days.

    The working-day leg only applies to limits longer than it (otherwise a 1-working-day case would be
    yellow from the moment its clock starts). See :func:`projections.deadlines.compute_deadline`.
    """

    fraction: FractionValue = 1 / 3
    working_days: Count = 1


class _WarningPatch(_Frozen):
    fraction: FractionValue | None = None
    working_days: Count | None = None


class StepLimit(_Frozen):
    """A limit on one step of the handling, e.g. "a department may return a case within 2 working days of
    assignment". ``starts_at`` names the event the step counts from (``requested``: the step's own request,
    e.g. a review request). Checked with :func:`projections.deadlines.step_deadline`."""

    limit: Count
    unit: Unit = "working_days"
    starts_at: StepStart = "assigned"
    description: str | None = None


class ChannelRule(_Frozen):
    """The resolved rule for one channel and urgency (what :meth:`DeadlinePolicy.rule` returns)."""

    limit: Count
    unit: Unit
    clock_start: ClockStart
    max_extension: Count
    warning: WarningThreshold
    steps: dict[str, StepLimit] = {}
    #: the period a 重办 (reopen) gets, in ``unit``, counted from the reopen; None: the case's own limit
    reopen_limit: Count | None = None
    #: the statutory limit (working days) a 承诺件 promise is checked against when the event names none;
    #: None: 20 working days, the general limit where no law allows more (行政许可法 Art. 42)
    legal_limit: Count | None = None


#: the promise ceiling where no law allows more (working days; 行政许可法 Art. 42)
DEFAULT_LEGAL_LIMIT: Final = 20


class _RulePatch(_Frozen):
    """The keys of a channel or urgency section; unset keys are inherited."""

    limit: Count | None = None
    unit: Unit | None = None
    clock_start: ClockStart | None = None
    max_extension: Count | None = None
    reopen_limit: Count | None = None
    legal_limit: Count | None = None
    warning: _WarningPatch | None = None
    steps: dict[str, StepLimit] = {}
    description: str | None = None


class _ChannelSection(_RulePatch):
    urgent: _RulePatch | None = None
    normal: _RulePatch | None = None


class KpiPolicy(_Frozen):
    """Knobs of the KPI formulas that vary from place to place."""

    basically_satisfied_counts_as_satisfied: bool = True


class DeadlinePolicy(_Frozen):
    """The whole policy. Every channel of the event contract must have a section (no silent defaults)."""

    warning: WarningThreshold = WarningThreshold()
    kpi: KpiPolicy = KpiPolicy()
    channels: dict[Channel, _ChannelSection]

    _rules: dict[tuple[str, str], ChannelRule] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _resolve(self) -> DeadlinePolicy:
        missing = [c for c in CHANNELS if c not in self.channels]
        if missing:
            raise ValueError(f"channels: no section for {', '.join(missing)} (every channel needs one)")
        rules: dict[tuple[str, str], ChannelRule] = {}
        problems: list[str] = []
        for channel, section in self.channels.items():
            for urgency in URGENCIES:
                patch = cast(_RulePatch | None, getattr(section, urgency))
                merged: dict[str, Any] = {}
                for key in ("limit", "unit", "clock_start", "max_extension"):
                    value = getattr(patch, key) if patch is not None else None
                    merged[key] = value if value is not None else getattr(section, key)
                unset = [k for k, v in merged.items() if v is None]
                if unset:
                    where = f"[channels.{channel}] or [channels.{channel}.{urgency}]"
                    problems.append(
                        f"channels.{channel}.{urgency}: {', '.join(unset)} not set (set it in {where})"
                    )
                    continue
                for key in ("reopen_limit", "legal_limit"):  # optional: None means the documented default
                    value = getattr(patch, key) if patch is not None else None
                    merged[key] = value if value is not None else getattr(section, key)
                warning = self.warning.model_dump()
                for w in (section.warning, patch.warning if patch is not None else None):
                    if w is not None:
                        warning.update({k: v for k, v in w.model_dump().items() if v is not None})
                merged["warning"] = WarningThreshold.model_validate(warning)
                merged["steps"] = {**section.steps, **(patch.steps if patch is not None else {})}
                rules[(channel, urgency)] = ChannelRule.model_validate(merged)
        if problems:
            raise ValueError("; ".join(problems))
        self._rules = rules
        return self

    def rule(self, channel: str, urgency: str = "normal") -> ChannelRule:
        """The resolved rule for ``channel`` and ``urgency`` (``"urgent"`` | ``"normal"``)."""
        # Straight to pydantic's private-attribute storage: ``self._rules`` goes through
        # ``BaseModel.__getattr__`` (several µs), and this sits in the per-event hot path.
        private = cast(dict[str, Any], self.__pydantic_private__)
        rules = cast(dict[tuple[str, str], ChannelRule], private["_rules"])
        try:
            return rules[(channel, urgency)]
        except KeyError:
            raise KeyError(f"no deadline rule for channel {channel!r} with urgency {urgency!r}") from None

    def rules(self) -> dict[tuple[str, str], ChannelRule]:
        """All resolved rules, keyed by (channel, urgency)."""
        return dict(self._rules)


def _format_validation_error(err: ValidationError) -> str:
    lines = []
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"])
        msg = e["msg"].removeprefix("Value error, ")
        lines.append(f"  {loc}: {msg}" if loc else f"  {msg}")
    return "\n".join(lines)


def parse_policy(text: str, source: str = "<policy>") -> DeadlinePolicy:
    """Validate policy TOML text; ``source`` names it in error messages."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise PolicyError(f"deadline policy {source}: not valid TOML: {e}") from e
    try:
        return DeadlinePolicy.model_validate(raw)
    except ValidationError as e:
        raise PolicyError(f"deadline policy {source} is invalid:\n{_format_validation_error(e)}") from e


def _packaged_default_text() -> str:
    try:
        return resources.files("projections").joinpath(DEFAULT_POLICY_RESOURCE).read_text(encoding="utf-8")
    except (OSError, TypeError):
        # importlib.resources on Python 3.11 cannot read from a package that an editable install exposes as
        # a namespace package (seen when running outside the source tree); the file sits next to this one.
        return Path(__file__).with_name(DEFAULT_POLICY_RESOURCE).read_text(encoding="utf-8")


def load_policy(path: Path | None = None) -> DeadlinePolicy:
    """Load and validate a policy file; ``None`` loads the packaged ``default_policy.toml``."""
    if path is None:
        return parse_policy(_packaged_default_text(), f"(packaged) projections/{DEFAULT_POLICY_RESOURCE}")
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise PolicyError(f"deadline policy {path}: cannot read: {e}") from e
    return parse_policy(text, str(path))


def default_policy() -> DeadlinePolicy:
    """The packaged default policy (parsed once per call; cache it at the call site)."""
    return load_policy(None)
