"""The raw department tables: their columns, types, codes, ranges and meanings.

This module is the one contract between the synthetic province (``scoring.synth``),
validation (``scoring.validate``), collection (``scoring.collect``) and a user who
brings their own files: each source is one table, long format, one row per record.
The data dictionary in the README and ``data/raw/DICTIONARY.md`` is generated from it.

Examples
--------
>>> TABLES["tax_filings"].column("tax_paid").unit
'CNY'
>>> sorted(TABLES)[:3]
['admin_penalties', 'agri_insurance', 'agri_subsidies']
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import polars as pl

__all__ = [
    "DATA_END",
    "DATA_START",
    "ENTITY_TYPES",
    "TABLES",
    "Column",
    "Table",
    "data_dictionary",
    "data_dictionary_markdown",
]

DATA_START = dt.date(2010, 1, 1)
"""First month of the embedded records."""
DATA_END = dt.date(2014, 12, 31)
"""Last day of the embedded records."""

ENTITY_TYPES = ("sme", "household")

INDUSTRIES = ("A", "C", "E", "F", "G", "H", "I", "K", "L", "O")
"""GB/T 4754 sections used: agriculture, manufacturing, construction, trade, transport,
hospitality, IT, real estate, leasing and business services, resident services."""
SIZE_CLASSES = ("micro", "small", "medium")
INCOME_SOURCES = ("crops", "livestock", "aquaculture", "migrant_work", "business", "other")
UTILITIES = ("electricity", "water")
PENALTY_SEVERITIES = ("general", "serious")
PENALTY_AUTHORITIES = ("market", "tax", "environment", "quality", "safety")
SUBSIDY_TYPES = ("grain", "machinery", "seed", "livestock")
CROPS = ("rice", "sugarcane", "fruit", "vegetables", "pigs", "fish")
PUBLIC_RECORD_ITEMS = (
    "MODEL_WORKER",
    "VOLUNTEER",
    "LAWSUIT",
    "DEBT_EVASION",
    "LOAN_MISUSE",
    "ARREARS",
)
"""Household public-record items; the first two add points, the others deduct."""
LOAN_PURPOSES = ("working_capital", "equipment", "agriculture", "consumption", "housing")
CONSENT_PURPOSES = ("credit_approval", "post_loan_management", "guarantee")
DISPUTE_OUTCOMES = ("corrected", "upheld", "unresolved")


@dataclass(frozen=True, slots=True)
class Column:
    """One column of a raw table.

    ``codes`` lists the allowed values of a coded column; ``lo``/``hi`` bound a
    numeric or date column (inclusive); ``personal`` marks personal data that must
    never leave the curated layer in clear.
    """

    name: str
    dtype: type[pl.DataType] | pl.DataType
    zh: str
    en: str
    unit: str = ""
    nullable: bool = False
    codes: tuple[str, ...] | None = None
    lo: float | dt.date | None = None
    hi: float | dt.date | None = None
    personal: bool = False


@dataclass(frozen=True, slots=True)
class Table:
    """One raw source table.

    ``key`` is the record id column, ``natural_key`` the columns that identify one
    real-world submission (duplicates share it), ``entity`` the column naming the
    entity (with ``entity_type`` fixed or taken from an ``entity_type`` column).
    """

    name: str
    zh: str
    en: str
    source: str
    key: str
    columns: tuple[Column, ...]
    natural_key: tuple[str, ...] = ()
    entity: str | None = None
    entity_type: str | None = None
    date_column: str | None = None
    extra_checks: tuple[str, ...] = field(default=())

    def column(self, name: str) -> Column:
        """Return the column called ``name``."""
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    @property
    def schema(self) -> dict[str, type[pl.DataType] | pl.DataType]:
        """Column name to polars dtype, in order."""
        return {c.name: c.dtype for c in self.columns}


_D = pl.Date
_S = pl.String
_F = pl.Float64
_I = pl.Int64
_B = pl.Boolean

_EARLIEST = dt.date(1949, 10, 1)
_LATEST = dt.date(2016, 12, 31)


def _rid(zh: str = "记录编号", en: str = "record id") -> Column:
    return Column("record_id", _S, zh, en)


_ENTITY_TYPE = Column("entity_type", _S, "主体类型", "entity type", codes=ENTITY_TYPES)
_ENTITY_ID = Column(
    "entity_id",
    _S,
    "主体标识(统一社会信用代码或农户编号)",
    "entity id (credit code or household id)",
)
_CREDIT_CODE = Column("credit_code", _S, "统一社会信用代码", "unified social credit code")
_HOUSEHOLD_ID = Column("household_id", _S, "农户编号", "household id")
_MONTH = Column("month", _D, "所属月份(月初)", "month (first day)", lo=DATA_START, hi=DATA_END)

TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table(
            "enterprises",
            "企业登记",
            "enterprise registration",
            "market regulator 市场监管",
            key="credit_code",
            entity="credit_code",
            entity_type="sme",
            date_column="established_date",
            columns=(
                _CREDIT_CODE,
                Column("name", _S, "企业名称", "enterprise name"),
                Column("city_code", _S, "地级市代码", "city division code (GB/T 2260)"),
                Column("county_code", _S, "县区代码", "county division code"),
                Column(
                    "industry", _S, "行业门类", "industry section (GB/T 4754)", codes=INDUSTRIES
                ),
                Column("size_class", _S, "企业规模", "size class", codes=SIZE_CLASSES),
                Column(
                    "registered_capital",
                    _F,
                    "注册资本",
                    "registered capital",
                    "10k CNY",
                    lo=1,
                    hi=1e6,
                ),
                Column(
                    "established_date",
                    _D,
                    "成立日期",
                    "date established",
                    lo=_EARLIEST,
                    hi=DATA_END,
                ),
                Column(
                    "deregistered_date",
                    _D,
                    "注销日期",
                    "date deregistered",
                    nullable=True,
                    lo=DATA_START,
                    hi=DATA_END,
                ),
            ),
        ),
        Table(
            "households",
            "农户信息",
            "rural households",
            "agriculture bureau / village committee 农业部门·村委",
            key="household_id",
            entity="household_id",
            entity_type="household",
            date_column="registered_date",
            columns=(
                _HOUSEHOLD_ID,
                Column(
                    "head_id_number",
                    _S,
                    "户主居民身份证号码",
                    "head's resident id number",
                    personal=True,
                ),
                Column("head_name", _S, "户主姓名", "head's name", personal=True),
                Column("city_code", _S, "地级市代码", "city division code (GB/T 2260)"),
                Column("county_code", _S, "县区代码", "county division code"),
                Column("town_code", _S, "乡镇代码", "town code (9 digits)"),
                Column("village_code", _S, "行政村代码", "village code (12 digits)"),
                Column("members", _I, "家庭人口", "household members", "persons", lo=1, hi=20),
                Column("labourers", _I, "劳动力人数", "labourers", "persons", lo=0, hi=20),
                Column("land_area", _F, "承包地面积", "contracted land area", "mu", lo=0, hi=500),
                Column(
                    "main_income_source",
                    _S,
                    "主要收入来源",
                    "main income source",
                    codes=INCOME_SOURCES,
                ),
                Column("cooperative_member", _B, "合作社社员", "member of a cooperative"),
                Column(
                    "registered_date", _D, "建档日期", "date registered", lo=_EARLIEST, hi=DATA_END
                ),
            ),
        ),
        Table(
            "tax_filings",
            "纳税申报与缴纳",
            "tax filings and payments",
            "local tax bureau 地税",
            key="record_id",
            natural_key=("credit_code", "period"),
            entity="credit_code",
            entity_type="sme",
            date_column="period",
            columns=(
                _rid(),
                _CREDIT_CODE,
                Column(
                    "period",
                    _D,
                    "税款所属期(月初)",
                    "tax period (first day)",
                    lo=DATA_START,
                    hi=DATA_END,
                ),
                Column("due_date", _D, "申报期限", "filing deadline"),
                Column("filed_date", _D, "申报日期", "date filed", nullable=True),
                Column("revenue", _F, "申报收入", "declared revenue", "CNY", lo=0, hi=5e9),
                Column("tax_payable", _F, "应纳税额", "tax payable", "CNY", lo=0, hi=5e8),
                Column("tax_paid", _F, "已缴税额", "tax paid", "CNY", lo=0, hi=5e8),
                Column("zero_declaration", _B, "零申报", "zero declaration"),
            ),
            extra_checks=("filed_date >= period",),
        ),
        Table(
            "tax_violations",
            "税务违法违章",
            "tax violations",
            "local tax bureau 地税",
            key="record_id",
            natural_key=("credit_code", "indicator_code", "event_date"),
            entity="credit_code",
            entity_type="sme",
            date_column="event_date",
            columns=(
                _rid(),
                _CREDIT_CODE,
                Column("event_date", _D, "发生日期", "event date", lo=DATA_START, hi=DATA_END),
                Column(
                    "indicator_code",
                    _S,
                    "扣分指标代码",
                    "deduction indicator code (configs: tax.deductions)",
                ),
                Column(
                    "amount", _F, "涉及金额", "amount involved", "CNY", nullable=True, lo=0, hi=5e9
                ),
                Column("ended_date", _D, "行为终止日期", "date the behaviour ended", nullable=True),
            ),
        ),
        Table(
            "loans",
            "贷款",
            "loans",
            "banks 银行信贷",
            key="loan_id",
            entity="entity_id",
            date_column="origination_date",
            columns=(
                Column("loan_id", _S, "贷款编号", "loan id"),
                _ENTITY_TYPE,
                _ENTITY_ID,
                Column("bank_code", _S, "银行代码", "bank code (configs: banks)"),
                Column("purpose", _S, "贷款用途", "loan purpose", codes=LOAN_PURPOSES),
                Column(
                    "origination_date",
                    _D,
                    "发放日期",
                    "origination date",
                    lo=DATA_START,
                    hi=DATA_END,
                ),
                Column("maturity_date", _D, "到期日期", "maturity date"),
                Column("principal", _F, "贷款本金", "principal", "CNY", lo=1000, hi=1e9),
            ),
            extra_checks=("maturity_date > origination_date",),
        ),
        Table(
            "loan_repayments",
            "贷款还款状态",
            "monthly loan repayment status",
            "banks 银行信贷",
            key="record_id",
            natural_key=("loan_id", "month"),
            entity="loan_id",
            date_column="month",
            columns=(
                _rid(),
                Column("loan_id", _S, "贷款编号", "loan id"),
                _MONTH,
                Column("balance", _F, "贷款余额", "outstanding balance", "CNY", lo=0, hi=1e9),
                Column("amount_due", _F, "本月应还", "amount due this month", "CNY", lo=0, hi=1e9),
                Column(
                    "amount_paid", _F, "本月实还", "amount paid this month", "CNY", lo=0, hi=1e9
                ),
                Column("days_past_due", _I, "逾期天数", "days past due", "days", lo=0, hi=3650),
            ),
        ),
        Table(
            "social_insurance",
            "社会保险缴费",
            "social insurance contributions",
            "human resources and social security 人社",
            key="record_id",
            natural_key=("credit_code", "month"),
            entity="credit_code",
            entity_type="sme",
            date_column="month",
            columns=(
                _rid(),
                _CREDIT_CODE,
                _MONTH,
                Column(
                    "employees", _I, "参保职工人数", "insured employees", "persons", lo=0, hi=100000
                ),
                Column("contribution_due", _F, "应缴金额", "contribution due", "CNY", lo=0, hi=1e8),
                Column(
                    "contribution_paid", _F, "实缴金额", "contribution paid", "CNY", lo=0, hi=1e8
                ),
            ),
        ),
        Table(
            "utility_payments",
            "水电费缴纳",
            "utility payments",
            "power grid and water companies 供电·供水",
            key="record_id",
            natural_key=("entity_id", "utility", "month"),
            entity="entity_id",
            date_column="month",
            columns=(
                _rid(),
                _ENTITY_TYPE,
                _ENTITY_ID,
                Column("utility", _S, "类别", "utility", codes=UTILITIES),
                _MONTH,
                Column(
                    "usage", _F, "用量", "usage (electricity kWh, water m3)", "kWh|m3", lo=0, hi=1e8
                ),
                Column("amount_due", _F, "应缴金额", "amount billed", "CNY", lo=0, hi=1e8),
                Column("days_late", _I, "逾期天数", "days paid late", "days", lo=0, hi=3650),
            ),
        ),
        Table(
            "court_enforcement",
            "法院强制执行",
            "court enforcement",
            "courts 法院",
            key="record_id",
            entity="entity_id",
            date_column="filed_date",
            columns=(
                _rid(),
                _ENTITY_TYPE,
                _ENTITY_ID,
                Column("case_number", _S, "案号", "case number"),
                Column("filed_date", _D, "立案日期", "date filed", lo=DATA_START, hi=DATA_END),
                Column("closed_date", _D, "结案日期", "date closed", nullable=True),
                Column("amount", _F, "执行标的", "amount enforced", "CNY", lo=0, hi=1e10),
                Column("dishonest", _B, "失信被执行人", "listed as dishonest judgement debtor"),
            ),
            extra_checks=("closed_date >= filed_date",),
        ),
        Table(
            "admin_penalties",
            "行政处罚",
            "administrative penalties",
            "regulators 行政执法部门",
            key="record_id",
            entity="credit_code",
            entity_type="sme",
            date_column="decision_date",
            columns=(
                _rid(),
                _CREDIT_CODE,
                Column(
                    "decision_date", _D, "处罚决定日期", "decision date", lo=DATA_START, hi=DATA_END
                ),
                Column("severity", _S, "严重程度", "severity", codes=PENALTY_SEVERITIES),
                Column("authority", _S, "处罚机关类别", "authority", codes=PENALTY_AUTHORITIES),
                Column("amount", _F, "罚款金额", "fine", "CNY", lo=0, hi=1e9),
            ),
        ),
        Table(
            "agri_subsidies",
            "农业补贴",
            "agricultural subsidies",
            "agriculture bureau 农业部门",
            key="record_id",
            entity="household_id",
            entity_type="household",
            date_column="pay_date",
            columns=(
                _rid(),
                _HOUSEHOLD_ID,
                Column("pay_date", _D, "发放日期", "date paid", lo=DATA_START, hi=DATA_END),
                Column("subsidy_type", _S, "补贴类别", "subsidy type", codes=SUBSIDY_TYPES),
                Column("amount", _F, "补贴金额", "amount", "CNY", lo=0, hi=1e6),
            ),
        ),
        Table(
            "agri_insurance",
            "农业保险",
            "agricultural insurance",
            "insurers 保险机构",
            key="record_id",
            entity="household_id",
            entity_type="household",
            date_column="policy_start",
            columns=(
                _rid(),
                _HOUSEHOLD_ID,
                Column("policy_start", _D, "保险起期", "policy start", lo=DATA_START, hi=DATA_END),
                Column("policy_end", _D, "保险止期", "policy end"),
                Column("crop", _S, "保险标的", "insured crop or livestock", codes=CROPS),
                Column("insured_amount", _F, "保险金额", "sum insured", "CNY", lo=0, hi=1e7),
                Column("premium", _F, "保费", "premium", "CNY", lo=0, hi=1e6),
                Column("claim_paid", _F, "赔款", "claim paid", "CNY", lo=0, hi=1e7),
            ),
            extra_checks=("policy_end > policy_start",),
        ),
        Table(
            "public_records",
            "农户公共记录",
            "household public records (plus and minus items)",
            "village committee, courts 村委·法院",
            key="record_id",
            entity="household_id",
            entity_type="household",
            date_column="event_date",
            columns=(
                _rid(),
                _HOUSEHOLD_ID,
                Column("event_date", _D, "发生日期", "event date", lo=DATA_START, hi=DATA_END),
                Column("item_code", _S, "事项代码", "item code", codes=PUBLIC_RECORD_ITEMS),
                Column("ended_date", _D, "行为终止日期", "date the behaviour ended", nullable=True),
            ),
        ),
        Table(
            "consents",
            "查询授权",
            "consents to query",
            "banks 银行",
            key="consent_id",
            entity="entity_id",
            date_column="granted_date",
            columns=(
                Column("consent_id", _S, "授权编号", "consent id"),
                _ENTITY_TYPE,
                _ENTITY_ID,
                Column("bank_code", _S, "银行代码", "bank code (configs: banks)"),
                Column("purpose", _S, "查询用途", "purpose", codes=CONSENT_PURPOSES),
                Column("granted_date", _D, "授权日期", "date granted", lo=DATA_START, hi=DATA_END),
                Column("expiry_date", _D, "到期日期", "expiry date"),
                Column("withdrawn_date", _D, "撤回日期", "date withdrawn", nullable=True),
            ),
            extra_checks=("expiry_date > granted_date",),
        ),
        Table(
            "disputes",
            "异议",
            "objections (disputes)",
            "credit platform 征信平台",
            key="dispute_id",
            entity="entity_id",
            date_column="opened_date",
            columns=(
                Column("dispute_id", _S, "异议编号", "dispute id"),
                _ENTITY_TYPE,
                _ENTITY_ID,
                Column("source_table", _S, "异议记录所在表", "table of the disputed record"),
                Column("source_record_id", _S, "异议记录编号", "id of the disputed record"),
                Column("opened_date", _D, "提出日期", "date opened", lo=DATA_START, hi=DATA_END),
                Column("reason", _S, "异议理由", "reason"),
                Column("resolved_date", _D, "处理日期", "date resolved", nullable=True),
                Column("outcome", _S, "处理结果", "outcome", nullable=True, codes=DISPUTE_OUTCOMES),
            ),
        ),
    )
}
"""Every raw table by name."""


def data_dictionary() -> pl.DataFrame:
    """The data dictionary: one row per table column.

    Examples
    --------
    >>> d = data_dictionary()
    >>> d.columns
    ['table', 'column', 'type', 'zh', 'en', 'unit', 'nullable', 'codes', 'personal']
    >>> d.filter(pl.col("personal")).get_column("column").to_list()
    ['head_id_number', 'head_name']
    """
    rows = [
        {
            "table": t.name,
            "column": c.name,
            "type": str(c.dtype),
            "zh": c.zh,
            "en": c.en,
            "unit": c.unit,
            "nullable": c.nullable,
            "codes": ", ".join(c.codes) if c.codes else "",
            "personal": c.personal,
        }
        for t in TABLES.values()
        for c in t.columns
    ]
    return pl.DataFrame(rows)


def data_dictionary_markdown() -> str:
    """The data dictionary as Markdown, one section per table.

    Examples
    --------
    >>> data_dictionary_markdown().splitlines()[0]
    '# Data dictionary: raw department records'
    """
    lines = ["# Data dictionary: raw department records", ""]
    for t in TABLES.values():
        lines += [
            f"## `{t.name}`: {t.zh} / {t.en}",
            "",
            f"Source: {t.source}. Record id: `{t.key}`."
            + (f" One submission per ({', '.join(t.natural_key)})." if t.natural_key else ""),
            "",
            "| column | type | 中文 | meaning | unit | nullable | codes |",
            "|---|---|---|---|---|---|---|",
        ]
        for c in t.columns:
            flag = " (personal data)" if c.personal else ""
            codes = ", ".join(c.codes) if c.codes else ""
            lines.append(
                f"| `{c.name}` | {c.dtype} | {c.zh} | {c.en}{flag} | {c.unit} | "
                f"{'yes' if c.nullable else 'no'} | {codes} |"
            )
        lines.append("")
    return "\n".join(lines)
