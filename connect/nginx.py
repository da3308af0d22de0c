"""The nginx configuration shipped in deploy/, filled in for one deployment.

Pure text: no Django settings are read here, so the bench and the tests render
it for their own ports as `manage.py nginx_config` does for an operator.
"""

import re
from collections.abc import Sequence
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parent.parent / "deploy" / "nginx.conf.template"
MIME_TYPES = "/etc/nginx/mime.types"
PLACEHOLDER = re.compile(r"@[A-Z_]+@")
# A response library import (routing.response_io.MAX_FILE_BYTES) and its form around it.
ADMIN_MAX_BODY_BYTES = 2 * 1024 * 1024
# An agent's Send with its files: 25 MB of files (routing.outbound_files) and the form.
SEND_MAX_BODY_BYTES = 26 * 1024 * 1024


def render(
    *,
    listen: str,
    upstreams: Sequence[str],
    static_root: Path | str,
    runtime_dir: Path | str,
    max_body_bytes: int,
    mime_types: str = MIME_TYPES,
) -> str:
    """nginx.conf for nginx on `listen` in front of the daphne processes at `upstreams`.

    `max_body_bytes` is FACEBOOK_WEBHOOK_MAX_BYTES; `runtime_dir` holds the pid
    file, the logs and nginx's buffers.
    """
    if not upstreams:
        raise ValueError("nginx needs at least one daphne process to pass to")
    values = {
        "LISTEN": listen,
        "UPSTREAM_SERVERS": "\n".join(f"        server {address};" for address in upstreams),
        "STATIC_ROOT": str(Path(static_root).resolve()),
        "RUNTIME_DIR": str(Path(runtime_dir).resolve()),
        "MAX_BODY_BYTES": str(max_body_bytes),
        "ADMIN_MAX_BODY_BYTES": str(max(ADMIN_MAX_BODY_BYTES, max_body_bytes)),
        "SEND_MAX_BODY_BYTES": str(max(SEND_MAX_BODY_BYTES, max_body_bytes)),
        "MIME_TYPES": mime_types,
    }
    text = TEMPLATE.read_text()
    for name, value in values.items():
        text = text.replace(f"@{name}@", value)
    if leftover := PLACEHOLDER.findall(text):
        raise ValueError(f"unfilled placeholders in {TEMPLATE.name}: {leftover}")
    return text
