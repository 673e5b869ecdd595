"""export: existing assistants → files that plan clean ("export, then plan" is empty) and hold no secret.

Each file has the assistant's ``id`` and every field the platform returned, in a stable order of groups; what
the file leaves out is what the contract clears anyway (null, [] or {}), so it is left out for brevity. A field
the platform never returns cannot be exported: a comment says so, and leaving it out keeps the platform's value.
Secret values (the calendar integration's API key, anything under a secret-looking key, URLs that carry a
credential) become ``${NAME}`` placeholders, and the API token becomes ``${GLORIA_API_TOKEN}`` wherever the
platform returned it; the run prints the variable names to set. What is written passes the secret policy of
every file the tool writes (``output.redacted``) last. ``--names`` writes names instead of ids wherever the
name resolves back to the same id, and no ``id`` line, so the files travel to another account.

Every file starts with the ``yaml-language-server`` schema line. One secret value is one variable across the
export. An assistant a file in the directory manages gets no second file (``check_no_second_file``); ``--unmanaged``
exports the others (docs/contract.md, Commands).
"""

from __future__ import annotations

import os
import re
import textwrap
from collections.abc import Callable, Container, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import yaml

from reconciler import names
from reconciler.desired import DesiredAssistant, DesiredState, check_file, layer_loader, load_directory
from reconciler.errors import ReconcilerError, UsageError
from reconciler.factor import Entry, Row, Shared, own_entry, shared_values
from reconciler.fields import CLEARED_TO, EXPORT_GROUPS
from reconciler.files import discover, leads_outside, repository_of
from reconciler.output import redacted
from reconciler.remote import Account, RemoteAssistant, applies_to_mode
from reconciler.secret import MIN_SECRET_LENGTH, Secret
from reconciler.streams import Writer
from reconciler.text import counted, printable
from reconciler.yamlfile import plain_scalar_tag

GROUPS = EXPORT_GROUPS
SECRET_KEY = re.compile(r"(api_?key|secret|token|password)", re.IGNORECASE)
SECRET_URL_PARAM = re.compile(
    r"(key|secret|token|password|pass|sig|signature|auth|credential)", re.IGNORECASE
)
STR_TAG = "tag:yaml.org,2002:str"
TOKEN_VARIABLE = "GLORIA_API_TOKEN"
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)  # not on Windows, where O_EXCL alone refuses an existing link
HEADER = (
    "# Exported by `reconciler export`. A field left out is cleared if the API can clear it (null, [] or {}),\n"
    "# and otherwise kept as it is on the platform.\n"
)
FACTORED_HEADER = (
    "# Exported by `reconciler export --factor`. A field left out comes from _defaults.yaml; one it does not\n"
    "# set is cleared if the API can clear it (null, [] or {}), and otherwise kept as it is on the platform.\n"
)
DEFAULTS_HEADER = (
    "# Written by `reconciler export --factor`: the values at least half of the exported assistants share.\n"
    "# The lowest layer of every assistant file in this directory; a file sets what differs (null clears).\n"
)
DEFAULTS_KEY = "_defaults"


@dataclass
class ExportedFile:
    key: str
    assistant_id: int | None  # None: the defaults layer of ``--factor``
    text: str
    secrets: dict[str, Secret] = field(default_factory=dict)  # environment variable → value (never written)
    write_only: tuple[str, ...] = ()
    shared_by: int = 0  # the defaults layer: how many assistants it was factored from


def slug(name: str | None) -> str:
    text = re.sub(r"[^a-z0-9]+", "-", (name or "").casefold()).strip("-")
    return text[:60].rstrip("-") or "assistant"


def keys_for(
    assistants: Iterable[RemoteAssistant],
    token: Secret | None = None,
    *,
    fixed: Mapping[int, str] | None = None,
    taken: Iterable[str] = (),
) -> dict[int, str]:
    """File keys from names (but never from a name that holds the token: a file name is printed and committed);
    collisions get -2, -3... in id order, so the result is the same every time. ``fixed`` keeps the key of the
    file that manages an assistant already; no other assistant gets one of the keys in ``taken``."""
    keys = dict(fixed or {})
    used = set(taken) | set(keys.values())
    for assistant in sorted(assistants, key=lambda a: a.id):
        if assistant.id in keys:
            continue
        base = candidate = slug(None if _reveals(assistant.name or "", token) else assistant.name)
        counter = 1
        while candidate in used:
            counter += 1
            candidate = f"{base}-{counter}"
        used.add(candidate)
        keys[assistant.id] = candidate
    return keys


