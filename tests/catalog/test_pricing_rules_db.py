from decimal import Decimal

import pytest
from sqlalchemy.exc import IntegrityError

from tests.factories import make_category, make_organization
from webapp.catalog.models import PricingRule
from webapp.extensions import db


def test_database_refuses_two_rules_for_the_same_scope_even_with_empty_parts(app):
    category = make_category()
    db.session.add(PricingRule(category_id=category.id, markup_pct=Decimal("10")))
    db.session.commit()
    db.session.add(PricingRule(category_id=category.id, markup_pct=Decimal("12")))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_database_refuses_organization_names_differing_only_in_case(app):
    make_organization("Contoso Dental")
    db.session.commit()
    with pytest.raises(IntegrityError):
        make_organization("CONTOSO dental")
    db.session.rollback()
