"""Apply layer (I/O): connect to Elasticsearch and create the log index template and ILM policy.

Used by `obs process` at start (and `--setup-only`). Both PUTs are idempotent: the same processor.yaml
always produces the same bodies (render/elasticsearch.py), so every replica can run them on every start.
Client exceptions are translated into RemoteError/PipelineError with what to check.
"""

from __future__ import annotations

from elasticsearch import ApiError, Elasticsearch, TransportError
from elasticsearch.serializer import OrjsonSerializer

from observability.errors import RemoteError, connection_failure
from observability.render.elasticsearch import ilm_policy_body, index_template_body, template_names
from observability.spec.model import duration_seconds
from observability.spec.processor import ElasticsearchSettings


def connect_elasticsearch(settings: ElasticsearchSettings) -> Elasticsearch:
    """An official client for the configured URL and credentials; retries are the sink's job, so none here."""
    auth: dict[str, object] = {}
    if settings.api_key is not None:
        auth["api_key"] = settings.api_key.get_secret_value()
    elif settings.username is not None or settings.password is not None:
        username = settings.username.get_secret_value() if settings.username else "elastic"
        password = settings.password.get_secret_value() if settings.password else ""
        auth["basic_auth"] = (username, password)
    return Elasticsearch(
        settings.url,
        request_timeout=duration_seconds(settings.request_timeout),
        max_retries=0,
        retry_on_timeout=False,
        verify_certs=not settings.tls_skip_verify,
        ssl_show_warn=not settings.tls_skip_verify,
        http_compress=False,
        # orjson instead of the json module for responses: a `_bulk` answer has one object per event.
        serializer=OrjsonSerializer(),
        **auth,  # type: ignore[arg-type]
    )


def ensure_log_templates(client: Elasticsearch, settings: ElasticsearchSettings) -> list[str]:
    """PUT the ILM policy, then the index template that refers to it; returns one line per object."""
    template, policy, patterns = template_names(settings.data_stream_dataset, settings.index)
    rollover = settings.index is None
    try:
        client.ilm.put_lifecycle(name=policy, policy=ilm_policy_body(settings.retention, rollover)["policy"])
        body = index_template_body(settings.data_stream_dataset, settings.index, settings.retention)
        client.indices.put_index_template(name=template, **body)
    except ApiError as e:
        hint = (
            "check OBS_PROCESSOR_ELASTICSEARCH_USERNAME/PASSWORD (the user needs manage_ilm and "
            "manage_index_templates)" if e.meta.status in (401, 403) else "see the Elasticsearch error above"
        )
        raise RemoteError(
            f"Elasticsearch {settings.url} refused to create index template {template!r} / ILM policy "
            f"{policy!r}: {e.meta.status} {str(e)[:300]}", status=e.meta.status, hint=hint,
        ) from e
    except TransportError as e:
        raise RemoteError(
            f"cannot reach Elasticsearch at {settings.url} to create index template {template!r}: "
            f"{connection_failure(e)}",
            hint="check elasticsearch.url (or OBS_PROCESSOR_ELASTICSEARCH_URL) and that Elasticsearch is up",
        ) from e
    return [
        f"ILM policy {policy}: delete after {settings.retention}" + (", rollover daily or at 50gb" if rollover else ""),
        f"index template {template}: {', '.join(patterns)}" + (" (data stream)" if rollover else ""),
    ]
