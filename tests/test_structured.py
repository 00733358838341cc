"""Structured outputs: strict JSON schemas from classes, parsing replies back, function tools."""

from __future__ import annotations

import dataclasses
import enum
import json
import subprocess
import sys
from collections.abc import Sequence
from typing import Any, Literal, Optional, TypedDict

import attrs
import jsonschema
import pytest

from aikit.helpers.structured import (
    call_with_arguments,
    chat_response_format,
    function_tool_fields,
    json_schema,
    parse_as,
    responses_text_format,
    schema_name,
)

try:
    import pydantic
except ImportError:  # the pydantic tests skip
    pydantic = None  # type: ignore[assignment]


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


class Priority(enum.IntEnum):
    LOW = 1
    HIGH = 2


# -- attrs ----------------------------------------------------------------------------------


@attrs.define
class AAddress:
    """A postal address."""

    city: str
    zip_code: str | None


@attrs.define
class AItem:
    name: str = attrs.field(metadata={"description": "What is sold"})
    price: float
    tags: list[str]
    color: Color


@attrs.define
class AOrder:
    id: int
    items: list[AItem]
    status: Literal["open", "closed"]
    shipping: AAddress | None
    billing: AAddress = attrs.field(metadata={"description": "Who pays"})
    priority: Priority = Priority.LOW
    kind: Literal["order"] = "order"
    ratios: tuple[float, ...] = ()
    note: str | None = None


def a_order() -> AOrder:
    return AOrder(
        id=7,
        items=[AItem("pen", 1.5, ["office"], Color.RED), AItem("ink", 3.0, [], Color.GREEN)],
        status="open", shipping=None, billing=AAddress("Paris", "75001"),
        priority=Priority.HIGH, ratios=(0.5, 1.0), note="fragile",
    )


def _attrs_value(_inst: object, _field: object, value: Any) -> Any:
    return value.value if isinstance(value, enum.Enum) else value


def a_json(order: AOrder) -> str:
    return json.dumps(attrs.asdict(order, value_serializer=_attrs_value))


# -- dataclasses ----------------------------------------------------------------------------


@dataclasses.dataclass
class DItem:
    name: str = dataclasses.field(metadata={"description": "What is sold"})
    price: float = 0.0
    color: Color = Color.RED


@dataclasses.dataclass
class DOrder:
    id: int
    items: Sequence[DItem]
    status: Literal["open", "closed"]
    backup: Optional[DItem]  # noqa: UP045 - the typing spelling is supported too
    priority: Priority
    flag: bool = False
    note: str | None = None


def _enum_default(value: object) -> object:
    if isinstance(value, enum.Enum):
        return value.value
    raise TypeError(repr(value))


def d_order() -> DOrder:
    return DOrder(7, [DItem("pen", 1.5, Color.GREEN)], "closed", DItem("ink"), Priority.LOW, True)


# -- TypedDict ------------------------------------------------------------------------------


class TItem(TypedDict):
    name: str
    price: float
    color: Literal["red", "green"]


class _TOrderKeys(TypedDict):
    id: int
    items: list[TItem]
    shipping: AAddress | None


class TOrder(_TOrderKeys, total=False):
    note: str


if sys.version_info >= (3, 11):
    from typing import NotRequired, Required

    class TNotRequired(TypedDict, total=False):
        # With string annotations the class itself cannot see these qualifiers.
        kept: Required[int]
        left: NotRequired[int]
        plain: str


# -- recursion, unsupported fields ----------------------------------------------------------


@dataclasses.dataclass
class Node:
    name: str
    children: list[Node]


@attrs.define
class Tree:
    title: str
    root: Node


@dataclasses.dataclass
class WithDict:
    name: str
    meta: dict[str, int]


@dataclasses.dataclass
class WithAny:
    payload: Any


# -- pydantic (defined only when it is installed) -------------------------------------------

