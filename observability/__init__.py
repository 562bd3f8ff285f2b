"""observability: bootstrap and operate logging and metrics for Go microservices on Kubernetes."""

__version__ = "0.1.0"
