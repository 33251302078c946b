"""Keep key material out of logs: a logging filter that blanks secrets before any handler.

Secrets are registered as they come into being (private keys, recovery phrases) and blanked
in every spelling a log line could carry them (hex either case, with or without ``0x``);
anything shaped like a BIP39 phrase (twelve or more words of its list in a row) is blanked
too, registered or not. The filter works on the formatted message and on tracebacks.
"""

from __future__ import annotations

import logging
import re
import threading

from mnemonic import Mnemonic

REDACTED = "[REDACTED]"
_BIP39_WORDS = frozenset(Mnemonic("english").wordlist)
_WORD = re.compile(r"[a-z]+")
_SEPARATOR = re.compile(r"[\s,]+")
PHRASE_WORDS = 12


class SecretRedactor(logging.Filter):
    def __init__(self) -> None:
        super().__init__()
        self._secrets: set[str] = set()
        self._lock = threading.Lock()

    def register(self, secret: bytes | str) -> None:
        if isinstance(secret, bytes):
            text = secret.hex()
            spellings = {text, text.upper()}
        else:
            spellings = {secret, " ".join(secret.split())} if secret.strip() else set()
        with self._lock:
            self._secrets |= {s for s in spellings if len(s) >= 8}

    def redact(self, text: str) -> str:
        with self._lock:
            secrets = sorted(self._secrets, key=len, reverse=True)
        for secret in secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return _blank_phrases(text)

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.redact(record.getMessage())
        record.args = ()
        if record.exc_info:
            record.exc_text = self.redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


def _blank_phrases(text: str) -> str:
    """Blank every run of 12 or more BIP39 words separated only by spaces or commas."""
    spans: list[tuple[int, int]] = []
    run: list[re.Match[str]] = []
    for word in _WORD.finditer(text):
        joined = bool(run) and _SEPARATOR.fullmatch(text[run[-1].end() : word.start()])
        if word.group() in _BIP39_WORDS and (joined or not run):
            run.append(word)
            continue
        if len(run) >= PHRASE_WORDS:
            spans.append((run[0].start(), run[-1].end()))
        run = [word] if word.group() in _BIP39_WORDS else []
    if len(run) >= PHRASE_WORDS:
        spans.append((run[0].start(), run[-1].end()))
    for start, end in reversed(spans):
        text = text[:start] + REDACTED + text[end:]
    return text


REDACTOR = SecretRedactor()


def register_secret(secret: bytes | str) -> None:
    REDACTOR.register(secret)


def install(logger: logging.Logger | None = None) -> None:
    """Filter every handler of ``logger`` (the root by default) through :data:`REDACTOR`."""
    target = logger or logging.getLogger()
    for handler in target.handlers:
        if REDACTOR not in handler.filters:
            handler.addFilter(REDACTOR)
