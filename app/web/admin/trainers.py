"""Trainer accounts: list, create, deactivate."""
from __future__ import annotations

from flask import render_template, url_for

from app.services.staff import trainers as trainers_service
from app.web.access import admin_required
from app.web.admin.blueprint import bp
from app.web.admin.common import actor_id
from app.web.admin.crud import confirm_page, form_page
from app.web.admin.forms import TrainerForm


@bp.get("/trainers")
@admin_required
def trainers():
    return render_template("admin/trainers.html", rows=trainers_service.list_trainers())


@bp.route("/trainers/new", methods=["GET", "POST"])
@admin_required
def trainer_new():
    return form_page(
        TrainerForm(), "admin/trainer_form.html",
        lambda values: trainers_service.create_trainer(actor_id(), values),
        lambda user: (f"Trainer account for {user.full_name} ({user.email}) created.",
                      url_for("admin.trainers")))


@bp.route("/trainers/<id:user_id>/deactivate", methods=["GET", "POST"])
@admin_required
def trainer_deactivate(user_id: int):
    trainer = trainers_service.get_trainer(user_id)
    back = url_for("admin.trainers")
    return confirm_page(
        lambda: trainers_service.deactivate_trainer(actor_id(), user_id),
        done=back, refused=back, success=f"{trainer.full_name} can no longer sign in.",
        title=f"Deactivate {trainer.full_name}?",
        message=f"{trainer.full_name} will no longer be able to sign in. Their past sessions "
                "and the audit trail keep their name.",
        action=url_for("admin.trainer_deactivate", user_id=user_id),
        button="Yes, deactivate", back=back)
