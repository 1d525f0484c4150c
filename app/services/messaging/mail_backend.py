"""The embedded mail transport: every message becomes one ``.eml`` file under
MAIL_FILE_PATH (instance/mail/ by default), readable by any mail client.

Selected with ``MAIL_BACKEND=file`` (the default when no MAIL_SERVER is set).
Files are written under a temporary name and renamed, so a reader never sees
half a message.
"""
from __future__ import annotations

import os
import uuid
from datetime import datetime, timezone

from flask_mailman.backends.base import BaseEmailBackend


class EmailBackend(BaseEmailBackend):
    def __init__(self, *args, file_path: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.file_path = os.path.abspath(file_path or self.mailman.file_path)
        os.makedirs(self.file_path, exist_ok=True)

    def send_messages(self, email_messages) -> int:
        sent = 0
        for message in email_messages:
            stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
            name = f"{stamp}-{uuid.uuid4().hex[:8]}.eml"
            final = os.path.join(self.file_path, name)
            partial = final + ".part"
            with open(partial, "wb") as fh:
                fh.write(message.message().as_bytes(linesep="\r\n"))
            os.replace(partial, final)
            sent += 1
        return sent
