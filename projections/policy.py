"""The deadline policy: per channel and urgency, the time limit, its unit, when the clock starts, the maximum
extension, step limits and the early-warning threshold; plus the KPI knobs.

The policy is a TOML file (the documented default ships as ``projections/default_policy.toml``; its comments
explain every key, and ``docs/deadlines.md`` summarises them). Operators copy it, edit it and point the
service at their copy: :func:`load_policy` validates it and raises :class:`PolicyError` naming the file and
the offending key.

Inheritance inside the file, from general to specific (a more specific key wins): ``[warning]`` (global) →
``[channels.<channel>]`` → ``.categories.<category>`` → ``.urgent`` / ``.normal`` / ``.emergency`` → the
category's urgency section; an operator's own channel starts from ``[channels.other]``. Step limits
(``steps.<name>``) are inherited by name the same way (docs/deadlines.md, "Channels").
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
    StringConstraints,
    ValidationError,
    model_validator,
)

from events.data import CHANNEL_PATTERN, CHANNELS, OTHER_CHANNEL
from projections.config_errors import validation_lines

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

Unit = Literal["working_days", "calendar_days", "months", "hours"]
ClockStart = Literal["received", "accepted", "assigned"]
StepStart = Literal["received", "accepted", "assigned", "requested"]
URGENCIES: Final[tuple[str, ...]] = ("normal", "urgent", "emergency")
OTHER: Final = OTHER_CHANNEL
ChannelName = Annotated[str, StringConstraints(pattern=CHANNEL_PATTERN)]
CategoryName = Annotated[str, StringConstraints(min_length=1, max_length=200)]
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


class _UrgencyPatches(_RulePatch):
    """A section with optional per-urgency overrides."""

    urgent: _RulePatch | None = None
    normal: _RulePatch | None = None
    emergency: _RulePatch | None = None  # unset: the urgent overrides apply


class _ChannelSection(_UrgencyPatches):
    #: per-category overrides (the case.received ``category``, e.g. 咨询 / 投诉), each with its own urgencies
    categories: dict[CategoryName, _UrgencyPatches] = {}


class KpiPolicy(_Frozen):
    """Knobs of the KPI formulas that vary from place to place."""

    basically_satisfied_counts_as_satisfied: bool = True


_REQUIRED: Final = ("limit", "unit", "clock_start", "max_extension")
_OPTIONAL: Final = ("reopen_limit", "legal_limit")  # None means the documented default


def _urgency_patch(section: _UrgencyPatches | None, urgency: str) -> _RulePatch | None:
    if section is None:
        return None
    patch = cast(_RulePatch | None, getattr(section, urgency))
    return section.urgent if patch is None and urgency == "emergency" else patch


def _merge(warning: WarningThreshold, layers: list[_RulePatch | None]) -> dict[str, Any]:
    """The keys of ``layers`` merged from the general to the specific (a later layer's set key wins)."""
    merged: dict[str, Any] = dict.fromkeys((*_REQUIRED, *_OPTIONAL))
    warn, steps = warning.model_dump(), {}
    for layer in layers:
        if layer is None:
            continue
        merged.update({k: getattr(layer, k) for k in merged if getattr(layer, k) is not None})
        if layer.warning is not None:
            warn.update({k: v for k, v in layer.warning.model_dump().items() if v is not None})
        steps.update(layer.steps)
    merged["warning"] = WarningThreshold.model_validate(warn)
    merged["steps"] = steps
    return merged


_MEMO_LIMIT: Final = 4096


class DeadlinePolicy(_Frozen):
    """The whole policy. Every channel of the event contract and ``other`` must have a section; operators
    may add channels (docs/deadlines.md, "Channels"). A channel without a section gets the ``other`` rules."""

    warning: WarningThreshold = WarningThreshold()
    kpi: KpiPolicy = KpiPolicy()
    channels: dict[ChannelName, _ChannelSection]

    _rules: dict[tuple[str, str], ChannelRule] = PrivateAttr(default_factory=dict)
    _category_rules: dict[tuple[str, str, str], ChannelRule] = PrivateAttr(default_factory=dict)
    # rule()'s answers by (channel, urgency, category): it runs several times per case row (docs/benchmarks.md)
    _memo: dict[tuple[str, str, str | None], ChannelRule] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _resolve(self) -> DeadlinePolicy:
        missing = [c for c in (*CHANNELS, OTHER) if c not in self.channels]
        if missing:
            raise ValueError(f"channels: no section for {', '.join(missing)} (every channel needs one)")
        rules: dict[tuple[str, str], ChannelRule] = {}
        by_category: dict[tuple[str, str, str], ChannelRule] = {}
        problems: list[str] = []
        for channel, section in self.channels.items():
            for urgency in URGENCIES:
                base = self._base_layers(channel, urgency)
                for category in (None, *section.categories):
                    cat = section.categories.get(category) if category is not None else None
                    layers = [
                        *base,
                        section,
                        cat,
                        _urgency_patch(section, urgency),
                        _urgency_patch(cat, urgency),
                    ]
                    merged = _merge(self.warning, layers)
                    unset = [k for k in _REQUIRED if merged[k] is None]
                    if unset:
                        where = f"[channels.{channel}] or [channels.{channel}.{urgency}]"
                        problems.append(
                            f"channels.{channel}.{urgency}: {', '.join(unset)} not set (set it in {where})"
                        )
                        break
                    rule = ChannelRule.model_validate(merged)
                    if category is None:
                        rules[(channel, urgency)] = rule
                    else:
                        by_category[(channel, category, urgency)] = rule
        if problems:
            raise ValueError("; ".join(problems))
        self._rules, self._category_rules = rules, by_category
        return self

    def _base_layers(self, channel: str, urgency: str) -> list[_RulePatch | None]:
        """An operator's own channel starts from the ``other`` section (its own keys win); the contract's
        channels and ``other`` stand alone (every key set, no silent defaults)."""
        if channel in CHANNELS or channel == OTHER:
            return []
        other = self.channels[OTHER]
        return [other, _urgency_patch(other, urgency)]

    def rule(self, channel: str, urgency: str = "normal", category: str | None = None) -> ChannelRule:
        """The resolved rule for ``channel``, ``urgency`` (normal, urgent, emergency) and the case's
        ``category`` (a category section of the channel wins, else the channel's rule). A channel the
        policy does not name gets the ``other`` rules (docs/deadlines.md, "Channels")."""
        # Straight to pydantic's private-attribute storage: ``self._memo`` goes through
        # ``BaseModel.__getattr__`` (several µs), and this sits in the per-event hot path.
        private: dict[str, Any] = self.__pydantic_private__  # type: ignore[assignment]
        key = (channel, urgency, category)
        found: ChannelRule | None = private["_memo"].get(key)
        if found is None:
            found = _resolve_rule(private, channel, urgency, category)
            if len(private["_memo"]) < _MEMO_LIMIT:  # categories are event data: bounded all the same
                private["_memo"][key] = found
        return found

    def rules(self) -> dict[tuple[str, str], ChannelRule]:
        """All resolved rules, keyed by (channel, urgency)."""
        return dict(self._rules)

    def category_rules(self) -> dict[tuple[str, str, str], ChannelRule]:
        """The per-category rules, keyed by (channel, category, urgency)."""
        return dict(self._category_rules)

    def channel_names(self) -> tuple[str, ...]:
        """Every channel with a section: the contract's, ``other`` and the operator's own."""
        return tuple(self.channels)


def parse_policy(text: str, source: str = "<policy>") -> DeadlinePolicy:
    """Validate policy TOML text; ``source`` names it in error messages."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise PolicyError(f"deadline policy {source}: not valid TOML: {e}") from e
    try:
        return DeadlinePolicy.model_validate(raw)
    except ValidationError as e:
        raise PolicyError(f"deadline policy {source} is invalid:\n{validation_lines(e)}") from e


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


def _resolve_rule(private: dict[str, Any], channel: str, urgency: str, category: str | None) -> ChannelRule:
    """:meth:`DeadlinePolicy.rule` without its memo."""
    rules: dict[tuple[str, str], ChannelRule] = private["_rules"]
    if category is not None and private["_category_rules"]:
        found = private["_category_rules"].get((channel, category, urgency))
        if found is None and (channel, urgency) not in rules:
            found = private["_category_rules"].get((OTHER, category, urgency))
        if found is not None:
            return cast(ChannelRule, found)
    try:
        return rules[(channel, urgency)]
    except KeyError:
        pass
    try:
        return rules[(OTHER, urgency)]
    except KeyError:
        raise KeyError(f"no deadline rule for channel {channel!r} with urgency {urgency!r}") from None
