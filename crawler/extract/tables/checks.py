"""What a parsed table set is worth: its format, which rows are missing, and the form's checks.

Three-valued checks. A check is ``passed`` or ``failed`` only on a table that is whole; on a
table with expected rows absent it is ``not_evaluated`` (a sum that holds over a table with rows
lost proves nothing). A failed check carries the numbers that disagree.

Everything people read uses the form's own Chinese labels (``一、本年新收政府信息公开申请数量``),
never the internal keys (``new_requests``): see :func:`labelled_tables` and :data:`CHECK_LABELS`.

JSON added to the tables dict (``versions.tables``) by :func:`assess`::

    "format_basis": "table3" | "table2" | "report_year" | None,
    "completeness": {"table2" | "table3" | "table4":
                     {"status": "complete" | "incomplete" | "absent", "missing": [label, ...]}},
    "check_results": [{"name", "label", "status", "failures": [{"where", "left", "right", "text"}],
                       "reason"}],
    "checks": {"balance" | "row_totals" | "outcome_sum": True | False | None}   # legacy summary

Old stored versions have only the legacy ``checks`` (True/False/None): :func:`check_results_of`
reads both shapes.
"""

from __future__ import annotations

from typing import Any

from .statistics import (
    TABLE3_ROWS_2019,
    TABLE3_ROWS_2021,
    TABLE4_GROUPS,
    TABLE4_OUTCOMES,
)

__all__ = [
    "CHECK_LABELS",
    "FAILED",
    "LEGACY_CHECKS",
    "NOT_EVALUATED",
    "PASSED",
    "TABLE2_FIELD_LABELS",
    "TABLE2_ROW_LABELS",
    "TABLE3_COLUMN_LABELS",
    "TABLE3_ROW_LABELS",
    "TABLE4_GROUP_LABELS",
    "TABLE4_OUTCOME_LABELS",
    "assess",
    "check_results_of",
    "checks_flag",
    "describe_check",
    "detect_format",
    "expected_table3_rows",
    "labelled_tables",
    "table3_row_label",
]

PASSED, FAILED, NOT_EVALUATED = "passed", "failed", "not_evaluated"
LEGACY_CHECKS = ("balance", "row_totals", "outcome_sum")

TABLE3_COLUMN_LABELS = ("自然人", "商业企业", "科研机构", "社会公益组织", "法律服务机构", "其他", "总计")
_T3_SHORT = {
    "new_requests": "一、本年新收政府信息公开申请数量",
    "carried_over": "二、上年结转政府信息公开申请数量",
    "granted": "（一）予以公开",
    "partially_granted": "（二）部分公开（区分处理的，只计这一情形，不计其他情形）",
    "denied_state_secret": "（三）不予公开 1.属于国家秘密",
    "denied_law": "（三）不予公开 2.其他法律行政法规禁止公开",
    "denied_three_safety": "（三）不予公开 3.危及“三安全一稳定”",
    "denied_third_party": "（三）不予公开 4.保护第三方合法权益",
    "denied_internal": "（三）不予公开 5.属于三类内部事务信息",
    "denied_process": "（三）不予公开 6.属于四类过程性信息",
    "denied_enforcement": "（三）不予公开 7.属于行政执法案卷",
    "denied_inquiry": "（三）不予公开 8.属于行政查询事项",
    "unavailable_not_held": "（四）无法提供 1.本机关不掌握相关政府信息",
    "unavailable_needs_creation": "（四）无法提供 2.没有现成信息需要另行制作",
    "unavailable_unclear": "（四）无法提供 3.补正后申请内容仍不明确",
    "not_processed_petition": "（五）不予处理 1.信访举报投诉类申请",
    "not_processed_repeat": "（五）不予处理 2.重复申请",
    "not_processed_publication": "（五）不予处理 3.要求提供公开出版物",
    "not_processed_excessive": "（五）不予处理 4.无正当理由大量反复申请",
    "not_processed_confirmation": "（五）不予处理 5.要求行政机关确认或重新出具已获取信息",
    "other": "（六）其他处理",
    "other_no_correction": "（六）其他处理 1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请",
    "other_no_fee": "（六）其他处理 2.申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请",
    "other_misc": "（六）其他处理 3.其他",
    "total": "（七）总计",
    "carried_forward": "四、结转下年度继续办理",
}
#: Table-3 row key → the form's label (group and item, as printed).
TABLE3_ROW_LABELS: dict[str, str] = dict(_T3_SHORT)

