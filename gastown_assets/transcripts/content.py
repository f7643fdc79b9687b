"""Message content blocks -> Turns. Images never get through: training rows are text."""

from __future__ import annotations

from .jsonl import as_str
from .model import ToolCall, Turn
from .stats import ParseStats

IMAGE = "[image]"
# Prefixes of base64-encoded PNG, JPEG, GIF and WebP files.
_BASE64_IMAGE_PREFIXES = ("iVBORw0KGgo", "/9j/", "R0lGOD", "UklGR")


def assistant_turn(content, stats: ParseStats) -> Turn:
    """One assistant line's content (usually a single block) as a partial Turn."""
    turn = Turn("assistant")
    if isinstance(content, str):
        turn.text = content if content.strip() else ""
        return turn
    if not isinstance(content, list):
        stats.skipped["bad_content"] += 1
        return turn
    texts, thoughts = [], []
    for block in content:
        kind = _block_type(block)
        if kind == "text":
            _add_text(texts, block.get("text"))
        elif kind == "thinking":
            _add_text(thoughts, block.get("thinking"))
        elif kind == "tool_use":
            turn.tool_calls.append(_tool_call(block))
        else:  # redacted_thinking, server_tool_use, ...: nothing we can train on
            stats.skipped[f"block:{kind}"] += 1
    turn.text, turn.thinking = "\n\n".join(texts), "\n\n".join(thoughts)
    return turn


def user_turns(content, stats: ParseStats) -> list[Turn]:
    """A user record's content as user/tool Turns, in block order."""
    if isinstance(content, str):
        return [Turn("user", content)]
    if not isinstance(content, list):
        stats.skipped["bad_content"] += 1
        return []
    turns, texts = [], []
    for block in content:
        kind = _block_type(block)
        if kind == "text":
            _add_text(texts, block.get("text"))
        elif kind == "tool_result":
            _flush_user_text(texts, turns)
            turns.append(_tool_turn(block, stats))
        elif kind == "image":
            stats.skipped["image_dropped"] += 1
        else:
            stats.skipped[f"block:{kind}"] += 1
    _flush_user_text(texts, turns)
    return turns


def tool_result_text(content, stats: ParseStats) -> str:
    """tool_result content: a string, or a list of text/image blocks."""
    if content is None:
        return ""
    if isinstance(content, str):
        return _scrub_string(content)
    blocks = [content] if isinstance(content, dict) else content
    if not isinstance(blocks, list):
        stats.skipped["bad_tool_result"] += 1
        return ""
    parts = []
    for block in blocks:
        kind = _block_type(block)
        if kind == "text" and isinstance(block.get("text"), str):
            parts.append(_scrub_string(block["text"]))
        elif kind == "image":
            parts.append(IMAGE)
            stats.skipped["image_replaced"] += 1
        else:
            stats.skipped[f"tool_result_block:{kind}"] += 1
    return "\n\n".join(parts)


def scrub_images(value):
    """Copy of a JSON value with base64 image payloads replaced by "[image]"."""
    if isinstance(value, str):
        return _scrub_string(value)
    if isinstance(value, list):
        return [scrub_images(v) for v in value]
    if isinstance(value, dict):
        if _is_image_payload(value):
            return IMAGE
        return {k: scrub_images(v) for k, v in value.items()}
    return value


def _is_image_payload(block: dict) -> bool:
    kind = block.get("type")
    return (kind == "image" and "source" in block) or (kind == "base64" and "data" in block)


def _scrub_string(text: str) -> str:
    if len(text) > 256 and (text.startswith("data:image/") or text.startswith(_BASE64_IMAGE_PREFIXES)):
        return IMAGE
    return text


def _tool_call(block: dict) -> ToolCall:
    args = block.get("input")
    args = args if isinstance(args, dict) else {} if args is None else {"input": args}
    return ToolCall(as_str(block.get("id")), as_str(block.get("name")), scrub_images(args))


def _tool_turn(block: dict, stats: ParseStats) -> Turn:
    return Turn(
        "tool",
        tool_result_text(block.get("content"), stats),
        tool_call_id=as_str(block.get("tool_use_id")),
        is_error=block.get("is_error") is True,
    )


def _flush_user_text(texts: list[str], turns: list[Turn]) -> None:
    if texts:
        turns.append(Turn("user", "\n\n".join(texts)))
        texts.clear()


def _add_text(parts: list[str], text) -> None:
    # Whitespace-only blocks ("\n\n" before a tool_use) would only pad the joined text.
    if isinstance(text, str) and text.strip():
        parts.append(text)


def _block_type(block) -> str:
    if isinstance(block, dict) and isinstance(block.get("type"), str):
        return block["type"]
    return "invalid"
