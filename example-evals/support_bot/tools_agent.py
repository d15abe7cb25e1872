"""A tool-using support agent for Pinecone Outfitters: the agent under test of
``evals/support-tools.yaml``.

It plays the part of an LLM agent without a model: simple rules pick which
tools to call for a question, and the answer is composed from what the tools
returned. Every tool is decorated with ``@trace.tool``, so during a gitevals
run each call (its arguments and its result or error) lands in the item's
trajectory, and an item's ``tool_mocks`` can replace a tool's result.

Its flaws are deliberate, so that the trajectory scorers have something to find:

* asked for a tracking number, it looks the order up a second time;
* it calls ``issue_refund`` (a sensitive tool: refunds need a person's
  approval unless the item arrived broken) whenever a question about a
  delivered order mentions a refund, where it should only quote the policy;
* the first topic keyword wins, so "when will my refund *arrive*" fetches the
  shipping policy.
"""

from __future__ import annotations

import re
import zlib

from gitevals import trace

ORDERS: dict[str, dict] = {  # what a database lookup would return
    "A1001": {"status": "shipped", "items": ["trail backpack"], "price": 89.00, "tracking": "1Z999AA10123456784"},
    "A1002": {"status": "delivered", "items": ["insulated bottle", "camp mug"], "price": 42.50, "tracking": "JD014600006281"},
    "A1003": {"status": "processing", "items": ["down jacket"], "price": 249.00, "tracking": None},
    "A1004": {"status": "cancelled", "items": ["headlamp"], "price": 35.00, "tracking": None},
    "A1006": {"status": "delivered", "items": ["down jacket"], "price": 249.00, "tracking": "JD014600007733"},
    "A1007": {"status": "delivered", "items": ["two-person tent"], "price": 329.00, "tracking": "1Z999AA10129876543"},
    "A1008": {"status": "delivered", "items": ["clearance socks"], "price": 12.00, "tracking": "JD014600009120",
              "final_sale": True},
}
POLICIES = {
    "shipping": "Standard shipping takes 3-5 business days and is free on orders over $50.",
    "refunds": "Unused items can be returned within 30 days of delivery; a person reviews every refund, "
               "and the money reaches your card 5-7 business days after approval.",
    "warranty": "All our gear has a 2-year warranty against manufacturing defects.",
    "exchanges": "We offer one free exchange for a different size or colour within 30 days.",
}
TOPICS = [  # (topic, keywords): checked in this order, the first match wins
    ("shipping", ("ship", "deliver", "arrive")),
    ("refunds", ("refund", "return", "money back")),
    ("warranty", ("warranty", "broken", "defect")),
    ("exchanges", ("exchange", "size", "colour", "color")),
]
ORDER_ID = re.compile(r"\b[A-Za-z]\d{4}\b")


@trace.tool
def lookup_order(order_id: str) -> dict:
    """The order's record; raises LookupError for an unknown id."""
    if order_id not in ORDERS:
        raise LookupError(f"no order {order_id}")
    return {"order_id": order_id, **ORDERS[order_id]}


@trace.tool
def get_policy(topic: str) -> str:
    """The shop's policy text on one topic."""
    return POLICIES[topic]


@trace.tool
def create_ticket(summary: str) -> str:
    """Open a ticket for a person on the support team; returns its id."""
    return f"T-{zlib.crc32(summary.encode()) % 100000:05d}"


@trace.tool
def issue_refund(order_id: str) -> dict:
    """Refund an order in full. Sensitive: it moves money."""
    return {"refund_id": f"R-{order_id}", "amount": ORDERS[order_id]["price"]}


def answer(question: str) -> str:
    """Answer one customer question, calling tools as a tool-using agent would."""
    low = question.lower()
    topic = next((t for t, words in TOPICS if any(re.search(r"\b" + w, low) for w in words)), None)
    found = ORDER_ID.search(question)
    order_id = found.group().upper() if found else None
    parts: list[str] = []
    if order_id:
        try:
            order = lookup_order(order_id)
        except LookupError:
            return f"Sorry, I couldn't find order {order_id}. Please check your confirmation email."
        parts.append(f"Order {order_id} ({' and '.join(order['items'])}) is {order['status']}"
                     + (" and fully refunded." if order["status"] == "cancelled" else "."))
        if "tracking" in low:
            order = lookup_order(order_id)  # flaw: a second lookup to read one more field
            parts.append(f"Tracking number: {order.get('tracking') or 'not available yet'}.")
        if topic == "refunds" or "refund" in low:
            if order["status"] == "delivered":  # flaw: should quote the policy and leave refunds to a person
                refund = issue_refund(order_id)
                parts.append(f"I've issued a refund of ${refund['amount']:.2f} ({refund['refund_id']}).")
        if "cancel" in low and order["status"] != "cancelled":
            parts.append(f"I've asked a colleague to cancel it (ticket {create_ticket(f'Cancel order {order_id}')}).")
    if topic and not (order_id and topic == "shipping"):
        parts.append(get_policy(topic))
    if any(w in low for w in ("broken", "damaged", "snapped")):
        parts.append(f"I've opened ticket {create_ticket(question.strip())} so we can repair or replace it.")
    if not parts:
        parts.append(f"A person will get back to you within one business day (ticket {create_ticket(question.strip())}).")
    return " ".join(parts)
