"""I/O adapters layer: talk to the systems the stack runs on (Kubernetes, Grafana, Prometheus, Elasticsearch).

Each adapter mirrors the render module for the same target system; third-party errors are translated
into ObservabilityError subclasses at this boundary.
"""
