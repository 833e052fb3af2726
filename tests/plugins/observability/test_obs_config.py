"""The iii-observability config block: defaults, upstream blocks, errors naming the key path."""

from __future__ import annotations

from pathlib import Path

import pytest

from iii_engine.config.plan import make_plan
from iii_engine.config.plugin_manager import PluginManager
from iii_engine.config.schema import parse_config
from iii_sdk.errors import ConfigError
from plugins.observability.config import ObservabilityConfig

UPSTREAM = """
workers:
  - name: iii-worker-manager
    config: {port: 0}
  - name: iii-observability
    config:
      enabled: ${OTEL_ENABLED:true}
      service_name: ${OTEL_SERVICE_NAME:iii-test}
      service_version: ${SERVICE_VERSION:0.2.0}
      exporter: ${OTEL_EXPORTER_TYPE:memory}
      endpoint: ${OTEL_EXPORTER_OTLP_ENDPOINT:http://localhost:4317}
      sampling_ratio: 1.0
      memory_max_spans: ${OTEL_MEMORY_MAX_SPANS:10000}
      metrics_enabled: true
      metrics_exporter: ${OTEL_METRICS_EXPORTER:memory}
      metrics_retention_seconds: 3600
      metrics_max_count: 10000
      logs_enabled: ${OTEL_LOGS_ENABLED:true}
      logs_exporter: ${OTEL_LOGS_EXPORTER:memory}
      logs_max_count: ${OTEL_LOGS_MAX_COUNT:1000}
      logs_retention_seconds: ${OTEL_LOGS_RETENTION_SECONDS:3600}
      logs_sampling_ratio: ${OTEL_LOGS_SAMPLING_RATIO:1.0}
      logs_console_output: ${OTEL_LOGS_CONSOLE_OUTPUT:false}
      sampling:
        default: 0.5
        parent_based: true
        rules: [{operation: "call math::*", rate: 1.0}, {service: "billing", rate: 0.1}]
        rate_limit: {max_traces_per_second: 100}
      trace_storage: {enabled: false, retention_seconds: 600}
      alerts: [{name: errors, metric: error_rate, threshold: 0.1, operator: ">"}]
      level: info
      format: json
"""


def _plan(text: str) -> ObservabilityConfig:
    plugins = PluginManager()
    plugins.load()
    plan = make_plan(parse_config(text, base_dir=Path()), plugins)
    config = plan.builtins["iii-observability"].config
    assert isinstance(config, ObservabilityConfig)
    return config


def test_upstream_block_loads_unchanged() -> None:
    config = _plan(UPSTREAM)
    assert config.enabled is True
    assert config.service_name == "iii-test"
    assert config.service_version == "0.2.0"
    assert config.memory_max_spans == 10000
    assert config.logs_console_output is False
    assert config.default_ratio == 0.5
    assert config.sampling is not None and config.sampling.rules[0].operation == "call math::*"
    assert config.trace_storage.retention_seconds == 600
    assert config.format == "json"


def test_on_by_default_with_memory_exporters_even_without_an_entry() -> None:
    config = _plan("workers:\n  - name: iii-worker-manager\n")
    assert config == ObservabilityConfig()
    assert config.enabled and config.exporter == "memory" and config.logs_exporter == "memory"
    assert config.sampling_ratio == 1.0
    assert config.prometheus.enabled is False and config.prometheus.port == 9464


def test_it_runs_first_and_its_alias_is_accepted() -> None:
    plugins = PluginManager()
    plugins.load()
    text = "workers:\n  - name: iii-state\n  - name: observability\n    config: {enabled: false}\n"
    plan = make_plan(parse_config(text, base_dir=Path()), plugins)
    assert next(iter(plan.builtins)) == "observability"
    assert plan.builtins["observability"].config.enabled is False


@pytest.mark.parametrize(
    ("block", "where"),
    [
        ("{bogus: 1}", "workers[0].config.bogus"),
        ("{sampling: {rules: [{rate: 0.5, oops: 1}]}}", "workers[0].config.sampling.rules[0].oops"),
        ("{trace_storage: {nope: true}}", "workers[0].config.trace_storage.nope"),
        ("{sampling_ratio: 1.5}", "workers[0].config.sampling_ratio"),
        ("{exporter: jaeger}", "workers[0].config.exporter"),
        ("{metrics_exporter: prometheus}", "workers[0].config.metrics_exporter"),
        ("{memory_max_spans: 0}", "workers[0].config.memory_max_spans"),
        ("{prometheus: {port: http}}", "workers[0].config.prometheus.port"),
    ],
)
def test_bad_keys_are_rejected_with_their_path(block: str, where: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _plan(f"workers:\n  - name: iii-observability\n    config: {block}\n")
    assert where in str(caught.value)
