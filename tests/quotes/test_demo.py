"""The quoting demo loads on top of the demo seed and sends a quote."""

from __future__ import annotations

from sqlalchemy import select

from webapp.demo.seed import seed
from webapp.extensions import db
from webapp.quotes.demo import seed_quotes
from webapp.quotes.models import Quote, QuoteStatus, QuoteTemplate


def test_the_demo_has_templates_and_a_sent_quote(app, tmp_path):
    seed(300, tmp_path / "feeds", echo=lambda _line: None)
    seed_quotes(echo=lambda _line: None)
    db.session.commit()
    names = db.session.scalars(select(QuoteTemplate.name).order_by(QuoteTemplate.name)).all()
    assert names == ["Managed services onboarding", "Workstation refresh"]
    quote = db.session.scalars(select(Quote)).one()
    assert quote.status is QuoteStatus.SENT
    assert [s.title for s in quote.sections] == ["Laptop", "Set-up and support"]
    assert quote.sections[0].choose_one and len(quote.sections[0].lines) == 2
    seed_quotes(echo=lambda _line: None)  # a second run adds nothing
    assert len(db.session.scalars(select(QuoteTemplate)).all()) == 2
