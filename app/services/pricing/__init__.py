"""What a booking costs: the one place its price is worked out.

    price.py      the arithmetic (list price, group discount, a code, which applies)
    quotes.py     a booking's price for a session, seats, code and email: shown on the
                  booking form and checked again, under the code's lock, by the hold
    discounts.py  discount codes for staff: create, edit, deactivate, their uses

The hold stores the result on the booking (`amount_pence` after the discount,
`discount_pence`, `discount_code_id`); payments, receipts, invoices, refunds and
analytics read those and never work a price out again.
"""
from app.services.pricing.price import GroupDiscount, Price, price_booking
from app.services.pricing.quotes import quote, price_hold

__all__ = ["GroupDiscount", "Price", "price_booking", "quote", "price_hold"]