if pydantic is not None:

    class PItem(pydantic.BaseModel):
        name: str = pydantic.Field(description="What is sold")
        price: float
        color: Color

    class PAddress(pydantic.BaseModel):
        city: str

    class POrder(pydantic.BaseModel):
        """An order."""

        id: int
        items: list[PItem]
        status: Literal["open", "closed"]
        shipping: PAddress | None = None
        billing: PAddress = pydantic.Field(description="Who pays")
        priority: Priority = Priority.LOW

    class PNode(pydantic.BaseModel):
        name: str
        children: list[PNode]

    class PWithDict(pydantic.BaseModel):
        meta: dict[str, int]

    @dataclasses.dataclass
    class DWithP:
        label: str
        order: POrder


# -- helpers --------------------------------------------------------------------------------


def assert_strict(schema: Any, path: str = "$") -> None:
    """Every object is closed and lists all its keys in ``required``; no ``$ref`` has siblings
    and nothing strict mode refuses (default, oneOf, allOf) is left."""
    if isinstance(schema, list):
        for i, item in enumerate(schema):
            assert_strict(item, f"{path}[{i}]")
        return
    if not isinstance(schema, dict):
        return
    assert not {"default", "oneOf", "allOf"} & set(schema), path
    if "$ref" in schema:
        assert set(schema) == {"$ref"}, path
    if schema.get("type") == "object" or "properties" in schema:
        assert schema.get("additionalProperties") is False, path
        assert schema["required"] == list(schema["properties"]), path
    for key, value in schema.items():
        if key in ("properties", "$defs"):
            for name, sub in value.items():
                assert_strict(sub, f"{path}.{name}")
        elif key not in ("enum", "const", "required"):
            assert_strict(value, f"{path}.{key}")


def validator(schema: dict[str, Any]) -> jsonschema.Draft202012Validator:
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def check_class(cls: type, instance_json: str) -> dict[str, Any]:
    """The schema is strict, accepts the instance and refuses an extra or a missing key."""
    schema = json_schema(cls)
    assert_strict(schema)
    check = validator(schema)
    data = json.loads(instance_json)
    check.validate(data)
    with pytest.raises(jsonschema.ValidationError):
        check.validate({**data, "surprise": 1})
    first = next(iter(data))
    with pytest.raises(jsonschema.ValidationError):
        check.validate({k: v for k, v in data.items() if k != first})
    return schema


# -- schemas and round trips per class kind -------------------------------------------------


def test_attrs_schema_is_strict_and_round_trips() -> None:
    order = a_order()
    text = a_json(order)
    schema = check_class(AOrder, text)
    assert list(schema["$defs"]) == ["AItem", "AAddress"]  # each nested class once
    assert schema["properties"]["shipping"] == {
        "anyOf": [{"$ref": "#/$defs/AAddress"}, {"type": "null"}]}
    assert schema["properties"]["status"] == {"type": "string", "enum": ["open", "closed"]}
    assert schema["properties"]["kind"] == {"type": "string", "const": "order"}
    assert schema["properties"]["priority"] == {"type": "integer", "enum": [1, 2]}
    assert schema["properties"]["ratios"] == {"type": "array", "items": {"type": "number"}}
    assert schema["properties"]["note"] == {"anyOf": [{"type": "string"}, {"type": "null"}]}
    # A description next to a $ref is inlined: strict mode refuses siblings of $ref.
    assert schema["properties"]["billing"]["description"] == "Who pays"
    assert schema["properties"]["billing"]["properties"]["city"] == {"type": "string"}
    item = schema["$defs"]["AItem"]["properties"]
    assert item["name"] == {"type": "string", "description": "What is sold"}
    assert item["color"] == {"type": "string", "enum": ["red", "green"]}
    assert schema["$defs"]["AAddress"]["description"] == "A postal address."
    parsed = parse_as(AOrder, text)
    assert parsed == order
    assert isinstance(parsed.items[0], AItem) and parsed.items[0].color is Color.RED
    assert parsed.priority is Priority.HIGH and parsed.ratios == (0.5, 1.0)


