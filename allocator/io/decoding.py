"""Uploaded bytes to text (encodings, binary files, size limits) and JSON in."""
from __future__ import annotations

import json
from typing import Any

from allocator.io.records import BadFile, MAX_BYTES, MAX_JSON_BYTES


def decode(data: bytes, *, max_bytes: int = MAX_BYTES) -> str:
    """The text of an uploaded file, or BadFile saying why it is not a CSV we can read."""
    if data is None or len(data) == 0 or not data.strip():
        raise BadFile("The file is empty.")
    if len(data) > max_bytes:
        raise BadFile(f"The file is {len(data) / 1024 / 1024:.1f} MB; the limit is {max_bytes // 1024 // 1024} MB. "
                      "Split it into smaller files.")
    if data.startswith(b"PK\x03\x04"):
        raise BadFile("This is an Excel workbook or another zip file, not CSV. In Excel choose "
                      "File › Save As › “CSV UTF-8 (Comma delimited)” and upload that file.")
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise BadFile("This is an old Excel (.xls) file, not CSV. Save it as “CSV UTF-8” and upload that file.")
    if data.startswith(b"%PDF"):
        raise BadFile("This is a PDF, not CSV.")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            raise BadFile("The file says it is UTF-16 text but is not. Save it as “CSV UTF-8”.") from None
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as err:
            if _has_utf8_characters(data) and not _looks_binary(data.decode("utf-8", errors="replace")):
                line = data[:err.start].count(b"\n") + 1
                raise BadFile(f"Line {line}: this line is not UTF-8 text while the rest of the file is, so its "
                              "accented letters cannot be read reliably. Save the file as “CSV UTF-8” and "
                              "upload it again.") from None
            try:
                text = data.decode("cp1252")
            except UnicodeDecodeError:
                raise BadFile("This does not look like a text (CSV) file. Save it as “CSV UTF-8”.") from None
    text = text.lstrip("\ufeff")
    if _looks_binary(text):
        raise BadFile("This does not look like a text (CSV) file. Save it as “CSV UTF-8”.")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _has_utf8_characters(data: bytes) -> bool:
    """Whether the bytes hold well-formed UTF-8 non-ASCII characters (a Windows-1252 file practically never
    does: its accented letters are single bytes that are not valid UTF-8 sequences)."""
    return not data.decode("utf-8", errors="ignore").isascii()


def _looks_binary(text: str) -> bool:
    return "\x00" in text or _mostly_binary(text)


def _mostly_binary(text: str) -> bool:
    sample = text[:4096]
    controls = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\n\r\t")
    return controls > max(8, len(sample) // 50)


def read_json(data: bytes, *, max_bytes: int = MAX_JSON_BYTES) -> Any:
    if not data:
        raise BadFile("The file is empty.")
    if len(data) > max_bytes:
        raise BadFile(f"The file is {len(data) / 1024 / 1024:.1f} MB; the limit is {max_bytes // 1024 // 1024} MB.")
    try:
        return json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise BadFile("This is not a JSON text file.") from None
    except json.JSONDecodeError as err:
        raise BadFile(f"This is not valid JSON (line {err.lineno}: {err.msg}).") from None
    except RecursionError:
        raise BadFile("This JSON is nested too deeply to be a file this app wrote.") from None
    except ValueError as err:  # e.g. a number with thousands of digits
        raise BadFile(f"This is not valid JSON ({str(err).splitlines()[0][:120]}).") from None
