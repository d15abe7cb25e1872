"""A small rule-based support agent for Pinecone Outfitters, a fictional outdoor-gear shop.

This is the "agent under test" of the example project: plain Python, standard
library only, deterministic and offline. It answers a customer's question by
looking things up in two tables:

* ``POLICIES`` -- shop policies, picked by keywords found in the question;
* ``ORDERS``   -- the order table, looked up by order id (A1001, A1002, ...).

Like most first versions of a support bot it has weaknesses, left in on
purpose so that ``gitevals run support-qa`` has something to find:

* keyword matching misses paraphrases ("get my money back" is not "refund");
* order ids are only recognised in upper case ("a1001" is not found);
* the first policy whose keyword matches wins, so a question about when a
  refund will *arrive* is answered with shipping times;
* an order id in a question always means "report the order's status", even
  when the customer asked to cancel it;
* orders without a tracking number are reported with "Tracking number: None".
"""

from __future__ import annotations

import asyncio
import re
from datetime import date

SHOP = "Pinecone Outfitters"
SUPPORT_EMAIL = "help@pinecone-outfitters.example"

# (topic, keywords, answer). Checked in this order; the first match wins.
POLICIES: list[tuple[str, tuple[str, ...], str]] = [
    ("international", ("international", "abroad", "overseas", "canada", "europe", "uk"),
     "We ship to Canada, the UK and the EU. International delivery takes 7-14 business days; "
     "any customs fees are paid by the recipient."),
    ("shipping", ("shipping", "ship", "deliver", "arrive"),
     "Standard shipping takes 3-5 business days and is free on orders over $50. "
     "Express shipping takes 1-2 business days and costs $9.95."),
    ("refunds", ("refund", "return"),
     "You can return unused items within 30 days of delivery for a full refund. "
     "Refunds reach your card 5-7 business days after we receive the parcel."),
    ("warranty", ("warranty", "guarantee", "broken", "defect"),
     "All our gear has a 2-year warranty against manufacturing defects. Email "
     f"{SUPPORT_EMAIL} with your order id and a photo and we will repair or replace it."),
    ("payment", ("pay", "credit card", "invoice", "gift card"),
     "We accept Visa, Mastercard, American Express, PayPal and Pinecone gift cards. "
     "Your invoice is attached to the shipping confirmation email."),
    ("account", ("password", "log in", "login", "sign in", "account"),
     "Click 'Forgot password' on the sign-in page and we will email you a reset link; "
     "it stays valid for 24 hours."),
    ("hours", ("hours", "open", "closed", "weekend"),
     "Our support team is available Monday to Friday, 9am to 6pm CET. "
     "We are closed on weekends and public holidays."),
    ("contact", ("contact", "email", "phone", "call", "human", "person"),
     f"You can reach a person at {SUPPORT_EMAIL} or on +1 555 0100 during opening hours."),
]

# The order table: what a database lookup would return.
ORDERS: dict[str, dict] = {
    "A1001": {"status": "shipped", "items": ["trail backpack"], "date": "2025-11-18",
              "carrier": "UPS", "tracking": "1Z999AA10123456784"},
    "A1002": {"status": "delivered", "items": ["insulated bottle", "camp mug"], "date": "2025-11-12",
              "carrier": "DHL", "tracking": "JD014600006281"},
    "A1003": {"status": "processing", "items": ["down jacket"], "date": "2025-11-21",
              "carrier": None, "tracking": None},
    "A1004": {"status": "cancelled", "items": ["headlamp"], "date": "2025-11-02",
              "carrier": None, "tracking": None},
    "A1005": {"status": "backordered", "items": ["two-person tent"], "date": "2025-12-03",
              "carrier": None, "tracking": None},
}

ORDER_ID = re.compile(r"\b[A-Z]\d{4}\b")  # upper case only: "a1001" slips through
GREETING = re.compile(r"^(hi|hello|hey|good (morning|afternoon|evening))\b")
TONES = {
    "friendly": "Happy to help! ",
    "formal": f"Thank you for contacting {SHOP}. ",
}


def answer(question: str, tone: str = "friendly") -> str:
    """Answer one customer question. ``tone`` is ``friendly`` or ``formal``."""
    if tone not in TONES:
        raise ValueError(f"unknown tone {tone!r}; use one of {', '.join(TONES)}")
    text = question.strip()
    lowered = text.lower()

    order_id = ORDER_ID.search(text)
    if order_id:
        return TONES[tone] + _order_status(order_id.group())
    if _mentions(lowered, "my order", "my package", "my parcel"):
        return "Could you tell me your order number? It looks like A1234 and is in your confirmation email."

    for _topic, keywords, policy in POLICIES:
        if _mentions(lowered, *keywords):
            return TONES[tone] + policy

    if _mentions(lowered, "thank"):
        return "You're welcome! Enjoy the outdoors."
    if _mentions(lowered, "robot", "a bot", "who are you"):
        return f"I'm the {SHOP} virtual assistant. I can help with orders, shipping, returns and more."
    if GREETING.match(lowered):
        return f"Hi! Welcome to {SHOP}. How can I help you today?"
    return (
        "Sorry, I didn't quite get that. I'm sorry I can't help with this one yet - "
        f"please email {SUPPORT_EMAIL} and a person will reply within one business day."
    )


async def answer_async(question: str, tone: str = "friendly") -> str:
    """The same as ``answer``, shaped like a call to a remote model (it waits a moment)."""
    await asyncio.sleep(0.05)
    return answer(question, tone=tone)


def _mentions(text: str, *keywords: str) -> bool:
    """True when any keyword starts a word in ``text`` ("ship" matches "shipping")."""
    return any(re.search(r"\b" + re.escape(k), text) for k in keywords)


def _order_status(order_id: str) -> str:
    """Describe one order from the order table."""
    order = ORDERS.get(order_id)
    if order is None:
        return (f"Sorry, I couldn't find order {order_id}. Sorry about that! "
                "Please check the number in your confirmation email.")
    items = " and ".join(order["items"])
    day = date.fromisoformat(order["date"])
    when = f"{day.day} {day:%B %Y}"
    status = {
        "shipped": f"shipped on {when} with {order['carrier']}",
        "delivered": f"was delivered on {when}",
        "processing": "is being processed and will ship within 2 business days",
        "cancelled": f"was cancelled on {when} and fully refunded",
        "backordered": f"is backordered; we expect to ship it on {when}",
    }[order["status"]]
    return f"Order {order_id} ({items}) {status}. Tracking number: {order['tracking']}."