@dataclass(frozen=True)
class ExportRequest:
    """What the export command asks beyond which ids: the directory's files, and how to write the new ones."""

    state: DesiredState | None = None  # the files already in --dir (None: no directory yet)
    unmanaged: bool = False  # only the assistants no file in the directory manages
    force: bool = False
    schema: str | None = None
    secret_names: Mapping[str, str] = field(default_factory=dict)
    factor: bool = False  # --factor: also write _defaults.yaml with what the assistants share


def files_in(directory: Path, *, strict: bool) -> DesiredState | None:
    """The files already in ``directory``, placeholders unresolved (export needs no secret of its own).

    ``--unmanaged`` needs every file valid, since a file it cannot read may manage an assistant it would export
    again; ``--all`` and ``--id`` use the files that load and leave the others (a link at a file's name, say)
    to the checks of ``write_exported``, as before they looked at the files at all.
    """
    if not directory.is_dir():
        return None
    if strict:
        return load_directory(directory, environ=None)
    layers = layer_loader(directory, environ=None)  # one for all the files: each layer is read once
    loaded = (check_file(path, environ=None, layers=layers)[0] for path in discover(directory)[0])
    return DesiredState(directory, tuple(a for a in loaded if a is not None))


def check_no_second_file(
    ids: Iterable[int], managing: Mapping[int, DesiredAssistant], *, force: bool
) -> None:
    """Refuse to export an assistant a file manages already: two files for one assistant make every plan fail.

    Refused as a whole, as export writes all or nothing: skipping would leave ``--all`` short of what it says,
    and ``--unmanaged`` is the way to ask for the others. With ``--force`` the managing file itself is written
    again (its key is kept), which is a refresh, not a second file.
    """
    managed = [i for i in ids if i in managing]
    if managed and not force:
        first = managing[managed[0]]
        more = f" (and {len(managed) - 1} more)" if len(managed) > 1 else ""
        raise ReconcilerError(
            f"assistant {managed[0]} is managed by {printable(first.source.file)} already{more}; nothing was "
            "written. Use --unmanaged to export only the assistants no file manages, or --force to write the "
            "managing files again"
        )


@dataclass(frozen=True)
class Layout:
    """Where the files go and what is there already; the defaults are a fresh directory."""

    schema: str | None = None  # the JSON Schema's path or URL, for the yaml-language-server line
    fixed: Mapping[int, str] = field(default_factory=dict)  # id → key of the file that manages it (--force)
    taken: frozenset[str] = frozenset()  # keys a new file must not take (--unmanaged: the directory's own)
    secret_names: Mapping[str, str] = field(default_factory=dict)  # --secret-name FIELD=NAME
    factor: bool = False  # --factor (reconciler.factor)


def export(
    account: Account,
    ids: list[int],
    catalog: names.Catalog | None,
    token: Secret | None = None,
    layout: Layout = Layout(),
) -> list[ExportedFile]:
    """One file per assistant in ``ids``; ``catalog`` set means ``--names``. ``token``, the run's API token, is
    written as ``${GLORIA_API_TOKEN}`` wherever the platform returned it (it never names a file). With
    ``layout.factor`` the first file is ``_defaults.yaml``, and the others say only what they do not share."""
    chosen = [a for a in account.assistants if a.id in set(ids)]
    keys = keys_for(chosen, token, fixed=layout.fixed, taken=layout.taken)
    ordered = sorted(chosen, key=lambda a: keys[a.id])
    variables = _Variables(layout.secret_names, _shared_secrets(ordered, keys, token))
    drafts = [_draft(a, keys[a.id], catalog, token, variables) for a in ordered]
    shared = shared_values([d.row for d in drafts]) if layout.factor else None
    files = [_file(d, catalog is None, layout.schema, shared) for d in drafts]
    if shared is not None:
        files.insert(0, _defaults_file(shared, layout.schema, len(drafts)))
    unused = sorted(set(layout.secret_names) - variables.fields_used)
    if unused:
        raise UsageError(
            f"--secret-name {unused[0]}=...: no secret the export writes is under a field named {unused[0]!r}"
        )
    return files


