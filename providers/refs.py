"""How a PSA whose lines live inside a container (an agreement's addition, a contract's service) names one in the
engine, the outbox and the audit: `"<container> <id>, <item> <id>"`, read back by the same two words."""

from __future__ import annotations


def pair_ref(container: str, container_id: int, item: str, item_id: int) -> str:
    """`"agreement 501, addition 602"`: what a line was pushed to."""
    return f"{container} {container_id}, {item} {item_id}"


def parse_pair(text: str, container: str, item: str) -> tuple[int, int] | None:
    """(container id, item id) of a `pair_ref` with these two words, or None when it names no such pair."""
    words = text.replace(",", " ").split()
    if len(words) != 4 or (words[0], words[2]) != (container, item):
        return None
    return (int(words[1]), int(words[3])) if words[1].isdigit() and words[3].isdigit() else None
