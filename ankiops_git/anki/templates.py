"""Card templates and CSS of the note types, as backend-neutral data.

Both backends create note types from `spec()`: the collection backend through the
`anki` package, the AnkiConnect backend through `createModel`. `changes()` decides,
for a repository's note types and what Anki has of them, what a push creates or
updates (a declared type's templates and CSS) and what it refuses (a field added or
removed, unless allowed: that forces a full sync on every device). Everything a card
needs is inline (CSS, the Choice card's small script): no external resources, so
cards work offline on AnkiDroid and AnkiMobile. `M:` (More) sits behind a
click-to-reveal `<details>`, which needs no JavaScript.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from ankiops_git.errors import AnkiRejected
from ankiops_git.notetypes import (
    CHOICE,
    CHOICE_COUNT,
    CLOZE,
    INPUT,
    NOTE_TYPES,
    QA,
    REVERSED,
    NoteTypes,
)
from ankiops_git.notetypes import NoteType as ModelNoteType


@dataclass(frozen=True)
class CardTemplate:
    name: str
    front: str
    back: str


@dataclass(frozen=True)
class NoteTypeSpec:
    name: str  # Anki note type name
    fields: tuple[str, ...]  # in Anki's field order
    templates: tuple[CardTemplate, ...]
    css: str
    is_cloze: bool


_EXTRA_MORE = (
    '{{#Extra}}<div class="ankiops-extra">{{Extra}}</div>{{/Extra}}\n'
    '{{#More}}<details class="ankiops-more"><summary>More</summary>'
    '<div class="ankiops-more-body">{{More}}</div></details>{{/More}}'
)

_BASE_CSS = """\
.card {
  font-family: -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  font-size: 20px;
  line-height: 1.5;
  text-align: left;
  color: #1f2328;
  background-color: #ffffff;
  max-width: 48em;
  margin: 0 auto;
  padding: 0 0.5em;
}
.card.nightMode, .nightMode .card { color: #e6edf3; background-color: #1f2328; }
hr#answer { margin: 1em 0; }
img { max-width: 100%; height: auto; }
pre, code { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 0.9em; }
pre { overflow-x: auto; padding: 0.6em; border-radius: 4px; background: #f6f8fa; }
.nightMode pre { background: #2d333b; }
table { border-collapse: collapse; }
td, th { border: 1px solid #d0d7de; padding: 0.2em 0.5em; }
.ankiops-extra { margin-top: 1em; font-size: 0.9em; color: #59636e; }
.nightMode .ankiops-extra { color: #9198a1; }
.ankiops-more { margin-top: 1em; font-size: 0.9em; }
.ankiops-more > summary { cursor: pointer; color: #0969da; }
.nightMode .ankiops-more > summary { color: #4493f8; }
.cloze { font-weight: bold; color: #0969da; }
.nightMode .cloze { color: #4493f8; }
.ankiops-choices { padding-left: 0; list-style: none; }
.ankiops-choice { margin: 0.3em 0; padding: 0.3em 0.6em; border: 1px solid #d0d7de;
  border-radius: 4px; cursor: pointer; }
.ankiops-choice.selected { border-color: #0969da; background: rgba(9, 105, 218, 0.1); }
.ankiops-choice.correct { border-color: #1a7f37; background: rgba(26, 127, 55, 0.15); }
.ankiops-choice.wrong { border-color: #cf222e; background: rgba(207, 34, 46, 0.15); }
.ankiops-choice.missed { border-color: #1a7f37; border-style: dashed; }
.ankiops-choice-key { margin-top: 0.5em; font-size: 0.9em; color: #59636e; }
"""


def css() -> str:
    """The CSS every AnkiOps note type carries: card styles plus code highlighting."""
    # Imported here: the converter package (pygments, html5lib, ...) costs ~0.4 s, and
    # only the commands that create or check note types need the CSS.
    from ankiops_git.convert.highlight import stylesheet

    return _BASE_CSS + "\n/* code highlighting (Pygments) */\n" + stylesheet() + "\n"


def _qa() -> tuple[CardTemplate, ...]:
    front = '<div class="ankiops-question">{{Question}}</div>'
    back = '{{FrontSide}}\n<hr id="answer">\n<div class="ankiops-answer">{{Answer}}</div>\n'
    return (CardTemplate("Card 1", front, back + _EXTRA_MORE),)


def _reversed() -> tuple[CardTemplate, ...]:
    def card(name: str, ask: str, answer: str) -> CardTemplate:
        front = f'<div class="ankiops-question">{{{{{ask}}}}}</div>'
        back = (
            f'{{{{FrontSide}}}}\n<hr id="answer">\n'
            f'<div class="ankiops-answer">{{{{{answer}}}}}</div>\n'
        )
        return CardTemplate(name, front, back + _EXTRA_MORE)

    return (card("Front to back", "Front", "Back"), card("Back to front", "Back", "Front"))


def _cloze() -> tuple[CardTemplate, ...]:
    front = '<div class="ankiops-cloze">{{cloze:Text}}</div>'
    back = '<div class="ankiops-cloze">{{cloze:Text}}</div>\n'
    return (CardTemplate("Cloze", front, back + _EXTRA_MORE),)


def _input() -> tuple[CardTemplate, ...]:
    front = '<div class="ankiops-question">{{Question}}</div>\n{{type:Input}}'
    back = '<div class="ankiops-question">{{Question}}</div>\n<hr id="answer">\n{{type:Input}}\n'
    return (CardTemplate("Card 1", front, back + _EXTRA_MORE),)


def _choice_list() -> str:
    items = "".join(
        f'{{{{#Choice {i}}}}}<li class="ankiops-choice" data-choice="{i}">'
        f"{{{{Choice {i}}}}}</li>{{{{/Choice {i}}}}}"
        for i in range(1, CHOICE_COUNT + 1)
    )
    return f'<ol class="ankiops-choices">{items}</ol>'


# The choice script. Without JavaScript every choice is still shown (in field order)
# and the back shows the answer key as text. With it: the front shuffles the choices
# and lets the user select some; the back shows them in the same order and marks
# correct / wrong / missed. State passes from front to back in sessionStorage when
# available (separate page loads on phones) and in a window variable otherwise.
# The key is the choices' text, so a different note never reuses another's order.
_CHOICE_JS = """\
<script>
(function () {
  var side = "%SIDE%";
  var list = document.querySelector(".ankiops-choices");
  if (!list) { return; }
  var items = Array.prototype.slice.call(list.querySelectorAll(".ankiops-choice"));
  var key = "ankiops-choice:" + items.map(function (li) { return li.textContent; }).join("\\u001f");
  function load() {
    try { var s = window.sessionStorage.getItem(key); if (s) { return JSON.parse(s); } }
    catch (e) {}
    return (window.ankiopsChoiceState || {})[key] || null;
  }
  function save(state) {
    try { window.sessionStorage.setItem(key, JSON.stringify(state)); } catch (e) {}
    window.ankiopsChoiceState = window.ankiopsChoiceState || {};
    window.ankiopsChoiceState[key] = state;
  }
  function byNumber(n) {
    for (var i = 0; i < items.length; i++) {
      if (items[i].getAttribute("data-choice") === String(n)) { return items[i]; }
    }
    return null;
  }
  var state = side === "back" ? load() : null;
  if (!state) {
    var order = items.map(function (li) { return li.getAttribute("data-choice"); });
    for (var i = order.length - 1; i > 0; i--) {
      var j = Math.floor(Math.random() * (i + 1));
      var t = order[i]; order[i] = order[j]; order[j] = t;
    }
    state = { order: order, selected: [] };
    if (side === "front") { save(state); }
  }
  state.order.forEach(function (n) { var li = byNumber(n); if (li) { list.appendChild(li); } });
  if (side === "front") {
    items.forEach(function (li) {
      li.addEventListener("click", function () {
        var n = li.getAttribute("data-choice");
        var at = state.selected.indexOf(n);
        if (at < 0) { state.selected.push(n); li.classList.add("selected"); }
        else { state.selected.splice(at, 1); li.classList.remove("selected"); }
        save(state);
      });
    });
    return;
  }
  var keyEl = document.querySelector(".ankiops-choice-answer");
  var correct = ((keyEl && keyEl.textContent) || "").match(/\\d+/g) || [];
  items.forEach(function (li) {
    var n = li.getAttribute("data-choice");
    var isCorrect = correct.indexOf(n) >= 0;
    var chosen = state.selected.indexOf(n) >= 0;
    if (isCorrect && chosen) { li.classList.add("correct"); }
    else if (isCorrect) { li.classList.add("correct", "missed"); }
    else if (chosen) { li.classList.add("wrong"); }
  });
})();
</script>"""


def _choice() -> tuple[CardTemplate, ...]:
    question = '<div class="ankiops-question">{{Question}}</div>\n'
    front = question + _choice_list() + "\n" + _CHOICE_JS.replace("%SIDE%", "front")
    back = (
        question
        + _choice_list()
        + '\n<hr id="answer">\n'
        + '<div class="ankiops-choice-key">Answer: '
        + '<span class="ankiops-choice-answer">{{Answer}}</span></div>\n'
        + _EXTRA_MORE
        + "\n"
        + _CHOICE_JS.replace("%SIDE%", "back")
    )
    return (CardTemplate("Card 1", front, back),)


_TEMPLATES = {
    QA.key: _qa,
    REVERSED.key: _reversed,
    CLOZE.key: _cloze,
    INPUT.key: _input,
    CHOICE.key: _choice,
}


def spec(note_type: ModelNoteType) -> NoteTypeSpec:
    """Everything needed to create `note_type` in Anki (a built-in or declared one)."""
    if note_type.origin != "builtin":
        return NoteTypeSpec(
            name=note_type.anki_name,
            fields=note_type.field_names,
            templates=tuple(CardTemplate(*t) for t in note_type.card_templates),
            css=note_type.css,
            is_cloze=note_type.is_cloze,
        )
    return NoteTypeSpec(
        name=note_type.anki_name,
        fields=note_type.core_field_names,  # AnkiOps' optional ones only where Anki has them
        templates=_TEMPLATES[note_type.key](),
        css=css(),
        is_cloze=note_type.key == CLOZE.key,
    )


def all_specs() -> list[NoteTypeSpec]:
    return [spec(t) for t in NOTE_TYPES.values()]


ALLOW_FIELD_CHANGES_ENV = "ANKIOPS_ALLOW_FIELD_CHANGES"  # =1: as allow_field_changes = true


@dataclass(frozen=True)
class Existing:
    """What Anki has of a note type."""

    fields: list[str]
    is_cloze: bool | None  # None: not known (an add-on without findModelsByName)
    templates: tuple[CardTemplate, ...] | None = None  # in Anki's order; None: not read
    css: str | None = None


@dataclass
class TypeChange:
    """What a push does to one note type in Anki."""

    spec: NoteTypeSpec
    create: bool = False
    add_fields: list[str] = field(default_factory=list)
    remove_fields: list[str] = field(default_factory=list)
    templates: bool = False  # write the templates' front and back
    css: bool = False
    notes: list[str] = field(default_factory=list)  # what the user should know, unchanged

    def empty(self) -> bool:
        return not (
            self.create
            or self.add_fields
            or self.remove_fields
            or self.templates
            or self.css
            or self.notes
        )

    def lines(self) -> list[str]:
        name = self.spec.name
        if self.create:
            return [f"note type {name!r} created"]
        out = []
        fields = [
            f"field(s) {', '.join(names)} {what}"
            for names, what in ((self.add_fields, "added"), (self.remove_fields, "removed"))
            if names
        ]
        if fields:
            out.append(
                f"note type {name!r}: {' and '.join(fields)} (so a full sync is needed: on "
                f"the next sync Anki asks which side to keep; keep this collection, upload, "
                f"then every other device downloads it)"
            )
        if self.templates or self.css:
            parts = (("templates", self.templates), ("CSS", self.css))
            what = " and ".join(w for w, on in parts if on)
            out.append(f"note type {name!r}: {what} updated")
        return out + self.notes


# A declared type's templates and CSS as the last push sent them (the files of the
# commit Anki has, anki/main): anki name -> (templates, CSS); see sync.pushed_templates.
Pushed = dict[str, tuple[tuple[CardTemplate, ...], str]]


def changes(
    types: NoteTypes,
    existing: dict[str, Existing],
    allow_field_changes: bool = False,
    pushed: Pushed | None = None,
) -> list[TypeChange]:
    """What to create or update so Anki has the repository's note types; AnkiRejected,
    before anything is written, for what cannot be done (or may not, unasked).

    `existing`: Anki's note types by name (those of `types` that Anki has). Built-in
    types are created if missing and otherwise used as they are (more fields are fine).
    Declared types ("declared") are created, and their templates and CSS kept as the
    files say; their fields must be Anki's, unless field changes are allowed (the type's
    `allow_field_changes`, the argument, or ANKIOPS_ALLOW_FIELD_CHANGES=1). Mapped
    types ("mapped", Anki's Basic, say) must exist with the fields they name; they are
    never changed.

    `pushed`: a declared type's templates and CSS as last pushed. Anki's differing from
    them is an edit made in Anki: never overwritten. Unchanged in the files, Anki's
    stay (and the user is told); changed in both, the push is refused."""
    allow_all = allow_field_changes or os.environ.get(ALLOW_FIELD_CHANGES_ENV) == "1"
    out: list[TypeChange] = []
    for note_type in types.all:
        have = existing.get(note_type.anki_name)
        if note_type.origin == "mapped":
            if have is None:
                raise AnkiRejected(
                    f"Note type {note_type.anki_name!r} ({note_type.where}) is not in Anki. "
                    f"Create it in Anki (Tools > Manage Note Types), or correct anki_name; "
                    f'with templates = "..." ankiops-git creates it. Nothing was pushed.'
                )
            _check_mapped(note_type, have)
            continue
        wanted = spec(note_type)
        if have is None:
            out.append(TypeChange(wanted, create=True))
            continue
        if note_type.origin == "builtin":
            if problem := mismatch(wanted, have.fields, have.is_cloze):
                raise AnkiRejected(problem)
            continue
        before = (pushed or {}).get(note_type.anki_name)
        out.append(_declared_change(note_type, wanted, have, allow_all, before))
    return [c for c in out if not c.empty()]


def _check_mapped(note_type: ModelNoteType, have: Existing) -> None:
    missing = [f for f in note_type.field_names if f not in have.fields]
    if missing:
        raise AnkiRejected(
            f"Note type {note_type.anki_name!r} in Anki has no field "
            f"{', '.join(map(repr, missing))} that {note_type.where} maps (its fields: "
            f"{', '.join(have.fields)}). Correct `fields` in ankiops.toml; ankiops-git never "
            f"changes the fields of a type it does not own. Nothing was pushed."
        )
    _check_kind(note_type, have)


def _check_kind(note_type: ModelNoteType, have: Existing) -> None:
    if have.is_cloze is not None and have.is_cloze != note_type.is_cloze:
        kind = "a cloze" if have.is_cloze else "not a cloze"
        fix = "cloze = true" if have.is_cloze else "no cloze = true"
        raise AnkiRejected(
            f"Note type {note_type.anki_name!r} in Anki is {kind} note type, but "
            f"{note_type.where} says otherwise: write {fix} there. Nothing was pushed."
        )


def _declared_change(
    note_type: ModelNoteType,
    wanted: NoteTypeSpec,
    have: Existing,
    allow_all: bool,
    before: tuple[tuple[CardTemplate, ...], str] | None = None,
) -> TypeChange:
    change = TypeChange(wanted)
    _check_kind(note_type, have)
    added = [f for f in wanted.fields if f not in have.fields]
    removed = [f for f in have.fields if f not in wanted.fields]
    if added or removed:
        if not (allow_all or note_type.allow_field_changes):
            what = "; ".join(
                part
                for part in (
                    f"adds {', '.join(map(repr, added))}" if added else "",
                    f"removes {', '.join(map(repr, removed))} (and its text in every note)"
                    if removed
                    else "",
                )
                if part
            )
            raise AnkiRejected(
                f"Note type {note_type.anki_name!r}: {note_type.where} {what}, against the "
                f"fields Anki has ({', '.join(have.fields)}). Adding or removing a field "
                f"changes the collection's schema, which forces a full sync on every device "
                f"(AnkiWeb, phones: one side then replaces the other; reviews done "
                f"elsewhere since the last sync are lost). If that is what you want, set "
                f"allow_field_changes = true under [note_types.{note_type.key}] in "
                f"ankiops.toml and push again (or push once: `ankiops-git push "
                f"--allow-field-changes`, or {ALLOW_FIELD_CHANGES_ENV}=1 git push anki); "
                f"otherwise put the fields back. Nothing was pushed."
            )
        change.add_fields, change.remove_fields = added, removed
    if have.templates is not None:
        names = [t.name for t in have.templates]
        if names != [t.name for t in wanted.templates]:
            raise AnkiRejected(
                f"Note type {note_type.anki_name!r}: its cards in Anki are "
                f"{', '.join(map(repr, names))}, the files of {note_type.where} give "
                f"{', '.join(repr(t.name) for t in wanted.templates)}. ankiops-git does not "
                f"add, remove or rename card types (that forces a full sync and can delete "
                f"cards with their reviews): change them in Anki (Tools > Manage Note "
                f"Types > Cards) to match, or rename the files. Nothing was pushed."
            )
        last_templates = before[0] if before is not None else None
        change.templates = _three_way(
            change, note_type, "templates", have.templates, wanted.templates, last_templates
        )
    if have.css is not None:
        change.css = _three_way(
            change, note_type, "CSS", have.css, wanted.css, before[1] if before else None
        )
    return change


def _three_way(
    change: TypeChange,
    note_type: ModelNoteType,
    what: str,
    have: object,
    want: object,
    last: object,
) -> bool:
    """Whether to write the files' `want` over Anki's `have`, given `last`, what the
    last push sent (None: not known): never over an edit made in Anki since."""
    if have == want:
        return False
    if last is None or have == last:
        return True  # Anki has what was pushed (or nothing is known): the files say
    folder = note_type.templates_dir or "its folder"
    if want == last:
        change.notes.append(
            f"note type {note_type.anki_name!r}: its {what} were changed in Anki since the "
            f"last push; Anki's are kept. `ankiops-git note-type import "
            f"{note_type.anki_name!r} --update` writes them into {folder}/ (commit them: a "
            f"change to the files there is refused until they hold Anki's)"
        )
        return False
    raise AnkiRejected(
        f"Note type {note_type.anki_name!r}: its {what} were changed in Anki since the last "
        f"push, and in {folder}/ too. Keep both: commit or stash your change, run "
        f"`ankiops-git note-type import {note_type.anki_name!r} --update` (Anki's into the "
        f"files), put your change back in, commit and push again. Nothing was pushed."
    )


def field_mismatch(name: str, expected: tuple[str, ...], actual: list[str]) -> str | None:
    """A clear message if an existing note type lacks fields ours need, else None.

    Order is not compared (fields are read and written by name). Fields beyond ours
    are fine: AnkiOps' optional ones (`AI Notes`, `Divider`, `Choice 8`, `Source`) are
    synced where the type has them; others (`AnkiOps Key`, a user's own) are neither
    read, written nor removed (removing a field forces a full sync on every device).
    """
    missing = [f for f in expected if f not in actual]
    if not missing:
        return None
    extra = [f for f in actual if f not in expected]
    has = f"; it has {', '.join(repr(f) for f in extra)} instead" if extra else ""
    return (
        f"Note type {name!r} in Anki has different fields than ankiops-git expects "
        f"(missing {', '.join(repr(f) for f in missing)}{has}). Expected fields: "
        f"{', '.join(expected)} (more are fine). ankiops-git never adds or removes fields "
        f"itself: rename the note type in Anki (Tools > Manage Note Types) so a fresh one "
        f"can be created, or fix its fields."
    )


def mismatch(spec: NoteTypeSpec, fields: list[str], is_cloze: bool | None) -> str | None:
    """A clear message if an existing note type cannot serve as `spec`, else None.

    `is_cloze`: whether the existing type is a cloze type (None: unknown, not checked).
    """
    if problem := field_mismatch(spec.name, spec.fields, fields):
        return problem
    if is_cloze is not None and is_cloze != spec.is_cloze:
        kind = "a cloze" if spec.is_cloze else "a standard (non-cloze)"
        return (
            f"Note type {spec.name!r} in Anki is not {kind} note type, which ankiops-git "
            f"needs. Rename that note type in Anki (Tools > Manage Note Types) so a fresh "
            f"one can be created."
        )
    return None
