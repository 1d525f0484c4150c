"""The admin blueprint object, in a module of its own so that the route modules
can import it without importing the package that imports them."""
from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")
