"""Names and emails that differ only in the case of an accented letter ("É" and "é") are the
same on SQLite as on PostgreSQL (issue 13): SQLite's own lower() and ILIKE fold ASCII only."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from tests.factories import make_organization, make_user
from webapp.auth.operations import find_user
from webapp.extensions import db
from webapp.organizations import queries
from webapp.organizations.models import Organization


def test_lower_and_upper_fold_accented_letters_in_the_database(app):
    assert db.session.scalar(select(func.lower("ÉCOLE ÇA ØRE"))) == "école ça øre"
    assert db.session.scalar(select(func.upper("école"))) == "ÉCOLE"
    assert db.session.scalar(select(func.lower(None))) is None


def test_two_organizations_named_apart_only_by_an_accents_case_cannot_both_exist(app):
    make_organization("Éclair Pty")
    db.session.commit()
    with pytest.raises(IntegrityError):
        make_organization("éclair pty")
    db.session.rollback()
    names = db.session.scalars(select(Organization.name)).all()
    assert names == ["Éclair Pty"]


def test_a_sign_in_email_matches_whatever_the_case_of_its_accents(app):
    user = make_user(email="Élodie@exemple.fr")  # as typed at invitation
    db.session.commit()
    assert find_user("ÉLODIE@exemple.fr") == find_user("élodie@exemple.fr") == user


def test_search_matches_accented_names_in_either_case(app):
    make_organization("Élan Vital")
    make_organization("Other")
    db.session.commit()
    found, _more = queries.organizations(search="élan")
    assert [org.name for org in found] == ["Élan Vital"]
    found, _more = queries.organizations(search="ÉLAN")
    assert [org.name for org in found] == ["Élan Vital"]