def test_dataclass_schema_is_strict_and_round_trips() -> None:
    order = d_order()
    text = json.dumps(dataclasses.asdict(order), default=_enum_default)
    schema = check_class(DOrder, text)
    assert schema["properties"]["items"] == {"type": "array", "items": {"$ref": "#/$defs/DItem"}}
    assert schema["properties"]["backup"] == {
        "anyOf": [{"$ref": "#/$defs/DItem"}, {"type": "null"}]}
    assert schema["properties"]["flag"] == {"type": "boolean"}
    assert schema["$defs"]["DItem"]["properties"]["name"]["description"] == "What is sold"
    assert "description" not in schema  # not the signature dataclasses store as __doc__
    parsed = parse_as(DOrder, text)
    assert parsed == DOrder(7, [DItem("pen", 1.5, Color.GREEN)], "closed", DItem("ink"),
                            Priority.LOW, True)
    assert parsed.backup is not None and parsed.backup.color is Color.RED


def test_typeddict_schema_is_strict_and_round_trips() -> None:
    order: TOrder = {"id": 1, "items": [{"name": "pen", "price": 2, "color": "red"}],
                     "shipping": {"city": "Oslo", "zip_code": None}, "note": "x"}
    schema = check_class(TOrder, json.dumps(order))
    # An optional key is still required in strict mode, and typed nullable.
    assert schema["required"] == ["id", "items", "shipping", "note"]
    assert schema["properties"]["note"] == {"anyOf": [{"type": "string"}, {"type": "null"}]}
    assert schema["$defs"]["TItem"]["properties"]["color"] == {
        "type": "string", "enum": ["red", "green"]}
    parsed = parse_as(TOrder, json.dumps(order))
    assert type(parsed) is dict and type(parsed["items"][0]) is dict
    assert parsed["shipping"] == AAddress("Oslo", None)  # a nested attrs class is built
    assert {**parsed, "shipping": order["shipping"]} == order
    assert parsed["items"][0]["price"] == 2.0 and isinstance(parsed["items"][0]["price"], float)
    # A null optional key is left out, as the class means.
    without = parse_as(TOrder, json.dumps({**order, "note": None}))
    assert "note" not in without


@pytest.mark.skipif(sys.version_info < (3, 11), reason="typing.NotRequired is new in 3.11")
def test_typeddict_required_and_not_required_qualifiers() -> None:
    schema = json_schema(TNotRequired)
    assert_strict(schema)
    assert schema["properties"] == {
        "kept": {"type": "integer"},
        "left": {"anyOf": [{"type": "integer"}, {"type": "null"}]},
        "plain": {"anyOf": [{"type": "string"}, {"type": "null"}]},
    }
    assert parse_as(TNotRequired, '{"kept": 1, "left": null, "plain": "x"}') == {
        "kept": 1, "plain": "x"}
    with pytest.raises(ValueError, match=r"^kept: missing"):
        parse_as(TNotRequired, '{"left": 2}')


def test_pydantic_schema_is_strict_and_round_trips() -> None:
    pytest.importorskip("pydantic")
    order = POrder(id=3, items=[PItem(name="pen", price=1.5, color=Color.GREEN)],
                   status="open", billing=PAddress(city="Rome"), priority=Priority.HIGH)
    text = order.model_dump_json()
    schema = check_class(POrder, text)
    assert schema["required"] == list(schema["properties"])  # defaults required too
    assert schema["properties"]["shipping"]["anyOf"][1] == {"type": "null"}
    assert schema["properties"]["billing"]["description"] == "Who pays"
    assert "$ref" not in schema["properties"]["billing"]
    assert parse_as(POrder, text) == order


