"""Reading a page's form errors as a browser and a screen reader meet them: each element by its
id with its attributes and text, what an input's aria-describedby points at, and the summary."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

VOID = {"input", "br", "img", "meta", "link", "hr", "source", "wbr", "col", "area", "base", "embed"}


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    text: str = ""
    children: list[Element] = field(default_factory=list)


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.by_id: dict[str, Element] = {}
        self.open: list[Element] = []
        self.all: list[Element] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {name: value or "" for name, value in attrs})
        for parent in self.open:  # elements separate words, as they do on screen
            parent.text += " "
        self.all.append(element)
        if "id" in element.attrs:
            self.by_id[element.attrs["id"]] = element
        if tag not in VOID:
            self.open.append(element)

    def handle_endtag(self, tag: str) -> None:
        while self.open:
            if self.open.pop().tag == tag:
                break

    def handle_data(self, data: str) -> None:
        for element in self.open:
            element.text += data


@dataclass
class Page:
    by_id: dict[str, Element]
    elements: list[Element]

    def text(self, element_id: str) -> str:
        return " ".join(self.by_id[element_id].text.split())

    def described_by(self, element_id: str) -> list[str]:
        """The texts a screen reader reads with the field, in order (every id must exist)."""
        ids = self.by_id[element_id].attrs.get("aria-describedby", "").split()
        return [self.text(described) for described in ids]

    def invalid(self) -> list[str]:
        return [element.attrs.get("id", "") for element in self.elements if element.attrs.get("aria-invalid")]

    def alerts(self) -> list[str]:
        return [
            " ".join(element.text.split())
            for element in self.elements
            if element.attrs.get("role") == "alert"
        ]


def parse(html: str) -> Page:
    parser = _Parser()
    parser.feed(html)
    return Page(parser.by_id, parser.all)
