"""parse_stack: valid specs load, and every kind of mistake is reported as file:line path: fix."""

from __future__ import annotations

import textwrap

import pytest

from observability.errors import SpecError
from observability.spec import parse_stack


def problems(text: str) -> list[str]:
    with pytest.raises(SpecError) as info:
        parse_stack(textwrap.dedent(text), source="stack.yaml")
    return info.value.problems


def test_example_spec_is_valid(example_spec_path):
    stack = parse_stack(example_spec_path.read_text(), source=str(example_spec_path))
    assert stack.cluster.name == "prod-eu-1"
    assert [s.name for s in stack.services] == ["checkout", "catalog"]
    assert stack.services[0].slo is not None and stack.services[0].slo.availability == 99.9
    assert stack.alerting.routing is not None and stack.alerting.routing.severity["page"] == "oncall"


def test_minimal_spec_gets_defaults():
    stack = parse_stack("cluster: {name: dev}\n")
    assert stack.cluster.namespace == "observability"
    assert stack.logging.kafka.topic_partitions(stack.logging.kafka.topics.logs) == 12
    assert stack.logging.kafka.topic_partitions(stack.logging.kafka.topics.dead_letter) == 3


def test_out_of_range_value_names_line_path_and_bound():
    found = problems(
        """\
        cluster:
          name: dev
        logging:
          kafka:
            partitions: 0
        """
    )
    assert found == ["stack.yaml:5 logging.kafka.partitions: must be ≥ 1, got 0"]


def test_unknown_key_suggests_the_close_one():
    found = problems(
        """\
        cluster:
          name: dev
          namespce: obs
        """
    )
    assert found == ["stack.yaml:3 cluster.namespce: unknown key (did you mean 'namespace'?)"]


def test_unknown_key_without_close_match_lists_valid_keys():
    found = problems("cluster: {name: dev}\nzzz: 1\n")
    assert found[0].startswith("stack.yaml:2 zzz: unknown key; valid keys here: alerting, cluster,")


def test_missing_required_field():
    assert problems("cluster: {namespace: x}\n") == [
        "stack.yaml:1 cluster.name: required field is missing; add it"
    ]


def test_every_problem_is_reported_not_just_the_first():
    found = problems(
        """\
        cluster: {name: dev}
        metrics:
          prometheus:
            retention: 15 days
        services:
          - name: Checkout
            namespace: shop
            selector: {app: checkout}
            metrics: {port: 99999}
        """
    )
    assert len(found) == 3
    assert found[0].startswith("stack.yaml:4 metrics.prometheus.retention: must be a duration")
    assert found[1].startswith("stack.yaml:6 services[0].name: must be a DNS label")
    assert found[2] == "stack.yaml:9 services[0].metrics.port: must be a port between 1 and 65535, got 99999"


def test_duplicate_key_is_an_error_not_a_silent_override():
    found = problems("cluster:\n  name: a\n  name: b\n")
    assert found == [
        "stack.yaml:3 cluster.name: duplicate key; it is already set on line 2 — keep one of them"
    ]


def test_invalid_yaml_names_the_line():
    found = problems("cluster:\n  name: [unclosed\n")
    assert found[0].startswith("stack.yaml:3: invalid YAML")


def test_empty_and_non_mapping_files():
    assert "empty" in problems("")[0]
    assert "top level must be a mapping" in problems("- a\n- b\n")[0]


def test_receiver_references_are_checked():
    found = problems(
        """\
        cluster: {name: dev}
        alerting:
          receivers:
            - name: ops
              webhook: {url_secret: {name: hooks, key: url}}
          routing: {default: nobody}
        """
    )
    assert found == [
        "stack.yaml:2 alerting: routing.default refers to receiver 'nobody', which is not in receivers (ops)"
    ]


def test_receiver_needs_exactly_one_kind():
    found = problems(
        """\
        cluster: {name: dev}
        alerting:
          receivers:
            - name: ops
          routing: {default: ops}
        """
    )
    assert "must set exactly one of webhook, slack, email, pagerduty; got none" in found[0]


