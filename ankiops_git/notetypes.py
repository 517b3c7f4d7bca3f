"""Note types: Anki names, fields, and their Markdown prefixes.

Five are built in (names as AnkiOps has them, so collections made with it work
unchanged; their templates and CSS live in `ankiops_git.anki.templates`). A repository
declares more in ankiops.toml (`[note_types.NAME]`, read by config.py): its own types,
with templates and CSS from files, or Anki's standard ones (Basic, Cloze, ...) mapped
to prefixes. `NoteTypes` is the set one repository uses: the built-ins plus its own;
it travels on the Config (`config.note_types`), the snapshots and the view of Anki.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

# Anki's LaTeX (rslib latex.rs): each span becomes an image named after its source text.
LATEX_RE = re.compile(r"\[latex\].*?\[/latex\]|\[\$\].*?\[/\$\]|\[\$\$\].*?\[/\$\$\]", re.I | re.S)
_FIELD_REF = re.compile(r"\{\{[#^/]?([^{}]+)\}\}")


@dataclass(frozen=True)
class NoteType:
    key: str  # short name used in the model: "QA"
    anki_name: str  # note type name in Anki: "AnkiOpsQA"
    fields: tuple[tuple[str, str], ...]  # (prefix, Anki field name) in Anki's field order
    required: tuple[str, ...]  # prefixes that must be present and non-empty
    # prefixes that identify this type; a note with identifying prefixes of two
    # types is an error. QA has none of its own: Q/A alone mean QA.
    identifying: tuple[str, ...]
    is_cloze: bool = False
    # Declared in ankiops.toml: "declared" (ours: templates and CSS from files, created
    # and kept up to date in Anki), "mapped" (a type Anki has, Basic say: its templates
    # are never touched); "builtin" for the five above.
    origin: str = "builtin"
    # (card name, front, back) and CSS of a "declared" type, read from its files
    card_templates: tuple[tuple[str, str, str], ...] = ()
    css: str = ""
    templates_dir: str = ""  # its folder, from the repository's top ("note-types/Vocab")
    allow_field_changes: bool = False  # [note_types.X] allow_field_changes = true
    where: str = ""  # where it is declared ("ankiops.toml [note_types.Vocab]"), for messages
    # prefixes of fields Anki's type may lack (a built-in's AnkiOps fields, `AI:`): not
    # created with the type, synced where Anki's type has them (push.optional_fields)
    optional: tuple[str, ...] = ()

    @property
    def prefixes(self) -> tuple[str, ...]:
        return tuple(p for p, _ in self.fields)

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(n for _, n in self.fields)

    @property
    def core_field_names(self) -> tuple[str, ...]:
        """The fields Anki's type must have (and is created with): all but optional."""
        return tuple(n for p, n in self.fields if p not in self.optional)

    @cached_property  # asked for every note a fetch converts
    def latex_fields(self) -> frozenset[str]:
        """The fields a card template puts inside Anki's LaTeX (`[latex]{{Front}}[/latex]`):
        their text is LaTeX source, kept exactly (convert.html_to_md's `latex`)."""
        spans = [m for _, f, b in self.card_templates for m in LATEX_RE.findall(f + "\n" + b)]
        used = {ref.split(":")[-1].strip() for s in spans for ref in _FIELD_REF.findall(s)}
        return frozenset(used & set(self.field_names))

    def field_for_prefix(self, prefix: str) -> str:
        return dict(self.fields)[prefix]

    def prefix_for_field(self, name: str) -> str:
        return {n: p for p, n in self.fields}[name]


# AnkiOps' fields beyond ours, optional on the built-ins: synced where the type in Anki
# has them (AnkiOps made it so), never added to a type (that forces a full sync).
# `S:` (Source) is AnkiOps 0.3/0.4's, `AI:` (AI Notes) both formats', `D:` (Divider)
# 0.6's Reversed, `C8:` (Choice 8) the Choice of both. In AnkiOps' field order.
_COMMON = (("E", "Extra"), ("M", "More"), ("S", "Source"), ("AI", "AI Notes"))
_OPTIONAL = ("S", "AI")
CHOICE_COUNT = 7  # the choices of our own Choice card
CHOICE_FIELDS = CHOICE_COUNT + 1  # a Choice note's: AnkiOps' card has an eighth (optional)