class _Variables:
    """The environment variable of every secret one export writes: one per distinct value, across all its files.

    A value two assistants share (one Cal.com key for a team) is one variable, named by its field alone
    (``CALCOM_API_KEY``) rather than after one of the assistants; a value of one assistant keeps its prefix
    (``SALES_BOT_CALCOM_API_KEY``). ``--secret-name FIELD=NAME`` names the values under FIELD; distinct values
    under it get ``NAME_2``, ``NAME_3`` in file order.
    """

    def __init__(self, chosen: Mapping[str, str], shared: set[str]) -> None:
        self.chosen = dict(chosen)
        self.shared = shared
        self.by_value: dict[str, str] = {}
        self.taken = {TOKEN_VARIABLE}
        self.fields_used: set[str] = set()

    def name(self, value: str, prefix: str, label: str) -> str:
        if value in self.by_value:
            return self.by_value[value]
        if label in self.chosen:
            self.fields_used.add(label)
            variable = _unique(self.chosen[label], self.taken)
        else:
            base = _variable_name(label if value in self.shared else f"{prefix}_{label}")
            variable = _unique(base, self.taken | set(self.chosen.values()))
        self.taken.add(variable)
        self.by_value[value] = variable
        return variable


def _shared_secrets(
    assistants: list[RemoteAssistant], keys: dict[int, str], token: Secret | None
) -> set[str]:
    """The secret values more than one of ``assistants`` holds (a first pass over what ``_file`` will hide)."""
    holders: dict[str, set[int]] = {}
    for assistant in assistants:

        def record(value: str, prefix: str, label: str, who: int = assistant.id) -> str:
            holders.setdefault(value, set()).add(who)
            return label

        _hide_secrets(_escaped(assistant), keys[assistant.id], {}, token, record)
    return {value for value, who in holders.items() if len(who) > 1}


class _Dumper(yaml.SafeDumper):
    """Block scalars for multi-line text, so prompts read as they were written; quotes where readers differ."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    return dumper.represent_scalar(STR_TAG, value, style=_style(value))


#: Line breaks to YAML 1.1 (and so to the emitter, which writes them raw and indents after them), ordinary
#: characters to YAML 1.2 and the loader: only a double-quoted scalar escapes them (``\N``, ``\L``, ``\P``).
_BREAKS_IN_1_1_ONLY = ("\x85", "\u2028", "\u2029")


def _style(value: str) -> str | None:
    """How to write a string so that the loader (YAML 1.2) reads it back as the same string.

    PyYAML's emitter follows YAML 1.1: it quotes what 1.1 would read as another type (``'off'``, ``'1_000'``;
    harmless, and the file means the same to 1.1 tools such as editors), but writes ``1e3``, ``0o17`` or ``+.5``
    unquoted, which 1.2 reads as numbers; the loader itself says which strings those are. A literal block
    (``|``) keeps multi-line text legible, except text ending in more than one line break: keep chomping
    (``|+``) would also take in the blank line that follows the field, and PyYAML ends it with ``...``.
    """
    if any(separator in value for separator in _BREAKS_IN_1_1_ONLY):
        return '"'
    if "\n" in value and not (value == "\n" or value.endswith("\n\n")):
        return "|"
    if plain_scalar_tag(value) != STR_TAG:
        return "'"  # or double quotes, where the emitter finds single ones unfit
    return None


_Dumper.add_representer(str, _str)


@dataclass
class _Draft:
    """One assistant's file before it is text: every field of its mode the platform returned, as written."""

    assistant: RemoteAssistant
    key: str
    entries: dict[str, Entry]  # API field → (key written, value): secrets hidden, names resolved
    secrets: dict[str, Secret]

    @property
    def row(self) -> Row:
        return Row(self.assistant.mode, self.entries)