def test_pydantic_recursive_and_nested_in_a_dataclass() -> None:
    pytest.importorskip("pydantic")
    schema = json_schema(PNode)
    assert_strict(schema)
    assert schema["type"] == "object" and "$ref" not in schema  # the root is inline
    tree = {"name": "a", "children": [{"name": "b", "children": []}]}
    validator(schema).validate(tree)
    assert parse_as(PNode, json.dumps(tree)).children[0].name == "b"

    outer = json_schema(DWithP)
    assert_strict(outer)
    assert outer["properties"]["order"] == {"$ref": "#/$defs/POrder"}
    assert {"POrder", "PItem", "PAddress"} <= set(outer["$defs"])
    order = POrder(id=1, items=[], status="closed", billing=PAddress(city="Rome"))
    text = json.dumps({"label": "x", "order": json.loads(order.model_dump_json())})
    validator(outer).validate(json.loads(text))
    assert parse_as(DWithP, text) == DWithP("x", order)
    bad = json.dumps({"label": "x", "order": {**json.loads(order.model_dump_json()), "id": "z"}})
    with pytest.raises(ValueError, match=r"^order\.id: "):
        parse_as(DWithP, bad)


def test_pydantic_errors() -> None:
    pytest.importorskip("pydantic")
    with pytest.raises(TypeError, match="meta"):
        json_schema(PWithDict)
    with pytest.raises(ValueError, match=r"items\[0\]\.price"):
        parse_as(POrder, '{"id": 1, "items": [{"name": "a", "price": "x", "color": "red"}], '
                         '"status": "open", "shipping": null, "billing": {"city": "R"}, '
                         '"priority": 1}')


def test_the_module_does_not_import_pydantic() -> None:
    code = "import sys, aikit.helpers.structured; print('pydantic' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "False"


# -- recursion ------------------------------------------------------------------------------


def test_recursive_root_refers_to_itself() -> None:
    schema = json_schema(Node)
    assert_strict(schema)
    assert schema["properties"]["children"] == {"type": "array", "items": {"$ref": "#"}}
    tree = Node("a", [Node("b", [Node("c", [])]), Node("d", [])])
    text = json.dumps(dataclasses.asdict(tree))
    check = validator(schema)
    check.validate(json.loads(text))
    with pytest.raises(jsonschema.ValidationError):
        check.validate({"name": "a", "children": [{"name": "b"}]})
    assert parse_as(Node, text) == tree


def test_recursive_nested_class_goes_into_defs() -> None:
    schema = json_schema(Tree)
    assert_strict(schema)
    assert schema["properties"]["root"] == {"$ref": "#/$defs/Node"}
    assert schema["$defs"]["Node"]["properties"]["children"]["items"] == {
        "$ref": "#/$defs/Node"}
    tree = Tree("t", Node("a", [Node("b", [])]))
    text = json.dumps({"title": "t", "root": dataclasses.asdict(tree.root)})
    validator(schema).validate(json.loads(text))
    assert parse_as(Tree, text) == tree


# -- unsupported types and classes ----------------------------------------------------------


def test_dict_and_any_fields_are_refused_naming_the_field() -> None:
    with pytest.raises(TypeError, match=r"WithDict\.meta: .*free-form keys"):
        json_schema(WithDict)
    with pytest.raises(TypeError, match=r"WithAny\.payload: Any"):
        json_schema(WithAny)


@pytest.mark.parametrize("cls", [int, dict, object, Color, d_order(), list[DItem]])
def test_unsupported_classes_are_refused(cls: object) -> None:
    with pytest.raises(TypeError, match="must be an attrs class, a dataclass, a TypedDict or a "
                                        "pydantic model, not"):
        json_schema(cls)
    with pytest.raises(TypeError, match="must be an attrs class"):
        parse_as(cls, "{}")  # type: ignore[arg-type]


