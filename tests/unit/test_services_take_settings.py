"""Services take settings, not Flask: nothing under app/services asks Flask for the
current app, renders through Flask or reads the request."""
import re
from pathlib import Path

SERVICES = Path(__file__).resolve().parents[2] / "app" / "services"
# The check the project's guide gives, plus any import of flask itself
# (flask_mailman, the mail library, is not Flask).
FORBIDDEN = re.compile(r"current_app|render_template|from flask import request"
                       r"|^\s*(from flask(\.\w+)* import|import flask\b)", re.MULTILINE)


def test_no_service_module_reaches_for_flask():
    modules = sorted(SERVICES.rglob("*.py"))
    assert len(modules) > 30  # the walk found the services
    offending = [f"{path.relative_to(SERVICES.parent.parent)}:"
                 f"{text.count(chr(10), 0, match.start()) + 1}: {match.group(0).strip()}"
                 for path in modules
                 for text in [path.read_text(encoding="utf-8")]
                 for match in FORBIDDEN.finditer(text)]
    assert offending == []
