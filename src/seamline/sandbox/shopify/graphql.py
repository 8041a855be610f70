"""Just enough GraphQL to read the documents our connector (and a careful human) sends: the whole query
language grammar (operations, variables, fragments, directives, literals), no type system. The sandbox
checks fields against its own small schema table instead (``schema.py``)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any


class GraphQLSyntaxError(Exception):
    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column


# -- values ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Variable:
    name: str


@dataclass(frozen=True)
class EnumValue:
    name: str


@dataclass(frozen=True)
class ListValue:
    items: tuple[Any, ...]


@dataclass(frozen=True)
class ObjectValue:
    fields: tuple[tuple[str, Any], ...]


# -- document -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Directive:
    name: str
    arguments: dict[str, Any]
    line: int
    column: int


@dataclass(frozen=True)
class Field:
    name: str
    alias: str | None
    arguments: dict[str, Any]
    directives: tuple[Directive, ...]
    selections: tuple[Selection, ...] | None
    line: int
    column: int

    @property
    def key(self) -> str:
        return self.alias or self.name


@dataclass(frozen=True)
class FragmentSpread:
    name: str
    line: int
    column: int


@dataclass(frozen=True)
class InlineFragment:
    type_condition: str | None
    selections: tuple[Selection, ...]


Selection = Field | FragmentSpread | InlineFragment


@dataclass(frozen=True)
class VariableDefinition:
    name: str
    type: str  # as written, e.g. "[ID!]!"
    default: Any = None
    has_default: bool = False

    @property
    def required(self) -> bool:
        return self.type.endswith("!") and not self.has_default


@dataclass(frozen=True)
class Operation:
    kind: str  # query | mutation | subscription
    name: str | None
    variables: tuple[VariableDefinition, ...]
    directives: tuple[Directive, ...]
    selections: tuple[Selection, ...]
    line: int
    column: int


@dataclass(frozen=True)
class Fragment:
    name: str
    type_condition: str
    selections: tuple[Selection, ...]


@dataclass
class Document:
    operations: list[Operation] = field(default_factory=list)
    fragments: dict[str, Fragment] = field(default_factory=dict)


# -- lexer ----------------------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""
    (?P<ignored>[\s,\ufeff]+|\#[^\n\r]*)
  | (?P<spread>\.\.\.)
  | (?P<punct>[!$&()\:=@\[\]{|}])
  | (?P<name>[_A-Za-z][_0-9A-Za-z]*)
  | (?P<number>-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)
  | (?P<block>\"\"\"(?:\\\"\"\"|[^"]|"(?!""))*\"\"\")
  | (?P<string>"(?:\\.|[^"\\\n\r])*")
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class _Token:
    kind: str
    value: str
    line: int
    column: int


def _block_string(raw: str) -> str:
    lines = raw[3:-3].replace('\\"""', '"""').splitlines()
    indents = [len(line) - len(line.lstrip(" \t")) for line in lines[1:] if line.strip()]
    common = min(indents) if indents else 0
    body = [lines[0]] + [line[common:] for line in lines[1:]] if lines else []
    while body and not body[0].strip():
        body.pop(0)
    while body and not body[-1].strip():
        body.pop()
    return "\n".join(body)


def _tokens(source: str) -> list[_Token]:
    tokens: list[_Token] = []
    position, line, line_start = 0, 1, 0
    while position < len(source):
        match = _TOKEN.match(source, position)
        if match is None:
            char = source[position]
            raise GraphQLSyntaxError(f'Parse error on "{char}"', line, position - line_start + 1)
        kind = match.lastgroup or ""
        text = match.group()
        if kind != "ignored":
            tokens.append(_Token(kind, text, line, position - line_start + 1))
        newlines = text.count("\n")
        if newlines:
            line += newlines
            line_start = position + text.rfind("\n") + 1
        position = match.end()
    tokens.append(_Token("eof", "", line, position - line_start + 1))
    return tokens


# -- parser ---------------------------------------------------------------------------------------------


class _Parser:
    def __init__(self, source: str) -> None:
        self.tokens = _tokens(source)
        self.index = 0

    @property
    def current(self) -> _Token:
        return self.tokens[self.index]

    def fail(self, token: _Token | None = None) -> GraphQLSyntaxError:
        token = token or self.current
        shown = "end of file" if token.kind == "eof" else f'"{token.value}"'
        return GraphQLSyntaxError(f"Parse error on {shown}", token.line, token.column)

    def peek(self, value: str) -> bool:
        token = self.current
        return token.kind in ("punct", "spread") and token.value == value

    def expect(self, value: str) -> _Token:
        if not self.peek(value):
            raise self.fail()
        token = self.current
        self.index += 1
        return token

    def skip(self, value: str) -> bool:
        if self.peek(value):
            self.index += 1
            return True
        return False

    def name(self) -> str:
        token = self.current
        if token.kind != "name":
            raise self.fail()
        self.index += 1
        return token.value

    def document(self) -> Document:
        document = Document()
        while self.current.kind != "eof":
            token = self.current
            if self.peek("{"):
                document.operations.append(
                    Operation("query", None, (), (), self.selection_set(), token.line, token.column)
                )
            elif token.kind == "name" and token.value in ("query", "mutation", "subscription"):
                document.operations.append(self.operation())
            elif token.kind == "name" and token.value == "fragment":
                fragment = self.fragment()
                document.fragments[fragment.name] = fragment
            else:
                raise self.fail()
        if not document.operations and not document.fragments:
            raise self.fail()
        return document

    def operation(self) -> Operation:
        token = self.current
        kind = self.name()
        name = self.name() if self.current.kind == "name" else None
        variables: list[VariableDefinition] = []
        if self.skip("("):
            while not self.skip(")"):
                variables.append(self.variable_definition())
        directives = self.directives()
        return Operation(kind, name, tuple(variables), directives, self.selection_set(), token.line, token.column)

    def variable_definition(self) -> VariableDefinition:
        self.expect("$")
        name = self.name()
        self.expect(":")
        type_ = self.type_reference()
        if self.skip("="):
            return VariableDefinition(name, type_, self.value(const=True), True)
        return VariableDefinition(name, type_)

    def type_reference(self) -> str:
        if self.skip("["):
            inner = self.type_reference()
            self.expect("]")
            text = f"[{inner}]"
        else:
            text = self.name()
        if self.skip("!"):
            text += "!"
        return text

    def fragment(self) -> Fragment:
        self.name()  # "fragment"
        name = self.name()
        if self.name() != "on":
            raise self.fail(self.tokens[self.index - 1])
        type_condition = self.name()
        self.directives()
        return Fragment(name, type_condition, self.selection_set())

    def selection_set(self) -> tuple[Selection, ...]:
        self.expect("{")
        selections: list[Selection] = []
        while not self.skip("}"):
            selections.append(self.selection())
        if not selections:
            raise self.fail(self.tokens[self.index - 1])
        return tuple(selections)

    def selection(self) -> Selection:
        token = self.current
        if self.skip("..."):
            if self.current.kind == "name" and self.current.value == "on":
                self.index += 1
                type_condition: str | None = self.name()
                self.directives()
                return InlineFragment(type_condition, self.selection_set())
            if self.current.kind == "name":
                return FragmentSpread(self.name(), token.line, token.column)
            self.directives()
            return InlineFragment(None, self.selection_set())
        alias: str | None = None
        name = self.name()
        if self.skip(":"):
            alias, name = name, self.name()
        arguments = self.arguments()
        directives = self.directives()
        selections = self.selection_set() if self.peek("{") else None
        return Field(name, alias, arguments, directives, selections, token.line, token.column)

    def arguments(self, const: bool = False) -> dict[str, Any]:
        arguments: dict[str, Any] = {}
        if self.skip("("):
            while not self.skip(")"):
                key = self.name()
                self.expect(":")
                arguments[key] = self.value(const)
        return arguments

    def directives(self) -> tuple[Directive, ...]:
        directives: list[Directive] = []
        while self.peek("@"):
            token = self.expect("@")
            directives.append(Directive(self.name(), self.arguments(), token.line, token.column))
        return tuple(directives)

    def value(self, const: bool = False) -> Any:
        token = self.current
        if token.kind == "punct":
            if token.value == "$" and not const:
                self.index += 1
                return Variable(self.name())
            if token.value == "[":
                self.index += 1
                items: list[Any] = []
                while not self.skip("]"):
                    items.append(self.value(const))
                return ListValue(tuple(items))
            if token.value == "{":
                self.index += 1
                fields: list[tuple[str, Any]] = []
                while not self.skip("}"):
                    key = self.name()
                    self.expect(":")
                    fields.append((key, self.value(const)))
                return ObjectValue(tuple(fields))
            raise self.fail()
        self.index += 1
        if token.kind == "number":
            return float(token.value) if any(c in token.value for c in ".eE") else int(token.value)
        if token.kind == "string":
            return json.loads(token.value)
        if token.kind == "block":
            return _block_string(token.value)
        if token.kind == "name":
            if token.value in ("true", "false"):
                return token.value == "true"
            if token.value == "null":
                return None
            return EnumValue(token.value)
        raise self.fail(token)


def parse(source: str) -> Document:
    return _Parser(source).document()


def resolve(value: Any, variables: dict[str, Any]) -> Any:
    """A literal as plain JSON-like Python, variables substituted (an absent variable reads as null)."""
    if isinstance(value, Variable):
        return variables.get(value.name)
    if isinstance(value, EnumValue):
        return value.name
    if isinstance(value, ListValue):
        return [resolve(item, variables) for item in value.items]
    if isinstance(value, ObjectValue):
        return {key: resolve(item, variables) for key, item in value.fields}
    return value


def variables_used(value: Any) -> set[str]:
    if isinstance(value, Variable):
        return {value.name}
    if isinstance(value, ListValue):
        return set().union(*(variables_used(item) for item in value.items)) if value.items else set()
    if isinstance(value, ObjectValue):
        return set().union(*(variables_used(item) for _, item in value.fields)) if value.fields else set()
    return set()
