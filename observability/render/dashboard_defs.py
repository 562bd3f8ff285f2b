"""Render layer (PURE): the dashboard definition format read from dashboards/*.yaml.

A definition is a compact, reviewable description of one Grafana dashboard: variables, then a flat
list of rows and panels laid out left to right. `render/dashboards.py` compiles it to Grafana JSON.
The models forbid unknown keys so a typo is an error with file:line, never a silently missing panel.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, field_validator, model_validator

PanelType = Literal["timeseries", "stat", "table", "logs"]
DatasourceType = Literal["prometheus", "elasticsearch", "alertmanager"]
Component = Literal[
    "node-exporter", "kube-state-metrics", "kafka-exporter", "filebeat", "elasticsearch", "kubernetes"
]
"""Components a panel may need that do not run in the local query test (see `Needs`)."""

_UID = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
_VAR_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Variable(_Strict):
    """A template variable. `datasource` picks a datasource of a type; `query` asks one; `custom` lists values."""

    name: str
    type: Literal["datasource", "query", "custom"]
    label: str | None = None
    datasource_type: DatasourceType | None = Field(default=None, description="for type: datasource")
    datasource: str | None = Field(default=None, description="for type: query; name of a datasource variable")
    query: str | None = Field(default=None, description="label_values(...) for Prometheus, a terms query for ES")
    values: list[str] = Field(default_factory=list, description="for type: custom; the first is the default")
    multi: bool = False
    include_all: bool = False
    hide: bool = False

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not _VAR_NAME.match(v):
            raise ValueError(f"must be a variable name (letters, digits, '_'), got {v!r}")
        return v

    @model_validator(mode="after")
    def _fields_for_type(self) -> Variable:
        need = {"datasource": ("datasource_type",), "query": ("query",), "custom": ("values",)}[self.type]
        for key in need:
            if not getattr(self, key):
                raise ValueError(f"variable {self.name!r} of type {self.type} needs '{key}'")
        if self.type == "datasource" and self.include_all:
            raise ValueError(f"variable {self.name!r}: a datasource variable cannot include 'All'")
        return self


class PromQuery(_Strict):
    """One PromQL target. `instant` asks for a single value (tables, stats of totals)."""

    expr: str
    legend: str | None = None
    instant: bool = False
    column: str | None = Field(default=None, description="tables: the header of this query's value column")
    unit: str | None = Field(default=None, description="tables: unit of this query's column (default: the panel's)")


class EsQuery(_Strict):
    """One Elasticsearch target: a Lucene query, counted and optionally grouped by fields (terms)."""

    lucene: str = "*"
    group_by: list[str] = Field(default_factory=list, description="terms aggregations, outermost first")
    size: int = Field(default=10, ge=1, le=500, description="top N buckets of each terms aggregation")
    limit: int = Field(default=100, ge=1, le=10000, description="logs panels: how many documents")


class Threshold(_Strict):
    value: float | None = Field(description="null = the base colour below the first threshold")
    color: str


class Needs(_Strict):
    """Why a panel cannot be proven by the local query test: the component it needs does not run here."""

    component: Component
    reason: str = Field(min_length=10)


class Panel(_Strict):
    type: PanelType
    title: str = Field(min_length=1)
    description: str = ""
    datasource: str | None = Field(default=None, description="name of a datasource variable; default: the first")
    unit: str | None = Field(default=None, description="Grafana unit id: reqps, percentunit, s, bytes, short, ...")
    width: int = Field(default=12, ge=1, le=24, description="grid columns of 24")
    height: int = Field(default=8, ge=2, le=40)
    queries: list[Annotated[
        Annotated[PromQuery, Tag("prom")] | Annotated[EsQuery, Tag("es")],
        Discriminator(lambda v: "prom" if not isinstance(v, dict) or "expr" in v else "es"),
    ]] = Field(min_length=1)
    min: float | None = None
    max: float | None = None
    decimals: int | None = Field(default=None, ge=0, le=10)
    stack: bool = False
    thresholds: list[Threshold] = Field(default_factory=list)
    hide_columns: list[str] = Field(default_factory=list, description="tables: columns to hide, e.g. Time")
    needs: Needs | None = None

    @model_validator(mode="after")
    def _units(self) -> Panel:
        if self.type != "logs" and not self.unit:
            raise ValueError(f"panel {self.title!r}: set 'unit' (e.g. reqps, s, bytes, percentunit, short)")
        if self.type == "logs" and self.unit:
            raise ValueError(f"panel {self.title!r}: logs panels show text; remove 'unit'")
        return self


class Row(_Strict):
    row: str = Field(min_length=1, description="a row header; panels after it belong to it")


def _panel_or_row(value: Any) -> str:
    return "row" if isinstance(value, dict) and "row" in value else "panel"


class Definition(_Strict):
    """One dashboard. The uid defaults to the file name; keep it stable so links and history survive."""

    uid: str | None = None
    title: str = Field(min_length=1)
    description: str = ""
    tags: list[str] = Field(default_factory=list)
    refresh: str = "30s"
    time_from: str = Field(default="now-6h", description="default time range start, e.g. now-6h")
    variables: list[Variable] = Field(min_length=1)
    panels: list[Annotated[
        Annotated[Row, Tag("row")] | Annotated[Panel, Tag("panel")],
        Discriminator(_panel_or_row),
    ]] = Field(min_length=1)

    @field_validator("uid")
    @classmethod
    def _uid(cls, v: str | None) -> str | None:
        if v is not None and not _UID.match(v):
            raise ValueError(f"must be 1–40 letters, digits, '-' or '_', got {v!r}")
        return v

    @model_validator(mode="after")
    def _references(self) -> Definition:
        names = [v.name for v in self.variables]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"variable names must be unique; duplicated: {', '.join(dupes)}")
        sources = {v.name: v.datasource_type for v in self.variables if v.type == "datasource"}
        if not sources:
            raise ValueError("add a variable of type: datasource so the dashboard works with any datasource")
        for var in self.variables:
            if var.type == "query" and var.datasource is not None and var.datasource not in sources:
                raise ValueError(
                    f"variable {var.name!r} uses datasource {var.datasource!r}, which is not a datasource "
                    f"variable ({', '.join(sources)})"
                )
        return self

    def panel_problems(self) -> list[tuple[int, str]]:
        """(index in panels, message) for panels whose datasource or queries do not fit together."""
        sources = {v.name: v.datasource_type for v in self.variables if v.type == "datasource"}
        out = []
        for index, panel in enumerate(self.panels):
            if isinstance(panel, Panel):
                message = _panel_problem(panel, sources)
                if message:
                    out.append((index, message))
        return out

    def datasource_of(self, panel: Panel) -> tuple[str, DatasourceType]:
        """The datasource variable a panel queries and its type."""
        sources = [(v.name, v.datasource_type) for v in self.variables if v.type == "datasource"]
        name = panel.datasource or sources[0][0]
        kind = dict(sources)[name]
        assert kind is not None  # guaranteed by Variable validation
        return name, kind


def _panel_problem(panel: Panel, sources: dict[str, DatasourceType | None]) -> str | None:
    name = panel.datasource or next(iter(sources))
    if name not in sources:
        return f"datasource {name!r} is not a datasource variable ({', '.join(sources)})"
    kind = sources[name]
    if panel.type == "logs" and kind != "elasticsearch":
        return "logs panels read documents, so use an elasticsearch datasource (datasource: <its variable>)"
    expected = EsQuery if kind == "elasticsearch" else PromQuery
    for query in panel.queries:
        if not isinstance(query, expected):
            return f"queries of a {kind} datasource are written with '{'lucene' if expected is EsQuery else 'expr'}:'"
    return None
