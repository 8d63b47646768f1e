from sqlalchemy import select

from tests.factories import make_product
from webapp.extensions import db
from webapp.purchasing.demo import OFFICER_EMAIL, seed_purchasing
from webapp.purchasing.models import BidPrice, StockItem
from webapp.settings.operations import get_setting


def test_seed_purchasing_adds_stock_a_bid_and_the_officer_once(store):
    make_product(category=store.category, brand=store.brand, cost="80.00", supplier=store.supplier)
    store.supplier.email = ""
    seed_purchasing(echo=lambda _text: None)
    seed_purchasing(echo=lambda _text: None)
    db.session.commit()
    assert len(db.session.scalars(select(StockItem)).all()) == 3
    [bid] = db.session.scalars(select(BidPrice)).all()
    assert bid.organization == store.org
    assert store.supplier.email == "orders@ingram.example"
    assert get_setting("purchasing_officer_email") == OFFICER_EMAIL