def test_schema_name_is_usable_by_the_api() -> None:
    assert schema_name(AOrder) == "AOrder"
    odd = dataclasses.make_dataclass("Odd Name<int>" + "x" * 80, [("a", int)])
    name = schema_name(odd)
    assert name.startswith("Odd_Name_int_") and len(name) == 64


def test_response_format_shapes() -> None:
    schema = json_schema(AOrder)
    assert chat_response_format(AOrder) == {
        "type": "json_schema",
        "json_schema": {"name": "AOrder", "schema": schema, "strict": True},
    }
    assert responses_text_format(AOrder) == {
        "format": {"type": "json_schema", "name": "AOrder", "schema": schema, "strict": True},
    }


# -- parse_as errors ------------------------------------------------------------------------


def a_data() -> dict[str, Any]:
    return dict(json.loads(a_json(a_order())))


def test_parse_as_refuses_invalid_json() -> None:
    with pytest.raises(ValueError, match=r"^invalid JSON"):
        parse_as(AOrder, '{"id": 1,')
    with pytest.raises(ValueError, match=r"^expected an object, got"):
        parse_as(AOrder, "[1, 2]")


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d["items"][1].update(price="x"), r"^items\[1\]\.price: expected a number, got 'x'$"),
    (lambda d: d.update(status="lost"), r"^status: expected one of 'open', 'closed', got 'lost'$"),
    (lambda d: d["items"][0].update(color="blue"), r"^items\[0\]\.color: expected one of 'red', "),
    (lambda d: d.update(kind="other"), r"^kind: expected one of 'order'"),
    (lambda d: d.update(priority=3), r"^priority: expected one of 1, 2, got 3$"),
    (lambda d: d["billing"].update(city=None), r"^billing\.city: expected a string, got None$"),
    (lambda d: d["items"][0].update(tags=[1]), r"^items\[0\]\.tags\[0\]: expected a string"),
    (lambda d: d.update(id=True), r"^id: expected an integer, got True$"),
    (lambda d: d.update(items={}), r"^items: expected a list"),
    (lambda d: d["billing"].pop("city"), r"^billing\.city: missing"),
    (lambda d: d["billing"].update(extra=1), r"^billing\.extra: unexpected key"),
])
def test_parse_as_names_the_path_of_a_bad_value(change: Any, message: str) -> None:
    data = a_data()
    change(data)
    with pytest.raises(ValueError, match=message):
        parse_as(AOrder, json.dumps(data))


def test_parse_as_uses_defaults_for_left_out_fields() -> None:
    data = a_data()
    for key in ("priority", "kind", "ratios", "note"):
        del data[key]
    parsed = parse_as(AOrder, json.dumps(data))
    assert (parsed.priority, parsed.kind, parsed.ratios, parsed.note) == (
        Priority.LOW, "order", (), None)
    assert parse_as(AOrder, json.dumps({**a_data(), "id": 7.0})).id == 7


# -- function tools -------------------------------------------------------------------------


def get_weather(city: str, unit: Literal["c", "f"] = "c", days: int | None = None) -> str:
    """Get the weather forecast
    for a city.

    Uses the forecast service.

    Args:
        city: The city name,
            with its country.
        unit (str): Temperature unit.
        days: How many days ahead.

    Returns:
        The forecast as text.
    """
    return f"{city}/{unit}/{days}"


def test_function_tool_fields_strict() -> None:
    fields = function_tool_fields(get_weather)
    assert fields["type"] == "function" and fields["name"] == "get_weather"
    assert fields["description"] == "Get the weather forecast for a city."
    assert fields["strict"] is True and fields["handler"] is get_weather
    parameters = fields["parameters"]
    assert_strict(parameters)
    assert parameters == {
        "type": "object",
        "properties": {
            "city": {"type": "string", "description": "The city name, with its country."},
            "unit": {"type": "string", "enum": ["c", "f"], "description": "Temperature unit."},
            "days": {"anyOf": [{"type": "integer"}, {"type": "null"}],
                     "description": "How many days ahead."},
        },
        "required": ["city", "unit", "days"],
        "additionalProperties": False,
    }
    validator(parameters).validate({"city": "Oslo", "unit": "c", "days": None})


