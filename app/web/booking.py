"""The booking journey pages."""
from flask import Blueprint, abort

bp = Blueprint("booking", __name__)


@bp.route("/sessions/<int:session_id>/book", methods=["GET", "POST"])
def start(session_id: int):
    """Booking form for one session (built by the booking work)."""
    abort(404)
