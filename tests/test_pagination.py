"""The one paginator: LIMIT n + 1 tells whether another page follows, without a count."""

from sqlalchemy import select

from tests.factories import make_organization, make_user
from webapp.auth.models import User
from webapp.extensions import db
from webapp.organizations.models import Organization
from webapp.pagination import page_of


def test_pages_cover_every_row_once_and_only_the_last_has_no_next(app):
    for n in range(7):
        make_organization(f"Org {n}")
    db.session.flush()
    query = select(Organization).order_by(Organization.id)
    pages = [page_of(query, number, 3) for number in (1, 2, 3, 4)]
    assert [len(items) for items, _ in pages] == [3, 3, 1, 0]
    assert [has_next for _, has_next in pages] == [True, True, False, False]
    seen = [org.id for items, _ in pages for org in items]
    assert seen == sorted(seen) and len(set(seen)) == 7


def test_a_page_exactly_full_says_nothing_follows(app):
    for n in range(3):
        make_organization(f"Org {n}")
    db.session.flush()
    items, has_next = page_of(select(Organization), 1, 3)
    assert (len(items), has_next) == (3, False)


def test_whole_rows_come_back_as_tuples(app):
    org = make_organization("Acme")
    make_user(organization=org)
    db.session.flush()
    items, has_next = page_of(
        select(User, Organization).join(Organization, User.organization_id == Organization.id),
        1,
        10,
        rows=True,
    )
    assert has_next is False
    assert [type(item) for item in items] == [tuple]
    assert items[0][1] is org