TABLE4_GROUP_LABELS = {
    "review": "行政复议",
    "litigation_direct": "行政诉讼（未经复议直接起诉）",
    "litigation_after_review": "行政诉讼（复议后起诉）",
}
TABLE4_OUTCOME_LABELS = {
    "upheld": "结果维持", "corrected": "结果纠正", "other": "其他结果", "pending": "尚未审结", "total": "总计",
}
TABLE2_ROW_LABELS = {
    "regulations": "规章",
    "normative_documents": "规范性文件",
    "licensing": "行政许可",
    "other_services": "其他对外管理服务事项",
    "penalty": "行政处罚",
    "enforcement": "行政强制",
    "fees": "行政事业性收费",
    "procurement": "政府集中采购",
}
_T2_ROW_LABELS_2021 = {**TABLE2_ROW_LABELS, "normative_documents": "行政规范性文件"}
TABLE2_FIELD_LABELS = {
    "issued": "本年制发件数",
    "repealed": "本年废止件数",
    "in_force": "现行有效件数",
    "new_made": "本年新制作数量",
    "new_published": "本年新公开数量",
    "total_published": "对外公开总数量",
    "decisions": "处理决定数量",
    "previous_count": "上一年项目数量",
    "change": "本年增/减",
    "amount_10k_yuan": "金额（万元）",
    "count": "项目数量",
}
_T2_EXPECTED = {
    "2021": ("regulations", "normative_documents", "licensing", "penalty", "enforcement", "fees"),
    "2019": ("regulations", "normative_documents", "licensing", "other_services", "penalty",
             "enforcement", "fees", "procurement"),
}

CHECK_LABELS = {
    "balance": "表三：一、本年新收 + 二、上年结转 = （七）总计 + 四、结转下年度继续办理（每一列）",
    "row_totals": "表三：总计列 = 自然人、法人或其他组织五列之和（每一行）",
    "outcome_sum": "表三：（七）总计 = （一）至（六）各项之和（每一列）",
    "table4_totals": "表四：总计 = 结果维持 + 结果纠正 + 其他结果 + 尚未审结（每一组）",
    "cross_year": "表三：二、上年结转政府信息公开申请数量（总计）= 上一年度报告的 四、结转下年度继续办理（总计）",
}
STATUS_WORDS = {PASSED: "通过", FAILED: "不符", NOT_EVALUATED: "未核验"}

_OUTSIDE_RESULTS = {"new_requests", "carried_over", "total", "carried_forward"}


def table3_row_label(key: str) -> str:
    return TABLE3_ROW_LABELS.get(key, key)


def expected_table3_rows(fmt: str | None) -> tuple[str, ...]:
    return TABLE3_ROWS_2019 if fmt == "2019" else TABLE3_ROWS_2021


def detect_format(table2: dict | None, table3: dict | None,
                  report_year: int | None) -> tuple[str | None, str | None]:
    """``(format, basis)`` from the rows present: table 3's （六） rows (three in 2021, one in
    2019), else table 2's column words, else the report year (the 2021 form from report year
    2021 on). A table 3 that lost its （六） rows no longer passes for the 2019 form."""
    rows = (table3 or {}).get("rows") or {}
    if any(k in rows for k in ("other_no_correction", "other_no_fee", "other_misc")):
        return "2021", "table3"
    if "other" in rows:
        return "2019", "table3"
    if table2:
        fields = {f for values in table2.values() if isinstance(values, dict) for f in values}
        if fields & {"issued", "repealed", "in_force"}:
            return "2021", "table2"
        if fields & {"new_made", "new_published", "total_published", "previous_count"}:
            return "2019", "table2"
        if "other_services" in table2 or "procurement" in table2:
            return "2019", "table2"
    if report_year is not None and report_year >= 2019:
        return ("2021" if report_year >= 2021 else "2019"), "report_year"
    if table3 or table2:
        return "2021", None  # nothing tells: the current form, marked as a guess (no basis)
    return None, None


def _completeness(fmt: str | None, table2, table3, table4) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    rows = (table3 or {}).get("rows") or {}
    if not table3:
        out["table3"] = {"status": "absent", "missing": []}
    else:
        missing = [table3_row_label(k) for k in expected_table3_rows(fmt) if k not in rows]
        out["table3"] = {"status": "incomplete" if missing else "complete", "missing": missing}
    if not table4:
        out["table4"] = {"status": "absent", "missing": []}
    else:
        missing = [f"{TABLE4_GROUP_LABELS[g]} {TABLE4_OUTCOME_LABELS[o]}" for g in TABLE4_GROUPS
                   for o in TABLE4_OUTCOMES if not isinstance((table4.get(g) or {}).get(o), int)]
        out["table4"] = {"status": "incomplete" if missing else "complete", "missing": missing}
    if not table2:
        out["table2"] = {"status": "absent", "missing": []}
    else:
        labels = _T2_ROW_LABELS_2021 if fmt != "2019" else TABLE2_ROW_LABELS
        missing = [labels[k] for k in _T2_EXPECTED.get(fmt or "2021", ()) if k not in table2]
        out["table2"] = {"status": "incomplete" if missing else "complete", "missing": missing}
    return out


