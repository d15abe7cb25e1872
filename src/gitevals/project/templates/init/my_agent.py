"""A stand-in for your agent: replace `answer` with a call to your own code.

A target is any function (sync or async) that takes an item's input and
returns the output; `target_options` from the eval arrive as keyword arguments.
"""

import re

CAPITALS = {"france": "Paris", "japan": "Tokyo", "italy": "Rome"}


def answer(question: str) -> str:
    numbers = re.findall(r"\d+", question)
    if "+" in question and len(numbers) == 2:
        return str(int(numbers[0]) + int(numbers[1]))
    for country, capital in CAPITALS.items():
        if country in question.lower():
            return capital
    return "I don't know."
