"""The returns workflow of Pinecone Outfitters: the workflow under test of
``evals/returns.yaml``.

A return request such as
``{"order_id": "A1002", "reason": "too small", "days_since_delivery": 12}``
goes through three steps, each recorded with ``@trace.step``:

1. ``validate`` -- look the order up (the ``lookup_order`` tool of the support
   agent) and check that it can be returned at all;
2. ``price``    -- work out the amount: the price minus a 15% restocking fee,
   no fee for a defective item, or half the price as store credit for returns
   31-60 days after delivery;
3. ``decide``   -- ``full_refund``, ``partial_refund``, ``store_credit``,
   ``rejected`` or ``manual_review`` (amounts over $250 need a person).

The policy says every request is priced, so that the letter to the customer
always states an amount. The code has two deliberate flaws:

* ``run`` skips ``price`` for requests that ``validate`` found ineligible, and
  ``validate`` still knows only the 30-day window: store credit, a later rule
  that lives in ``price``, is never offered;
* defects are recognised by a few keywords, so "arrived damaged" pays a
  restocking fee.
"""

from __future__ import annotations

from gitevals import trace

from .tools_agent import create_ticket, lookup_order

RETURN_WINDOW_DAYS = 30
STORE_CREDIT_DAYS = 60
RESTOCKING_FEE = 0.15
REVIEW_ABOVE = 250.0
DEFECT_WORDS = ("broken", "defective", "faulty")  # flaw: "damaged", "stopped working", ... are missed


@trace.step(name="validate")
def validate(request: dict) -> dict:
    """The request with the order's status and price, whether it is eligible and why not."""
    try:
        order = lookup_order(request["order_id"])
    except LookupError:
        order = {"status": "not_found", "price": 0.0}
    days = request["days_since_delivery"]
    problem = None
    if order["status"] != "delivered":
        problem = f"order is {order['status'].replace('_', ' ')}"
    elif order.get("final_sale"):
        problem = "final-sale items cannot be returned"
    elif days > RETURN_WINDOW_DAYS:  # flaw: written before the store-credit rule
        problem = f"{days} days since delivery is past the {RETURN_WINDOW_DAYS}-day window"
    return {**request, "status": order["status"], "item_price": order["price"],
            "eligible": problem is None, "problem": problem}


@trace.step(name="price")
def price(checked: dict) -> dict:
    """The amount the customer gets back, and as what."""
    defective = any(word in checked["reason"].lower() for word in DEFECT_WORDS)
    fee = 0.0 if defective else round(checked["item_price"] * RESTOCKING_FEE, 2)
    if not checked["eligible"] and RETURN_WINDOW_DAYS < checked["days_since_delivery"] <= STORE_CREDIT_DAYS \
            and checked["status"] == "delivered":
        return {**checked, "kind": "store_credit", "defective": defective, "restocking_fee": 0.0,
                "amount": round(checked["item_price"] / 2, 2)}
    if not checked["eligible"]:
        return {**checked, "kind": "none", "defective": defective, "restocking_fee": 0.0, "amount": 0.0}
    return {**checked, "kind": "refund", "defective": defective, "restocking_fee": fee,
            "amount": round(checked["item_price"] - fee, 2)}


@trace.step(name="decide")
def decide(priced: dict) -> dict:
    """The decision sent to the customer (a ticket for a person when the amount is high)."""
    kind, amount = priced.get("kind", "none"), priced.get("amount", 0.0)
    if kind == "none":
        decision, note = "rejected", priced["problem"]
    elif amount > REVIEW_ABOVE:
        ticket = create_ticket(f"Approve return of order {priced['order_id']}: ${amount:.2f}")
        decision, note = "manual_review", f"over ${REVIEW_ABOVE:.0f}, a person will approve it (ticket {ticket})"
    elif kind == "store_credit":
        decision, note = "store_credit", "half the price, as credit for the next order"
    elif priced["restocking_fee"] == 0:
        decision, note = "full_refund", "defective item, no restocking fee"
    else:
        decision, note = "partial_refund", f"less a restocking fee of ${priced['restocking_fee']:.2f}"
    return {"order_id": priced["order_id"], "decision": decision, "amount": amount, "note": note}


def run(request: dict) -> dict:
    """validate -> price -> decide, returning the decision."""
    checked = validate(request)
    if not checked["eligible"]:
        return decide(checked)  # flaw: "nothing to price" -- but price owns the store-credit rule
    return decide(price(checked))
