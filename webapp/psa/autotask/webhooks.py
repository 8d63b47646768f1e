"""Ticket webhooks from Autotask: signature, the .NET-escaped body, and what a body says.

``X-Hook-Signature: sha1=<base64 HMAC-SHA1(secret, body)>`` over the body *as Autotask
serialised it*: inside JSON strings ``& < > ' " +``, the backtick and every non-ASCII
character are ``\\uXXXX`` escapes (.NET). The raw bytes are checked first; a body that passed
through something that unescaped it is re-escaped once and checked again; constant-time
compare (PSA-NOTES 1.10). Nothing of the body is read before that, ``Deactivated`` included
(GHSA-hh59-fgrr-93hf: acting on an unsigned Deactivated disabled verification).
https://ww1.autotask.net/help/DeveloperHelp/Content/APIs/Webhooks/SecretKeyPayloadVerification.htm
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

ESCAPED = set("&<>'+`")


def signature(secret: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), body, hashlib.sha1).digest()
    return "sha1=" + base64.b64encode(digest).decode()


def dotnet_escape(body: bytes) -> bytes:
    """Re-escape a JSON body the way Autotask's serialiser writes it."""
    text = body.decode("utf-8")
    out: list[str] = []
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
            elif ch in ESCAPED or ord(ch) > 127:
                encoded = ch.encode("utf-16-be")
                for i in range(0, len(encoded), 2):  # surrogate pairs above U+FFFF
                    out.append(f"\\u{int.from_bytes(encoded[i : i + 2], 'big'):04x}")
                continue
        elif ch == '"':
            in_string = True
        out.append(ch)
    return "".join(out).encode("ascii")


def verify(body: bytes, header: str, secret: str) -> bool:
    """The signature matches the raw body, or the body re-escaped as .NET writes it."""
    if not (header and secret):
        return False
    if hmac.compare_digest(signature(secret, body), header):
        return True
    try:
        again = dotnet_escape(body)
    except UnicodeDecodeError:
        return False
    return again != body and hmac.compare_digest(signature(secret, again), header)


def parse(body: bytes) -> dict:
    """The event (a verified body): Action, Id, Fields, SequenceNumber, PersonID..."""
    event = json.loads(body)
    if not isinstance(event, dict) or "Action" not in event:
        raise ValueError("not an Autotask webhook event")
    return event
