"""The price arithmetic: one discount, the larger, and a note only when it is true."""
from app.models.discount import DiscountCode, DiscountKind
from app.services.pricing.price import GroupDiscount, price_booking

TEN_PERCENT_FOR_FIVE = GroupDiscount(percent=10, min_seats=5)


def code(percent: int) -> DiscountCode:
    return DiscountCode(code="SAVE", kind=DiscountKind.PERCENT, percent=percent)


def test_the_larger_group_discount_wins_and_says_so():
    price = price_booking(10000, 5, group=TEN_PERCENT_FOR_FIVE, code=code(5))
    assert (price.discount_source, price.discount_pence, price.amount_pence) == ("group", 5000, 45000)
    assert price.note and "group discount is larger" in price.note


def test_the_larger_code_wins_without_a_note():
    price = price_booking(10000, 5, group=TEN_PERCENT_FOR_FIVE, code=code(20))
    assert (price.discount_source, price.amount_pence, price.note) == ("code", 40000, None)


def test_a_code_worth_nothing_here_claims_no_group_discount_that_is_not_there():
    price = price_booking(40, 1, group=TEN_PERCENT_FOR_FIVE, code=code(1))  # 1% of 40p: 0p
    assert (price.discount_source, price.amount_pence, price.note) == (None, 40, None)
