"""The subject line of an alert digest: a sandboxed Jinja2 template from ``alerts.toml``.

Validated when ``alerts.toml`` loads and rendered for every digest, so both use this one
environment: values are interpolated as single clean lines, and a value holding
right-to-left letters is wrapped in Unicode isolates (FSI ... PDI), so a French subject with
an Arabic rule name keeps its word order. Jinja2 is imported only when a subject is rendered.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from crawler.text.bidi import isolate

if TYPE_CHECKING:
    from jinja2.sandbox import SandboxedEnvironment

#: the names a subject template may use (the digest supplies them)
SUBJECT_VARIABLES = ("rule", "key", "count", "articles", "date", "topics", "first_title")
DEFAULT_SUBJECT = "Marsad · {{ rule }} · {{ count }} · {{ date }}"


@cache
def _subject_env() -> SandboxedEnvironment:
    from jinja2 import StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    # Subjects come from the configuration (trusted) but are rendered in a sandbox anyway;
    # ``finalize`` isolates every interpolated value that carries right-to-left text.
    return SandboxedEnvironment(
        autoescape=False, undefined=StrictUndefined, finalize=_finalize_subject_value
    )


def _finalize_subject_value(value: Any) -> Any:
    return isolate(value) if isinstance(value, str) else value


def render_subject(template: str, context: dict[str, Any]) -> str:
    """The subject line: one line, values with right-to-left letters isolated (FSI ... PDI).

    Raises Jinja2's errors for a template that does not parse or names an unknown variable.
    """
    text = _subject_env().from_string(template).render(**context)
    return " ".join(text.replace("\r", " ").replace("\n", " ").split())