def _draft(
    assistant: RemoteAssistant,
    key: str,
    catalog: names.Catalog | None,
    token: Secret | None,
    variables: _Variables,
) -> _Draft:
    secrets: dict[str, Secret] = {}
    values = _hide_secrets(_escaped(assistant), key, secrets, token, variables.name)
    if catalog is not None:
        values = _with_names(values, assistant, catalog)
    entries = {
        name: (out_key, values[out_key])
        for _, group in GROUPS
        for name in group
        for out_key in (names.NAME_OF_ID.get(name), name)
        if out_key is not None and out_key in values
    }
    return _Draft(assistant, key, entries, secrets)


def _file(draft: _Draft, with_id: bool, schema: str | None, shared: Shared | None = None) -> ExportedFile:
    """The file's text; on top of ``shared`` (``--factor``) it leaves out what it shares with the others and
    writes what it does not, cleared values included (``factor.own_entry``), and names its write-only fields
    in one comment rather than one line each: a factored file keeps to what is its own."""
    assistant = draft.assistant
    write_only = [
        name
        for _, group in GROUPS
        for name in group
        if name not in assistant.observed and applies_to_mode(name, assistant.mode)
    ]
    lines = [schema_line(schema)] if schema else []
    lines += [FACTORED_HEADER if shared is not None else HEADER]
    lines += [_write_only_note(write_only)] if shared is not None and write_only else []
    lines += [f"id: {assistant.id}\n"] if with_id else []
    for title, group in GROUPS:
        block = []
        for name in group:
            if name in write_only and shared is None:
                block.append(_write_only_comment(name))
            entry = draft.entries.get(name)
            if entry is not None and shared is not None and shared.covers(name):
                entry = own_entry(entry, name, shared)
            elif entry is not None and _implied(*entry):
                entry = None
            if entry is not None:
                block.append(_dump(*entry))
        if block:
            lines.append(f"\n# {title}\n" + "".join(block))
    return ExportedFile(draft.key, assistant.id, "".join(lines), draft.secrets, tuple(write_only))


def _defaults_file(shared: Shared, schema: str | None, count: int) -> ExportedFile:
    """``_defaults.yaml``: the shared values in the order and sections of an assistant file."""
    lines = [schema_line(schema)] if schema else []
    lines += [DEFAULTS_HEADER]
    for title, group in GROUPS:
        block = [_dump(*shared.fields[name]) for name in group if name in shared.fields]
        if "variables" in group and shared.variables:
            block.append(_dump("variables", shared.variables))
        if block:
            lines.append(f"\n# {title}\n" + "".join(block))
    if not shared:
        lines.append("{}\n")  # no value is shared: an empty layer, so that an older one is not left in force
    return ExportedFile(DEFAULTS_KEY, None, "".join(lines), shared_by=count)


def _implied(name: str, value: Any) -> bool:
    """Left out because leaving it out means the same: the contract clears a missing clearable field."""
    return (name in CLEARED_TO and value == CLEARED_TO[name]) or value is None


def _dump(name: str, value: Any) -> str:
    return str(yaml.dump({name: value}, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=110))


def _write_only_comment(name: str) -> str:
    return (
        f"# {name}: write-only (the API never returns it), so not exported; left out, the platform keeps it\n"
    )


def _write_only_note(fields: list[str]) -> str:
    text = "Write-only (the API never returns them), so not exported; left out, the platform keeps them: "
    return "".join(f"# {line}\n" for line in textwrap.wrap(text + ", ".join(fields), 108))


def schema_line(schema: str) -> str:
    """The first line of an exported file, as in the repository's own files: editors then check the file."""
    return f"# yaml-language-server: $schema={schema}\n"


def schema_reference(directory: Path) -> str:
    """Where files in ``directory`` find the JSON Schema: ``schema/assistant.schema.json`` at the repository's
    top, where ``reconciler schema`` output is kept (README), as a path relative to the directory."""
    schema = repository_of(directory) / "schema" / "assistant.schema.json"
    return Path(os.path.relpath(schema, os.path.abspath(directory))).as_posix()


def _escaped(assistant: RemoteAssistant) -> dict[str, Any]:
    return {k: _escape(v) for k, v in assistant.fields.items()}


def _escape(value: Any) -> Any:
    """A literal ``${`` in a platform value must stay literal when the file is read back."""
    if isinstance(value, str):
        return value.replace("${", "$${")
    if isinstance(value, list):
        return [_escape(v) for v in value]
    if isinstance(value, dict):
        return {k: _escape(v) for k, v in value.items()}
    return value


