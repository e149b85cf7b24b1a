"""Deployment assets: Prometheus rules and config (promtool), the dashboard and alerts only use metrics that
casetrack exports, and the compose file wires what the runbook says."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from consumers.metrics import ConsumerMetrics
from ops.domain_metrics import DomainMetrics
from projections.calendar import WorkCalendar
from tests.tools import promtool

DEPLOY = Path(__file__).resolve().parents[2] / "ops" / "deploy"
PROM = DEPLOY / "prometheus"
_SUFFIXES = {"counter": ("_total", "_created"), "histogram": ("_bucket", "_sum", "_count", "_created")}


def _promtool() -> str:
    return promtool("Prometheus assets")


@pytest.mark.parametrize(
    "args",
    [
        ["check", "rules", "alerts.yml"],
        ["check", "config", "prometheus.yml"],
        ["test", "rules", "alerts_test.yml"],
    ],
    ids=["check-rules", "check-config", "test-rules"],
)
def test_promtool(args: list[str]) -> None:
    result = subprocess.run([_promtool(), *args], cwd=PROM, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def exported_samples() -> set[str]:
    """Every sample name casetrack's /metrics can carry."""
    registry = CollectorRegistry()
    ConsumerMetrics(registry)
    families = [*registry.collect(), *DomainMetrics("", WorkCalendar.load()).describe()]
    names = {"casetrack_ready"}
    for f in families:
        names.add(f.name + ("_total" if f.type == "counter" else ""))
        names.update(f.name + s for s in _SUFFIXES.get(f.type, ()))
    return names


def _referenced(text: str) -> set[str]:
    return set(re.findall(r"\bcasetrack_[a-z_]+\b", text))


def test_alerts_and_dashboard_use_exported_metrics() -> None:
    exported = exported_samples()
    dashboard = json.loads((DEPLOY / "grafana" / "dashboards" / "casetrack.json").read_text())
    exprs = " ".join(t["expr"] for p in dashboard["panels"] for t in p.get("targets", []))
    alerts = (PROM / "alerts.yml").read_text()
    for where, text in (("dashboard", exprs), ("alerts.yml", alerts)):
        unknown = _referenced(text) - exported
        assert not unknown, f"{where} refers to metrics casetrack does not export: {sorted(unknown)}"
    assert len(dashboard["panels"]) >= 20 and len({p["id"] for p in dashboard["panels"]}) == len(
        dashboard["panels"]
    )


def test_metric_names_follow_prometheus_conventions() -> None:
    registry = CollectorRegistry()
    ConsumerMetrics(registry)
    families = [*registry.collect(), *DomainMetrics("", WorkCalendar.load()).describe()]
    for f in families:
        assert f.name.startswith("casetrack_"), f.name
        assert f.documentation, f.name
        if f.type == "gauge":
            assert not f.name.endswith("_total"), f.name
        if {"ratio", "rate", "percent"} & set(f.name.split("_")):
            assert f.name.endswith("_ratio"), f.name
        assert not re.search(r"_(days|ms|milliseconds|minutes|hours|percent)$", f.name), f.name


def test_compose_wires_the_production_stack() -> None:
    text = (DEPLOY / "compose.yaml").read_text()
    for needle in (
        "image: apache/kafka:", "KAFKA_PROCESS_ROLES: broker,controller", "image: postgres:",
        "image: prom/prometheus:", "image: grafana/grafana:", "CASETRACK_KAFKA_BOOTSTRAP:",
        "CASETRACK_DATABASE_URL:", 'command: ["serve"]', "./prometheus/alerts.yml:/etc/prometheus/alerts.yml",
        "./grafana/dashboards:/var/lib/grafana/dashboards",
    ):  # fmt: skip
        assert needle in text, needle
    provider = (DEPLOY / "grafana" / "provisioning" / "dashboards" / "casetrack.yml").read_text()
    assert "path: /var/lib/grafana/dashboards" in provider
    assert (DEPLOY / "Dockerfile").read_text().count("COPY ") >= 6


def test_compose_is_valid_yaml() -> None:
    yaml = pytest.importorskip("yaml", reason="PyYAML is not installed: compose.yaml parsed only textually")
    doc = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    assert {"kafka-1", "kafka-2", "kafka-3", "postgres", "casetrack", "prometheus", "grafana"} <= set(
        doc["services"]
    )
    env = doc["services"]["casetrack"]["environment"]
    assert env["CASETRACK_METRICS_HOST"] == "0.0.0.0"