def test_function_tool_fields_not_strict_and_renamed() -> None:
    fields = function_tool_fields(get_weather, name="weather", strict=False)
    assert fields["name"] == "weather" and fields["strict"] is False
    assert fields["parameters"]["required"] == ["city"]
    assert "additionalProperties" not in fields["parameters"]
    with pytest.raises(ValueError, match="tool name"):
        function_tool_fields(get_weather, name="not valid")


def test_function_tool_fields_rest_docstring_and_nested_classes() -> None:
    def add_item(item: DItem, color: Color | None = None) -> None:
        """Add an item.

        :param item: The item
            to add.
        :param Color color: Its colour.
        :returns: nothing
        """

    fields = function_tool_fields(add_item)
    parameters = fields["parameters"]
    assert_strict(parameters)
    assert fields["description"] == "Add an item."
    assert parameters["properties"]["item"]["description"] == "The item to add."
    assert parameters["properties"]["item"]["properties"]["price"] == {"type": "number"}
    assert parameters["properties"]["color"] == {
        "anyOf": [{"type": "string", "enum": ["red", "green"]}, {"type": "null"}],
        "description": "Its colour."}


def test_function_tool_fields_refuses_what_a_schema_cannot_describe() -> None:
    def unannotated(city: str, days) -> None:  # type: ignore[no-untyped-def]
        pass

    def star_args(*cities: str) -> None:
        pass

    def star_kwargs(**options: str) -> None:
        pass

    def free_form(meta: dict[str, int]) -> None:
        pass

    with pytest.raises(TypeError, match=r"'days'.*no type annotation"):
        function_tool_fields(unannotated)
    with pytest.raises(TypeError, match=r"\*cities"):
        function_tool_fields(star_args)
    with pytest.raises(TypeError, match=r"\*\*options"):
        function_tool_fields(star_kwargs)
    with pytest.raises(TypeError, match=r"free_form\(meta\)"):
        function_tool_fields(free_form)
    loose = function_tool_fields(free_form, strict=False)["parameters"]
    assert loose["properties"]["meta"] == {
        "type": "object", "additionalProperties": {"type": "integer"}}


def test_call_with_arguments_converts_and_calls() -> None:
    seen: list[tuple[DItem, Color, Priority | None]] = []

    def add_item(item: DItem, color: Color, priority: Priority | None = None) -> str:
        seen.append((item, color, priority))
        return "ok"

    result = call_with_arguments(
        add_item, {"item": {"name": "pen", "price": 2, "color": "green"}, "color": "red"})
    assert result == "ok"
    assert seen == [(DItem("pen", 2.0, Color.GREEN), Color.RED, None)]
    assert isinstance(seen[0][0], DItem) and seen[0][1] is Color.RED
    assert call_with_arguments(get_weather, '{"city": "Oslo", "days": 3}') == "Oslo/c/3"
    assert call_with_arguments(get_weather, {"city": "Oslo", "days": None}) == "Oslo/c/None"


@pytest.mark.parametrize(("arguments", "message"), [
    ({"city": "Oslo", "unit": "k"}, r"^unit: expected one of 'c', 'f', got 'k'$"),
    ({"city": "Oslo", "days": "three"}, r"^days: expected an integer, got 'three'$"),
    ({"city": 5}, r"^city: expected a string, got 5$"),
    ({"unit": "c"}, r"^city: missing argument"),
    ({"city": "Oslo", "hours": 3}, r"^hours: unexpected argument"),
    ("{not json", r"^invalid JSON arguments"),
    ("[1]", r"^the arguments must be a JSON object"),
])
def test_call_with_arguments_names_a_bad_argument(arguments: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call_with_arguments(get_weather, arguments)