def _result(name: str, status: str, failures: list | None = None, reason: str | None = None) -> dict:
    return {"name": name, "label": CHECK_LABELS[name], "status": status,
            "failures": failures or [], "reason": reason}


def _failure(where: str, left: int, right: int, text: str) -> dict:
    return {"where": where, "left": left, "right": right, "text": text}


def _table3_checks(table3: dict | None, fmt: str | None, complete: dict) -> list[dict]:
    names = ("balance", "row_totals", "outcome_sum")
    if not table3:
        return [_result(n, NOT_EVALUATED, reason="未找到表三") for n in names]
    if complete["status"] != "complete":
        reason = "表三不完整，缺少：" + "；".join(complete["missing"])
        return [_result(n, NOT_EVALUATED, reason=reason) for n in names]
    rows: dict[str, list[int]] = table3["rows"]
    cols = TABLE3_COLUMN_LABELS
    out = []
    failures = []
    for c, column in enumerate(cols):
        left = rows["new_requests"][c] + rows["carried_over"][c]
        right = rows["total"][c] + rows["carried_forward"][c]
        if left != right:
            failures.append(_failure(column, left, right, (
                f"{column}：一 {rows['new_requests'][c]} + 二 {rows['carried_over'][c]} = {left}，"
                f"（七） {rows['total'][c]} + 四 {rows['carried_forward'][c]} = {right}")))
    out.append(_result("balance", FAILED if failures else PASSED, failures))
    failures = []
    for key in expected_table3_rows(fmt):
        values = rows[key]
        if sum(values[:6]) != values[6]:
            label = table3_row_label(key)
            failures.append(_failure(label, sum(values[:6]), values[6],
                                     f"{label}：六列之和 {sum(values[:6])}，总计 {values[6]}"))
    out.append(_result("row_totals", FAILED if failures else PASSED, failures))
    failures = []
    results = [k for k in expected_table3_rows(fmt) if k not in _OUTSIDE_RESULTS]
    for c, column in enumerate(cols):
        left = sum(rows[k][c] for k in results)
        if left != rows["total"][c]:
            failures.append(_failure(column, left, rows["total"][c],
                                     f"{column}：（一）至（六）之和 {left}，（七）总计 {rows['total'][c]}"))
    out.append(_result("outcome_sum", FAILED if failures else PASSED, failures))
    return out


def _table4_check(table4: dict | None, complete: dict) -> dict:
    if not table4:
        return _result("table4_totals", NOT_EVALUATED, reason="未找到表四")
    if complete["status"] != "complete":
        return _result("table4_totals", NOT_EVALUATED,
                       reason="表四不完整，缺少：" + "；".join(complete["missing"]))
    failures = []
    for group in TABLE4_GROUPS:
        values = table4[group]
        left = sum(values[o] for o in ("upheld", "corrected", "other", "pending"))
        if left != values["total"]:
            label = TABLE4_GROUP_LABELS[group]
            failures.append(_failure(label, left, values["total"],
                                     f"{label}：四项之和 {left}，总计 {values['total']}"))
    return _result("table4_totals", FAILED if failures else PASSED, failures)


def assess(tables: dict[str, Any], report_year: int | None = None) -> dict[str, Any]:
    """Add format (from the rows present), completeness and three-valued checks to ``tables``."""
    table2, table3, table4 = tables.get("table2"), tables.get("table3"), tables.get("table4")
    fmt, basis = detect_format(table2, table3, report_year)
    if table3 and isinstance(table3.get("rows"), dict):
        order = expected_table3_rows(fmt)
        rows = table3["rows"]
        table3["rows"] = {k: rows[k] for k in (*order, *rows) if k in rows}
    completeness = _completeness(fmt, table2, table3, table4)
    results = [*_table3_checks(table3, fmt, completeness["table3"]),
               _table4_check(table4, completeness["table4"])]
    legacy = {r["name"]: {PASSED: True, FAILED: False}.get(r["status"]) for r in results
              if r["name"] in LEGACY_CHECKS}
    tables.update({"format": fmt, "format_basis": basis, "completeness": completeness,
                   "check_results": results, "checks": legacy})
    return tables


