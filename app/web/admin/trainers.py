"""Trainer accounts: list, create, deactivate."""
from __future__ import annotations

from flask import redirect, render_template, request, url_for

from app.services.staff import trainers as trainers_service
from app.services.core.errors import DomainError
from app.web.access import admin_required
from app.web.admin.blueprint import bp
from app.web.admin.common import (
    actor_id, flash_error, flash_success, form_data, is_confirmed, show_error,
)
from app.web.admin.forms import ConfirmForm, TrainerForm
from app.web.htmx import see_other


@bp.get("/trainers")
@admin_required
def trainers():
    return render_template("admin/trainers.html", rows=trainers_service.list_trainers())


@bp.route("/trainers/new", methods=["GET", "POST"])
@admin_required
def trainer_new():
    form = TrainerForm()
    problem = None
    if form.validate_on_submit():
        try:
            user = trainers_service.create_trainer(actor_id(), form_data(form))
        except DomainError as exc:
            problem = show_error(form, exc)
        else:
            flash_success(f"Trainer account for {user.full_name} ({user.email}) created.")
            return redirect(url_for("admin.trainers"), code=303)
    return render_template("admin/trainer_form.html", form=form, problem=problem), \
        422 if request.method == "POST" else 200


@bp.route("/trainers/<int:user_id>/deactivate", methods=["GET", "POST"])
@admin_required
def trainer_deactivate(user_id: int):
    trainer = trainers_service.get_trainer(user_id)
    form = ConfirmForm()
    if request.method == "POST" and form.validate_on_submit() and is_confirmed():
        try:
            trainers_service.deactivate_trainer(actor_id(), user_id)
        except DomainError as exc:
            flash_error(exc.message)
        else:
            flash_success(f"{trainer.full_name} can no longer sign in.")
        return see_other(url_for("admin.trainers"))
    return render_template(
        "admin/confirm.html", form=form, title=f"Deactivate {trainer.full_name}?",
        message=f"{trainer.full_name} will no longer be able to sign in. Their past sessions "
                "and the audit trail keep their name.",
        action=url_for("admin.trainer_deactivate", user_id=user_id),
        button="Yes, deactivate", back=url_for("admin.trainers"))