def _hide_secrets(
    values: dict[str, Any],
    key: str,
    secrets: dict[str, Secret],
    token: Secret | None,
    variable_for: Callable[[str, str, str], str],
) -> dict[str, Any]:
    """``values`` with every secret a ``${NAME}``; ``variable_for(value, prefix, label)`` names it."""
    prefix = re.sub(r"[^A-Z0-9]+", "_", key.upper()).strip("_")
    # a token too short to tell from ordinary text is left to the last line of defence
    written_token = _escape(token.reveal()) if token and len(token.reveal()) >= MIN_SECRET_LENGTH else ""

    def walk(value: Any, label: str, secret: bool) -> Any:
        if isinstance(value, dict):
            return {k: walk(v, k, secret or bool(SECRET_KEY.search(k))) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v, label, secret) for v in value]
        if isinstance(value, str) and (secret or secret_url(value)):
            variable = variable_for(value, prefix, "VALUE" if _reveals(label, token) else label)
            secrets[variable] = Secret(value.replace("$${", "${"))
            return "${" + variable + "}"
        if isinstance(value, str) and token and written_token and written_token in value:
            # the placeholder reads back as the same text wherever the token is set, so the plan stays empty
            secrets[TOKEN_VARIABLE] = token
            return value.replace(written_token, "${" + TOKEN_VARIABLE + "}")
        return value

    return {k: walk(v, k, bool(SECRET_KEY.search(k))) for k, v in values.items()}


def _reveals(text: str, token: Secret | None) -> bool:
    """Whether a name made from ``text`` (a file key, a variable name: case and punctuation changed) would
    still show the token."""
    if token is None or len(token.reveal()) < MIN_SECRET_LENGTH:
        return False
    letters = re.sub(r"[\W_]+", "", token.reveal().casefold())
    return bool(letters) and letters in re.sub(r"[\W_]+", "", text.casefold())


