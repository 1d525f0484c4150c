"""Who may see what: decorators for staff pages.

Anonymous users are sent to the login page; signed-in users without the role
get 403. Object-level checks (a trainer's own sessions) live in the services,
which are given the current user explicitly.
"""
from __future__ import annotations

from functools import wraps

from flask import abort
from flask_login import current_user, login_required

from app.models import Role


def role_required(*roles: Role):
    """Allow signed-in, active users holding one of `roles`."""
    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if not current_user.is_active or current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)
        return wrapped
    return decorator


admin_required = role_required(Role.ADMIN)
staff_required = role_required(Role.ADMIN, Role.TRAINER)