def test_credentials_are_secret_references_not_literals():
    found = problems(
        """\
        cluster: {name: dev}
        alerting:
          receivers:
            - name: ops
              slack: {channel: "#ops", api_url: "https://hooks.slack.com/x"}
          routing: {default: ops}
        """
    )
    assert any("api_url: unknown key (did you mean 'api_url_secret'?)" in p for p in found)


def test_external_mode_requires_endpoint():
    found = problems("cluster: {name: dev}\nlogging:\n  elasticsearch: {mode: external}\n")
    assert found == [
        "stack.yaml:3 logging.elasticsearch: mode is 'external', so 'external.url' must say where Elasticsearch runs"
    ]


def test_unpinned_image_is_rejected():
    found = problems("cluster: {name: dev}\nmetrics:\n  grafana: {image: grafana/grafana}\n")
    assert "must pin a tag or digest" in found[0]


def test_replication_cannot_exceed_brokers():
    found = problems("cluster: {name: dev}\nlogging:\n  kafka: {replicas: 1, replication: 3}\n")
    assert "exceeds 1 broker replicas" in found[0]


def test_dead_letter_topic_cannot_be_a_routed_topic():
    found = problems(
        """\
        cluster: {name: dev}
        logging:
          filebeat: {topic_routing: namespace}
          kafka:
            topics: {dead_letter: {name: logs.dead}}
        """
    )
    assert "starts with 'logs.', the prefix of routed topics the processor consumes" in found[0]


def service_with_port(port: str) -> str:
    return f"""\
        cluster: {{name: dev}}
        services:
          - name: checkout
            namespace: shop
            selector: {{app: checkout}}
            metrics:
              port: {port}
        """


def test_a_quoted_port_number_is_an_error_with_the_unquoted_fix():
    # Quoted, 8080 would be a port *name*; Prometheus would look for a container port named "8080" and
    # never scrape the service.
    found = problems(service_with_port('"8080"'))
    assert len(found) == 1
    assert found[0].startswith("stack.yaml:7 services[0].metrics.port: '8080' is quoted")
    assert found[0].endswith("did you mean port: 8080 without quotes?")


@pytest.mark.parametrize("name", ["http", "http-metrics", "metrics", "m9090", "9090m", "a-b-c", "abcdefghijklmno"])
def test_valid_port_names_are_accepted(name):
    stack = parse_stack(textwrap.dedent(service_with_port(name)))
    assert stack.services[0].metrics.port == name


def test_an_unquoted_port_number_stays_a_number():
    assert parse_stack(textwrap.dedent(service_with_port("8080"))).services[0].metrics.port == 8080


# The rule of Kubernetes' IsValidPortName (kubernetes/kubernetes
# staging/src/k8s.io/apimachinery/pkg/util/validation/validation.go), i.e. RFC 6335 §5.1 service names.
@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("abcdefghijklmnop", "must be 1 to 15 characters, got 16"),
        ('"1-2"', "must contain at least one letter"),
        ("http--metrics", "must not contain '--' (did you mean 'http-metrics'?)"),
        ("-http", "must not begin or end with '-' (did you mean 'http'?)"),
        ("http-", "must not begin or end with '-' (did you mean 'http'?)"),
        ("HTTP", "may contain only lowercase letters, digits and '-' (did you mean 'http'?)"),
        ("http_metrics", "may contain only lowercase letters, digits and '-' (did you mean 'http-metrics'?)"),
        ('"http metrics"', "may contain only lowercase letters, digits and '-' (did you mean 'http-metrics'?)"),
    ],
)
def test_invalid_port_names_are_errors_naming_the_rule(name, expected):
    found = problems(service_with_port(name))
    assert len(found) == 1
    assert found[0].startswith("stack.yaml:7 services[0].metrics.port: ")
    assert "is not a valid container port name: " in found[0]
    assert found[0].endswith(expected)