def check_results_of(tables: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The three-valued check results of a stored tables dict, new or old shape."""
    if not isinstance(tables, dict) or tables.get("format") not in ("2019", "2021"):
        return []
    stored = tables.get("check_results")
    if isinstance(stored, list):
        return [r for r in stored if isinstance(r, dict) and r.get("name") in CHECK_LABELS]
    legacy = tables.get("checks")
    if not isinstance(legacy, dict):
        legacy = {}
    out = []
    for name in LEGACY_CHECKS:  # stored before the checks were three-valued
        value = legacy.get(name)
        status = PASSED if value is True else FAILED if value is False else NOT_EVALUATED
        out.append(_result(name, status, reason=None if value is not None else "所需的行未找到"))
    return out


def checks_flag(tables: dict[str, Any] | None, extra: list[dict] | None = None) -> str | None:
    """``ok`` / ``failed`` / ``incomplete`` for a report's tables (None: no form tables).

    ``extra`` are further results (the cross-year check); one of those that could not be
    evaluated (no report of the previous year) does not make the report incomplete."""
    results = check_results_of(tables)
    if tables is None or not results:  # results come only from a tables dict
        return None
    extra = extra or []
    if any(r.get("status") == FAILED for r in [*results, *extra]):
        return "failed"
    completeness = tables.get("completeness")
    if not isinstance(completeness, dict):
        completeness = {}
    if any(c.get("status") != "complete" for k, c in completeness.items()
           if k in ("table3", "table4") and isinstance(c, dict)):
        return "incomplete"
    if any(r.get("status") == NOT_EVALUATED for r in results):
        return "incomplete"
    return "ok"


def labelled_tables(tables: dict[str, Any] | None) -> dict[str, Any] | None:
    """Tables 2, 3 and 4 with the form's Chinese labels, for people (CLI, web, API).

    ``{"format", "table2": [{"label", "values": [{"label", "value"}]}],
       "table3": {"columns": [7 labels], "rows": [{"label", "values": [7]}]},
       "table4": {"columns": [5 labels], "rows": [{"label", "values": [5]}]},
       "completeness": {...}, "checks": [check results]}``"""
    if not isinstance(tables, dict):
        return None
    fmt = tables.get("format")
    out: dict[str, Any] = {"format": fmt, "table2": None, "table3": None, "table4": None}
    table3 = tables.get("table3")
    if isinstance(table3, dict) and isinstance(table3.get("rows"), dict):
        out["table3"] = {
            "columns": list(TABLE3_COLUMN_LABELS),
            "rows": [{"label": table3_row_label(k), "values": list(v) if isinstance(v, list) else []}
                     for k, v in table3["rows"].items()],
        }
    table4 = tables.get("table4")
    if isinstance(table4, dict):
        out["table4"] = {
            "columns": [TABLE4_OUTCOME_LABELS[o] for o in TABLE4_OUTCOMES],
            "rows": [{"label": TABLE4_GROUP_LABELS[g],
                      "values": [(table4.get(g) or {}).get(o) for o in TABLE4_OUTCOMES]}
                     for g in TABLE4_GROUPS if isinstance(table4.get(g), dict)],
        }
    table2 = tables.get("table2")
    if isinstance(table2, dict):
        labels = _T2_ROW_LABELS_2021 if fmt == "2021" else TABLE2_ROW_LABELS
        out["table2"] = [
            {"label": labels.get(k, k),
             "values": [{"label": TABLE2_FIELD_LABELS.get(f, f), "value": v} for f, v in values.items()]}
            for k, values in table2.items() if isinstance(values, dict)
        ]
    completeness = tables.get("completeness")
    out["completeness"] = {
        {"table2": "表二", "table3": "表三", "table4": "表四"}.get(k, k): v
        for k, v in completeness.items()
    } if isinstance(completeness, dict) else None
    out["checks"] = check_results_of(tables)
    return out


def describe_check(result: dict[str, Any]) -> str:
    """One line in words: ``不符 表三：… — 自然人：一 3001 + 二 34 = …``."""
    status, name = result.get("status"), result.get("name")
    words = STATUS_WORDS.get(status, str(status)) if isinstance(status, str) else str(status)
    label = CHECK_LABELS.get(name, name) if isinstance(name, str) else name
    line = f"{words}  {result.get('label') or label}"
    details = [f["text"] for f in result.get("failures") or [] if isinstance(f, dict) and f.get("text")]
    if details:
        line += " — " + "；".join(details)
    elif result.get("reason"):
        line += " — " + str(result["reason"])
    return line