QA = NoteType(
    "QA",
    "AnkiOpsQA",
    (("Q", "Question"), ("A", "Answer"), *_COMMON),
    ("Q", "A"),
    (),
    optional=_OPTIONAL,
)
REVERSED = NoteType(
    "Reversed",
    "AnkiOpsReversed",
    (("F", "Front"), ("B", "Back"), ("D", "Divider"), *_COMMON),
    ("F", "B"),
    ("F", "B"),
    optional=("D", *_OPTIONAL),
)
INPUT = NoteType(
    "Input",
    "AnkiOpsInput",
    (("Q", "Question"), ("I", "Input"), *_COMMON),
    ("Q", "I"),
    ("I",),
    optional=_OPTIONAL,
)
CHOICE = NoteType(
    "Choice",
    "AnkiOpsChoice",
    (
        ("Q", "Question"),
        *((f"C{i}", f"Choice {i}") for i in range(1, CHOICE_FIELDS + 1)),
        ("A", "Answer"),
        *_COMMON,
    ),
    ("Q", "C1", "A"),
    tuple(f"C{i}" for i in range(1, CHOICE_COUNT + 1)),
    optional=("C8", *_OPTIONAL),
)

CLOZE = NoteType(
    "Cloze",
    "AnkiOpsCloze",
    (("T", "Text"), *_COMMON),
    ("T",),
    ("T",),
    is_cloze=True,
    optional=_OPTIONAL,
)

# A declared type's prefix: a capital letter, then up to 11 letters, digits or `_`
# (AnkiOps' labels, `Word:` or `IO_IMG:`, fit).
PREFIX_SHAPE = re.compile(r"[A-Z][A-Za-z0-9_]{0,11}")
_BUILTIN_PREFIX_PATTERN = r"Q|A|F|B|T|I|E|M|C[1-8]|S|AI|D"


class NoteTypes:
    """The note types of one repository: the five built-ins, then those it declares.

    Which type a note is follows from its prefixes (`note_type_for`): a type whose
    identifying prefixes it uses, else QA. A declared type's identifying prefixes
    belong to it alone (config.py checks), so that stays unambiguous."""

    def __init__(self, declared: tuple[NoteType, ...] = ()) -> None:
        self.declared = declared
        self.all: tuple[NoteType, ...] = (QA, REVERSED, CLOZE, INPUT, CHOICE, *declared)
        self.by_key: dict[str, NoteType] = {t.key: t for t in self.all}
        self.by_anki_name: dict[str, NoteType] = {t.anki_name: t for t in self.all}
        self.prefixes: tuple[str, ...] = tuple(
            dict.fromkeys(p for t in self.all for p in t.prefixes)
        )
        extra = sorted({p for t in declared for p in t.prefixes} - set(BUILTIN_PREFIXES))
        pattern = "|".join([_BUILTIN_PREFIX_PATTERN, *map(re.escape, extra)])
        # A prefix is followed by a space, or by nothing but blanks (`A:` + tab is an
        # empty A:): see deckfile.
        self.prefix_re = re.compile(rf"^({pattern}):(?: |[ \t]*$)")
        self.extra_prefix_re = (
            re.compile(rf"^({'|'.join(map(re.escape, extra))}):(?: |[ \t]*$)") if extra else None
        )
        self.prefix_list = ", ".join(f"{p}:" for p in self.prefixes)
        # what a cache of parsed files keys on: the same declarations, the same parse
        self.token = repr(tuple((t.key, t.fields, t.required, t.identifying) for t in declared))
        self._type_for: dict[tuple[str, ...], NoteType | str] = {}

    def __repr__(self) -> str:
        return f"NoteTypes({', '.join(t.key for t in self.declared)})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, NoteTypes) and other.declared == self.declared

    def __hash__(self) -> int:
        return hash(self.token)


# The five built-in types alone, for code about them only (their templates, .apkg's
# fixed note types). What a repository syncs is its NoteTypes (Config.note_types).
NOTE_TYPES: dict[str, NoteType] = {t.key: t for t in (QA, REVERSED, CLOZE, INPUT, CHOICE)}
BY_ANKI_NAME: dict[str, NoteType] = {t.anki_name: t for t in NOTE_TYPES.values()}
BUILTIN_PREFIXES: tuple[str, ...] = tuple(
    dict.fromkeys(p for t in NOTE_TYPES.values() for p in t.prefixes)
)
BUILTIN = NoteTypes()  # a repository that declares none