def secret_url(value: str) -> bool:
    """A URL that carries a credential: ``https://user:pass@host`` or ``?token=...``, ``?sig=...``."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https"):
        return False
    names = [name for name, _ in parse_qsl(parts.query, keep_blank_values=True)]
    return bool(parts.password) or any(SECRET_URL_PARAM.search(name) for name in names)


def _variable_name(text: str) -> str:
    return re.sub(r"[^A-Z0-9_]+", "_", text.upper())


def _unique(name: str, taken: Container[str]) -> str:
    candidate, counter = name, 1
    while candidate in taken:
        counter += 1
        candidate = f"{name}_{counter}"
    return candidate


def _with_names(values: dict[str, Any], assistant: RemoteAssistant, catalog: names.Catalog) -> dict[str, Any]:
    language = values.get("language_id")
    context = names.Context(
        assistant.mode, language if isinstance(language, int) else None, values.get("type")
    )
    result = dict(values)
    for id_field, name_key in names.NAME_OF_ID.items():
        value = values.get(id_field)
        if value is None or value == []:
            continue
        items = value if isinstance(value, list) else [value]
        found = [catalog.unique_name(id_field, item, context) for item in items]
        if all(found):
            result[name_key] = found if isinstance(value, list) else found[0]
            del result[id_field]
    return result


def write_exported(directory: Path, files: list[ExportedFile], *, force: bool) -> list[Path]:
    """Write every file, or none, and only inside ``directory``: existing files (and links at the files' names,
    dangling or not) are refused as a whole unless ``force``; a link is then replaced itself, never followed."""
    check_directory(directory)
    paths = [directory / f"{f.key}.yaml" for f in files]
    targets = [q for p in paths for q in (p, p.with_suffix(".yml"))]
    _refuse_directories([q for q in targets if q.is_dir() and not q.is_symlink()])
    if not force:
        _refuse_links([q for q in targets if q.is_symlink()])
        _refuse_existing([p for p in paths for q in (p, p.with_suffix(".yml")) if q.exists()])
    if any(f.assistant_id is None for f in files):
        _refuse_foreign(directory, paths)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # a file, or a dangling link inside the repository, in the directory's place
        raise ReconcilerError(
            f"cannot create {printable(str(directory))}: {exc.strerror or exc}; nothing was written"
        ) from exc
    # the secret policy of every file the tool writes: redacted on the way to the disk
    staged = _stage(directory, [(p, redacted(f.text)) for p, f in zip(paths, files, strict=True)])
    for path, temporary in staged:
        path.with_suffix(".yml").unlink(missing_ok=True)  # a link is removed itself, its target left alone
        os.replace(temporary, path)  # a rename: it replaces a link at ``path``, not what the link points to
    return paths


def check_directory(directory: Path) -> None:
    """Refuse an export directory that is (or sits below) a link to outside its repository."""
    where = leads_outside(directory, repository_of(directory))
    if where is not None:
        raise ReconcilerError(f"--dir {printable(str(directory))} {where}; nothing was written")


def _refuse_directories(directories: list[Path]) -> None:
    if directories:
        raise ReconcilerError(
            f"{printable(str(directories[0]))} is a directory; nothing was written. Move it away to export"
        )


def _refuse_links(links: list[Path]) -> None:
    if links:
        more = f" (and {counted(len(links) - 1, 'more link')})" if len(links) > 1 else ""
        raise ReconcilerError(
            f"{printable(str(links[0]))} is a symbolic link to {printable(os.readlink(links[0]))}{more}; "
            "nothing was written. Use --force to replace the link itself (its target is never written)"
        )


def _refuse_existing(clashes: list[Path]) -> None:
    if clashes:
        listed = ", ".join(str(p) for p in clashes[:10]) + (" ..." if len(clashes) > 10 else "")
        raise ReconcilerError(
            f"{counted(len(clashes), 'file')} {'exists' if len(clashes) == 1 else 'exist'} already ({listed}); "
            "nothing was written. Use --force to overwrite"
        )


def _refuse_foreign(directory: Path, paths: list[Path]) -> None:
    """``--factor``: the new ``_defaults.yaml`` is the lowest layer of every assistant file in the directory, so
    a file the export does not write (one for an assistant yet to be created, say) would change meaning."""
    written = set(paths)
    foreign = (
        [p for p in discover(directory)[0] if p.with_suffix(".yaml") not in written]
        if directory.is_dir()
        else []
    )
    if foreign:
        more = f" (and {counted(len(foreign) - 1, 'more file')})" if len(foreign) > 1 else ""
        raise ReconcilerError(
            f"{printable(str(foreign[0]))}{more} would inherit the new {DEFAULTS_KEY}.yaml too, and this export "
            "does not write it; nothing was written. Move it out of --dir to export with --factor"
        )


def _stage(directory: Path, contents: list[tuple[Path, str]]) -> list[tuple[Path, Path]]:
    """Each text in a new hidden file of ``directory`` (``O_EXCL``: never an existing name or a link), so that
    putting them in place is one rename each; on failure the staged files are removed and nothing was written."""
    staged: list[tuple[Path, Path]] = []
    try:
        for path, text in contents:
            temporary = directory / f".{path.name}.{os.urandom(8).hex()}.tmp"
            staged.append((path, temporary))
            descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o666)
            with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
                stream.write(text)
    except OSError as exc:
        for _, temporary in staged:
            temporary.unlink(missing_ok=True)
        raise ReconcilerError(
            f"cannot write in {printable(str(directory))}: {exc.strerror or exc}; nothing was written"
        ) from exc
    return staged


def report_export(directory: Path, files: list[ExportedFile], written: list[Path], stream: Writer) -> None:
    assistants = sum(1 for f in files if f.assistant_id is not None)
    stream.write(f"Exported {counted(assistants, 'assistant')} to {directory}/\n")
    for exported, path in zip(files, written, strict=True):
        if exported.assistant_id is None:
            stream.write(f"  {path.name}: what at least half of the {exported.shared_by} assistants share\n")
            continue
        extra = (
            f" (write-only, not exported: {', '.join(exported.write_only)})" if exported.write_only else ""
        )
        stream.write(f"  {path.name}: id {exported.assistant_id}{extra}\n")
    variables = sorted({v for f in files for v in f.secrets})
    if variables:
        stream.write(
            "Secrets were written as placeholders; set these environment variables before plan or apply:\n"
            + "".join(f"  {name}\n" for name in variables)
        )
