"""Step templates: ``{{ name }}`` placeholders inside the string values of `where`.

Kallisti renders templates over the whole experiment's JSON text with an
unsandboxed environment, so a quote in a value breaks the JSON and an author can
run code on the server. Here each string value is a template of its own, rendered
in jinja2's sandbox, and only plain placeholders (optionally with a few pure
filters) are accepted. A substituted value is data: it is never parsed again.
A string that is exactly one placeholder keeps the parameter's own type, so
``"qty": "{{ qty }}"`` with ``qty = 2`` gives the number 2.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment

from kallisti.domain.errors import InvalidInput

__all__ = ["Templates", "template_errors"]

_SAFE_FILTERS = frozenset(
    {"default", "d", "lower", "upper", "trim", "string", "int", "float", "tojson"}
)
_ALLOWED_NODES = (
    nodes.Template,
    nodes.Output,
    nodes.TemplateData,
    nodes.Name,
    nodes.Const,
    nodes.Filter,
    nodes.Getattr,
    nodes.Getitem,
)


def _private_lookup(node: nodes.Node) -> bool:
    """`{{ a.b }}` and `{{ a['b'] }}` read a dict parameter, as in Kallisti; the
    sandbox already refuses Python internals, and `_` names are refused here."""
    if isinstance(node, nodes.Getattr):
        return node.attr.startswith("_")
    if isinstance(node, nodes.Getitem):
        key = node.arg
        return not isinstance(key, nodes.Const) or (
            isinstance(key.value, str) and key.value.startswith("_")
        )
    return False


def _looks_templated(text: str) -> bool:
    return "{{" in text or "{%" in text or "{#" in text


def _walk_strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _walk_strings(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk_strings(item, f"{path}.{index}")


class _DataOnlyEnvironment(ImmutableSandboxedEnvironment):
    """`a.b` and `a['b']` read the keys of dict parameters and the items of
    lists, nothing else: no method of a value (`{{ x.format }}`), no attribute.
    A lookup that is not a key or an item is undefined, and so an error."""

    def getattr(self, obj: Any, attribute: str) -> Any:
        if isinstance(obj, Mapping) and attribute in obj:
            return obj[attribute]
        return self.undefined(obj=obj, name=attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        if isinstance(obj, Mapping) and argument in obj:
            return obj[argument]
        if (
            isinstance(obj, list | tuple | str)
            and isinstance(argument, int)
            and not isinstance(argument, bool)
            and -len(obj) <= argument < len(obj)
        ):
            return obj[argument]
        return self.undefined(obj=obj, name=argument)


# One environment for every template: it holds no parameters (they are given
# at render time), and building one costs more than checking a whole step.
_ENVIRONMENT = _DataOnlyEnvironment(
    undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True
)


class Templates:
    """Parses and renders step templates with one set of parameters."""

    def __init__(self, parameters: Mapping[str, Any] | None = None) -> None:
        self._parameters = dict(parameters or {})
        self._env = _ENVIRONMENT

    def _parse(self, text: str, path: str) -> nodes.Template:
        try:
            tree = self._env.parse(text)
            found = list(tree.find_all(nodes.Node))
        except TemplateSyntaxError as err:
            raise InvalidInput(path, f"template syntax error: {err.message}") from None
        except RecursionError:
            # jinja2 parses and walks recursively: bad input, not a server fault.
            raise InvalidInput(path, "template is nested too deeply") from None
        for node in found:
            if not isinstance(node, _ALLOWED_NODES):
                raise InvalidInput(
                    path,
                    "only {{ name }} placeholders are allowed in templates "
                    f"(found {type(node).__name__.lower()})",
                )
            if _private_lookup(node):
                raise InvalidInput(
                    path, "templates cannot reach names that start with `_`"
                )
            if isinstance(node, nodes.Filter) and node.name not in _SAFE_FILTERS:
                raise InvalidInput(
                    path, f"template filter {node.name!r} is not allowed"
                )
        return tree

    def names(self, value: Any, path: str = "where") -> set[str]:
        """Return every parameter name the templates in `value` use.

        Raises `InvalidInput` for a template that is not a plain placeholder.
        """
        found: set[str] = set()
        for string_path, text in _walk_strings(value, path):
            if _looks_templated(text):
                tree = self._parse(text, string_path)
                found.update(name.name for name in tree.find_all(nodes.Name))
        return found

    def missing(self, value: Any) -> set[str]:
        """Return the names used in `value` that have no parameter value."""
        return {name for name in self.names(value) if name not in self._parameters}

    def render(self, value: Any) -> Any:
        """Return `value` with every template string rendered (a new object)."""
        if isinstance(value, str):
            return self._render_string(value) if _looks_templated(value) else value
        if isinstance(value, Mapping):
            return {key: self.render(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.render(item) for item in value]
        return value

    def _render_string(self, text: str) -> Any:
        tree = self._parse(text, "where")
        body = tree.body
        if (
            len(body) == 1
            and isinstance(body[0], nodes.Output)
            and len(body[0].nodes) == 1
            and isinstance(body[0].nodes[0], nodes.Name)
        ):
            return self._parameters[body[0].nodes[0].name]
        return self._env.from_string(text).render(self._parameters)


def template_errors(value: Any, path: str) -> list[InvalidInput]:
    """Return a list of the template errors in `value` (empty when all parse)."""
    templates = Templates()
    errors: list[InvalidInput] = []
    for string_path, text in _walk_strings(value, path):
        if _looks_templated(text):
            try:
                templates.names(text, string_path)
            except InvalidInput as err:
                errors.append(err)
    return errors
