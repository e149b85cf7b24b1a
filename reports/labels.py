"""Chinese headings as on the official forms, beside the wire values (docs/analysts.md, 'Reports')."""

from __future__ import annotations

from typing import Final

from events.data import DISCLOSURE_REASONS

#: applicant types: the columns of the annual report's table (自然人; 法人或其他组织 split five ways)
APPLICANT_TYPES: Final[dict[str, tuple[str, str]]] = {
    "natural_person": ("自然人", "natural persons"),
    "commercial_enterprise": ("法人或其他组织·商业企业", "commercial enterprises"),
    "research_institution": ("法人或其他组织·科研机构", "research institutions"),
    "social_welfare_org": ("法人或其他组织·社会公益组织", "social welfare organisations"),
    "legal_service_org": ("法人或其他组织·法律服务机构", "legal service organisations"),
    "other_org": ("法人或其他组织·其他", "other organisations"),
}

OUTCOMES: Final[dict[str, str]] = {
    "disclosed": "(一)予以公开",
    "partially_disclosed": "(二)部分公开(区分处理的，只计这一情形，不计其他情形)",
    "not_disclosed": "(三)不予公开",
    "unable_to_provide": "(四)无法提供",
    "not_processed": "(五)不予处理",
    "other": "(六)其他处理",
}

REASONS: Final[dict[str, str]] = {
    "state_secret": "1.属于国家秘密",
    "prohibited_by_law": "2.其他法律行政法规禁止公开",
    "security_stability": "3.危及“三安全一稳定”",
    "third_party_rights": "4.保护第三方合法权益",
    "internal_affairs": "5.属于三类内部事务信息",
    "process_information": "6.属于四类过程性信息",
    "enforcement_file": "7.属于行政执法案卷",
    "administrative_query": "8.属于行政查询事项",
    "not_held": "1.本机关不掌握相关政府信息",
    "needs_creation": "2.没有现成信息需要另行制作",
    "unclear_after_correction": "3.补正后申请内容仍不明确",
    "petition_complaint": "1.信访举报投诉类申请",
    "repeated": "2.重复申请",
    "publication": "3.要求提供公开出版物",
    "mass_repeated": "4.无正当理由大量反复申请",
    "confirm_or_reissue": "5.要求行政机关确认或重新出具已获取信息",
    "no_correction": "1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请",
    "fee_unpaid": "2.申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请",
    "other": "3.其他",
}


def outcome_rows() -> list[tuple[str, str]]:
    """(row key, Chinese label) of every outcome row of 三、本年度办理结果, in the form's order."""
    rows: list[tuple[str, str]] = []
    for outcome, label in OUTCOMES.items():
        reasons = DISCLOSURE_REASONS.get(outcome)
        if reasons is None:
            rows.append((outcome, label))
        else:
            rows.extend((f"{outcome}.{r}", f"{label} {REASONS[r]}") for r in reasons)
    return rows
