"""Sync a collection file with AnkiWeb or a self-hosted sync server, as Anki desktop does.

Everything here goes through the official `anki` package's own sync calls
(`Collection.sync_login`, `sync_collection`, `full_upload_or_download`,
`media_sync_status`): no protocol code of ours. The login is a key the server hands
out for a user name and password; the password is never kept. The key is kept where
Anki desktop keeps it when the collection is a profile's (`prefs21.db` in Anki's data
folder, the profile's `syncKey`, `currentSyncUrl`, `customSyncUrl`), else in the deck
repository's git config (`ankiops.synckey`, `ankiops.syncendpoint`, `ankiops.syncuser`),
else (a script's bare collection path) only in memory.

A full sync (one side replaces the other) is never done unless asked for with
`full="upload"` or `full="download"`: without it, `FullSyncRequired` says which way
it would go and what each side would lose.
"""

from __future__ import annotations

import io
import pickle
import sqlite3
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

import anki.errors
from anki.collection import Collection
from anki.sync import SyncAuth, SyncOutput

from ankiops_git.errors import AnkiOpsError

Full = Literal["upload", "download"]
ANKIWEB = "AnkiWeb"
PREFS_NAME = "prefs21.db"  # Anki's profiles database, in its data folder
TIMEOUT_SECS = 60  # Anki's own default network timeout
KEY_CONFIG = "ankiops.synckey"
ENDPOINT_CONFIG = "ankiops.syncendpoint"
USER_CONFIG = "ankiops.syncuser"


class SyncFailed(AnkiOpsError):
    """The sync server could not be reached, or refused the login or the sync."""


class NotLoggedIn(SyncFailed):
    """No sync login is kept for this collection."""


class FullSyncRequired(AnkiOpsError):
    """Anki needs a full sync, one side replacing the other; nothing was synced.

    `choices`: the directions Anki allows ("upload", "download"); the message says
    what each would lose."""

    def __init__(self, message: str, choices: tuple[Full, ...]) -> None:
        super().__init__(message)
        self.choices = choices


@dataclass(frozen=True)
class SyncLogin:
    key: str  # the server's key for the account (Anki's "hkey")
    endpoint: str | None = None  # None: AnkiWeb
    username: str | None = None

    @property
    def server(self) -> str:
        return self.endpoint or ANKIWEB


@dataclass(frozen=True)
class SyncReport:
    """What a sync did: `kind` is "normal" (changes exchanged, or none to exchange),
    "upload" or "download" (a full sync)."""

    kind: Literal["normal", "upload", "download"]
    server: str
    media: bool
    server_message: str = ""

    def line(self) -> str:
        what = {"normal": "synced", "upload": "uploaded to", "download": "downloaded from"}
        media = " (with media)" if self.media else ""
        text = f"sync: {what[self.kind]} {self.server}{media}"
        return text + (f"; the server says: {self.server_message}" if self.server_message else "")


# --- where the login is kept ------------------------------------------------------------


class LoginStore(Protocol):
    where: str  # for messages: where the login is kept

    def load(self) -> SyncLogin | None: ...

    def endpoint(self) -> str | None:
        """The server to log in to when none is given (None: AnkiWeb)."""
        ...

    def save(self, login: SyncLogin, custom_endpoint: bool) -> None:
        """Keep the login; `custom_endpoint`: its endpoint was chosen by the user."""
        ...

    def redirected(self, endpoint: str) -> None:
        """The server said to use `endpoint` from now on."""
        ...

    def forget_key(self) -> None: ...

    def media(self) -> bool:
        """Whether media is synced too (Anki's per-profile setting; else yes)."""
        ...


class MemoryLoginStore:
    """A login kept for the life of this object (a script's bare collection path)."""

    where = "memory (this session only)"

    def __init__(self, login: SyncLogin | None = None) -> None:
        self.login = login

    def load(self) -> SyncLogin | None:
        return self.login

    def endpoint(self) -> str | None:
        return self.login.endpoint if self.login else None

    def save(self, login: SyncLogin, custom_endpoint: bool) -> None:
        self.login = login

    def redirected(self, endpoint: str) -> None:
        if self.login is not None:
            self.login = SyncLogin(self.login.key, endpoint, self.login.username)

    def forget_key(self) -> None:
        self.login = None

    def media(self) -> bool:
        return True


class GitConfigLoginStore:
    """The login in a repository's .git/config (never committed, never pushed)."""

    def __init__(self, repo: Any) -> None:  # a pygit2.Repository
        self.repo = repo
        self.where = f"git config {KEY_CONFIG} of {Path(repo.path).parent}"

    def _get(self, name: str) -> str | None:
        return str(self.repo.config[name]) or None if name in self.repo.config else None

    def load(self) -> SyncLogin | None:
        key = self._get(KEY_CONFIG)
        if key is None:
            return None
        return SyncLogin(key, self._get(ENDPOINT_CONFIG), self._get(USER_CONFIG))

    def endpoint(self) -> str | None:
        return self._get(ENDPOINT_CONFIG)

    def save(self, login: SyncLogin, custom_endpoint: bool) -> None:
        self.repo.config[KEY_CONFIG] = login.key
        if login.username:
            self.repo.config[USER_CONFIG] = login.username
        if login.endpoint:
            self.repo.config[ENDPOINT_CONFIG] = login.endpoint
        elif ENDPOINT_CONFIG in self.repo.config:
            del self.repo.config[ENDPOINT_CONFIG]

    def redirected(self, endpoint: str) -> None:
        self.repo.config[ENDPOINT_CONFIG] = endpoint

    def forget_key(self) -> None:
        if KEY_CONFIG in self.repo.config:
            del self.repo.config[KEY_CONFIG]

    def media(self) -> bool:
        return True


class _ProfileUnpickler(pickle.Unpickler):
    """Reads a profile's settings as Anki does without Qt: a QByteArray (window state
    of old profiles) becomes bytes, as Anki itself saves it; anything else that is not
    plain data is refused."""

    def find_class(self, module: str, name: str) -> Any:
        if module == "sip" or module.endswith(".sip"):

            def unpickle_type(_module: str, klass: str, args: Any) -> Any:
                if klass == "QByteArray":
                    return bytes(args[0])
                raise pickle.UnpicklingError(f"a {klass} in the profile")

            return unpickle_type
        raise pickle.UnpicklingError(f"{module}.{name} in the profile")


class ProfileLoginStore:
    """The login in Anki desktop's own place: the profile's settings in prefs21.db.

    Anki reads it back at its next start: its Sync button then uses the same login."""

    def __init__(self, prefs: Path, profile: str) -> None:
        self.prefs = prefs
        self.profile = profile
        self.where = f"Anki's settings for profile {profile!r} ({prefs})"

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.prefs, timeout=5)

    def _read(self) -> dict[str, Any]:
        try:
            with self._connect() as db:
                row = db.execute(
                    "select cast(data as blob) from profiles where name = ? collate nocase",
                    (self.profile,),
                ).fetchone()
        except sqlite3.Error as e:
            raise AnkiOpsError(f"Cannot read {self.prefs} ({e}); nothing was synced.") from e
        if row is None:
            raise AnkiOpsError(f"{self.prefs} has no profile {self.profile!r}.")
        try:
            data = _ProfileUnpickler(io.BytesIO(row[0])).load()
        except (pickle.UnpicklingError, EOFError, ValueError, TypeError) as e:
            raise AnkiOpsError(
                f"Cannot read the settings of profile {self.profile!r} in {self.prefs} ({e}). "
                f"Open the profile in Anki once and close it, then retry."
            ) from e
        if not isinstance(data, dict):
            raise AnkiOpsError(f"The settings of profile {self.profile!r} are not Anki's.")
        return data

    def _update(self, change: Callable[[dict[str, Any]], None]) -> None:
        data = self._read()
        change(data)
        with self._connect() as db:
            db.execute(
                "update profiles set data = ? where name = ? collate nocase",
                (pickle.dumps(data, protocol=4), self.profile),
            )

    def load(self) -> SyncLogin | None:
        data = self._read()
        key = data.get("syncKey")
        if not key:
            return None
        endpoint = data.get("currentSyncUrl") or data.get("customSyncUrl") or None
        return SyncLogin(str(key), endpoint, data.get("syncUser"))

    def endpoint(self) -> str | None:
        data = self._read()
        return data.get("currentSyncUrl") or data.get("customSyncUrl") or None

    def save(self, login: SyncLogin, custom_endpoint: bool) -> None:
        def change(data: dict[str, Any]) -> None:
            data["syncKey"] = login.key
            data["syncUser"] = login.username
            if custom_endpoint:  # as Anki's preferences set a custom sync server
                if login.endpoint != data.get("customSyncUrl"):
                    data["currentSyncUrl"] = None
                data["customSyncUrl"] = login.endpoint

        self._update(change)

    def redirected(self, endpoint: str) -> None:
        self._update(lambda data: data.__setitem__("currentSyncUrl", endpoint))

    def forget_key(self) -> None:
        def change(data: dict[str, Any]) -> None:  # Anki's clear_sync_auth
            data["syncKey"] = None
            data["syncUser"] = None
            data["hostNum"] = 0
            data["currentSyncUrl"] = None

        self._update(change)

    def host_number(self, number: int) -> None:
        self._update(lambda data: data.__setitem__("hostNum", number))

    def media(self) -> bool:
        return bool(self._read().get("syncMedia", True))


def profile_prefs(collection: Path) -> Path | None:
    """Anki's prefs21.db if `collection` is a profile's collection.anki2 listed there."""
    prefs = collection.parent.parent / PREFS_NAME
    if collection.name != "collection.anki2" or not prefs.is_file():
        return None
    try:
        with sqlite3.connect(f"{prefs.as_uri()}?mode=ro", uri=True, timeout=5) as db:
            row = db.execute(
                "select 1 from profiles where name = ? collate nocase", (collection.parent.name,)
            ).fetchone()
    except sqlite3.Error:
        return None
    return prefs if row else None


def login_store(collection: Path, repo: Any | None = None) -> LoginStore:
    """Where the login for this collection file is kept: the profile's settings if it is
    a profile's collection, else the repository's git config, else memory."""
    prefs = profile_prefs(collection)
    if prefs is not None:
        return ProfileLoginStore(prefs, collection.parent.name)
    if repo is not None:
        return GitConfigLoginStore(repo)
    return MemoryLoginStore()


# --- login and sync ---------------------------------------------------------------------


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split())


def _failed(error: Exception, server: str, what: str) -> AnkiOpsError:
    if isinstance(error, anki.errors.SyncError) and error.kind is anki.errors.SyncErrorKind.AUTH:
        return SyncFailed(
            f"{server} refused the login ({error}). Log in again: `ankiops-git login` "
            f"(the user name and password of your {server} account); nothing was synced."
        )
    if isinstance(error, anki.errors.NetworkError):
        detail = " ".join(str(error).split())
        return SyncFailed(
            f"Cannot reach the sync server {server} ({detail}). Check the network, or that "
            f"the server runs at that address; nothing was {what}."
        )
    return SyncFailed(f"{server}: {_one_line(error)}; nothing was {what}.")


def login(
    col: Collection,
    store: LoginStore,
    username: str,
    password: str,
    endpoint: str | None = None,
) -> SyncLogin:
    """Log in to `endpoint` (default: the server the store names, else AnkiWeb) and keep
    the key in `store`; the password is not kept."""
    custom = endpoint is not None
    endpoint = endpoint if custom else store.endpoint()
    server = endpoint or ANKIWEB
    if not username or not password:
        raise SyncFailed("Give a user name and a password to log in; nothing was changed.")
    try:
        auth = col.sync_login(username=username, password=password, endpoint=endpoint)
    except anki.errors.BackendError as e:
        if isinstance(e, anki.errors.SyncError) and e.kind is anki.errors.SyncErrorKind.AUTH:
            raise SyncFailed(
                f"{server} refused the user name or password ({_one_line(e)}); no login was kept."
            ) from e
        raise _failed(e, server, "changed") from e
    result = SyncLogin(auth.hkey, auth.endpoint or endpoint or None, username)
    store.save(result, custom)
    return result


def sync(
    col: Collection,
    store: LoginStore,
    *,
    full: Full | None = None,
    media: bool | None = None,
    on_reopen: Callable[[], None] | None = None,
) -> SyncReport:
    """Sync `col` with the server of the login kept in `store`: a normal sync exchanges
    changes both ways (media too, unless `media` is False or the profile turned it off).

    Where Anki needs a full sync, `full` says which way ("upload": this collection
    replaces the server's; "download": the server's replaces this one); without it,
    FullSyncRequired says what each would lose, and nothing is synced. `on_reopen`:
    called after a full sync reopened the collection (caches of it are stale).
    """
    found = store.load()
    if found is None:
        raise NotLoggedIn(
            f"Not logged in to a sync server (looked in {store.where}). Log in once: "
            f"`ankiops-git login` (AnkiWeb) or `ankiops-git login --endpoint URL` (your own "
            f"server); nothing was synced."
        )
    with_media = store.media() if media is None else media
    auth = SyncAuth(hkey=found.key, endpoint=found.endpoint, io_timeout_secs=TIMEOUT_SECS)
    try:
        out = col.sync_collection(auth, with_media)
    except anki.errors.BackendError as e:
        if isinstance(e, anki.errors.SyncError) and e.kind is anki.errors.SyncErrorKind.AUTH:
            store.forget_key()  # as Anki does: the key is no good any more
        raise _failed(e, found.server, "synced") from e
    if isinstance(store, ProfileLoginStore):
        store.host_number(out.host_number)
    server = found.server
    if out.new_endpoint:
        store.redirected(out.new_endpoint)
        auth = SyncAuth(hkey=found.key, endpoint=out.new_endpoint, io_timeout_secs=TIMEOUT_SECS)
    message = " ".join(out.server_message.split())
    if out.required in (SyncOutput.NO_CHANGES, SyncOutput.NORMAL_SYNC):
        if with_media:
            _wait_for_media(col, server)
        return SyncReport("normal", server, with_media, message)
    allowed: tuple[Full, ...] = ("upload", "download")
    if out.required == SyncOutput.FULL_UPLOAD:
        allowed = ("upload",)
    elif out.required == SyncOutput.FULL_DOWNLOAD:
        allowed = ("download",)
    if full is None or full not in allowed:
        raise FullSyncRequired(_full_sync_message(col, auth, server, out, full), allowed)
    col.close_for_full_sync()
    try:
        col.full_upload_or_download(
            auth=auth,
            server_usn=out.server_media_usn if with_media else None,
            upload=full == "upload",
        )
    except anki.errors.BackendError as e:
        raise _failed(e, server, "replaced") from e
    finally:
        col.reopen(after_full_sync=True)
        if on_reopen is not None:
            on_reopen()
    if with_media:
        _wait_for_media(col, server)
    return SyncReport(full, server, with_media, message)


def _wait_for_media(col: Collection, server: str) -> None:
    """Media syncs in the background once the collection has: wait until it is done."""
    while True:
        try:
            status = col.media_sync_status()
        except anki.errors.BackendError as e:
            raise SyncFailed(
                f"The notes synced with {server}, but the media did not ({_one_line(e)}). "
                f"Sync again to retry the media."
            ) from e
        if not status.active:
            return
        time.sleep(0.05)


# --- what a full sync would lose ---------------------------------------------------------


@dataclass(frozen=True)
class Side:
    notes: dict[int, int]  # note id -> mod
    reviews: set[int]  # revlog ids
    cards: int


def _side(col: Collection) -> Side:
    db = col.db
    assert db is not None
    notes = {int(i): int(m) for i, m in db.all("select id, mod from notes")}
    reviews = {int(i) for i in db.list("select id from revlog")}
    return Side(notes, reviews, int(db.scalar("select count() from cards")))


def _server_side(auth: SyncAuth) -> Side | None:
    """The server's collection, downloaded into a scratch copy (no media) and read: what
    a full sync would weigh. None if that fails (the message then says less)."""
    with tempfile.TemporaryDirectory(prefix="ankiops-sync-") as tmp:
        scratch = Collection(str(Path(tmp) / "collection.anki2"))
        try:
            scratch.close_for_full_sync()
            try:
                scratch.full_upload_or_download(auth=auth, server_usn=None, upload=False)
            finally:
                scratch.reopen(after_full_sync=True)
            return _side(scratch)
        except anki.errors.BackendError:
            return None
        finally:
            scratch.close()


def _losses(loser: Side, winner: Side) -> str:
    only = [i for i in loser.notes if i not in winner.notes]
    newer = [i for i, m in loser.notes.items() if i in winner.notes and m > winner.notes[i]]
    reviews = len(loser.reviews - winner.reviews)
    parts = [
        f"{len(only)} note(s) not on the other side",
        f"{len(newer)} note(s) edited more recently than there",
        f"{reviews} review(s) not on the other side",
    ]
    return ", ".join(parts)


def _full_sync_message(
    col: Collection, auth: SyncAuth, server: str, out: SyncOutput, asked: Full | None
) -> str:
    here = _side(col)
    if out.required == SyncOutput.FULL_UPLOAD:
        head = (
            f"{server} has no collection to sync with yet (no cards): a first full upload "
            f"is needed. `--upload` sends this collection ({len(here.notes)} note(s), "
            f"{here.cards} card(s)); the server has nothing to lose."
        )
        if asked == "download":
            head += " Downloading is not possible: it would empty this collection."
        return head + " Nothing was synced."
    if out.required == SyncOutput.FULL_DOWNLOAD:
        there = _server_side(auth)
        size = f" ({len(there.notes)} note(s), {there.cards} card(s))" if there else ""
        head = (
            f"This collection has no cards: a full download from {server} is needed. "
            f"`--download` replaces it with the server's{size}; this side loses "
            f"{len(here.notes)} note(s) without cards and any settings made here."
        )
        if asked == "upload":
            head += " Uploading is not possible: it would empty the server's collection."
        return head + " Nothing was synced."
    there = _server_side(auth)
    if there is None:
        upload = "the server's changes since the last sync are lost"
        download = "this collection's changes since the last sync are lost"
    else:
        upload = f"the server (and every device at its next sync) loses {_losses(there, here)}"
        download = f"this collection loses {_losses(here, there)}"
    return (
        f"Anki needs a full sync with {server}: one side must replace the other (a note "
        f"type's fields or cards changed, say). Nothing was synced. Choose: `--upload`: this "
        f"collection replaces the server's: {upload}. `--download`: the server's collection "
        f"replaces this one: {download}."
    )


# --- over either backend ----------------------------------------------------------------

THROUGH_DESKTOP = "Anki desktop's sync (AnkiConnect)"


def sync_backend(
    backend: Any, repo: Any | None = None, *, full: Full | None = None, media: bool | None = None
) -> SyncReport:
    """Sync the collection behind `backend` with its sync server: a collection file
    with the login kept for it (see `login_store`; `repo`: the deck repository, whose
    git config keeps the login of a collection outside a profile folder), AnkiConnect
    through the add-on's `sync` action (Anki desktop's own login and media setting)."""
    from ankiops_git.anki.collection import CollectionBackend

    if isinstance(backend, CollectionBackend):
        return sync(backend.col, login_store(backend.path, repo), full=full, media=media)
    if full is not None:
        raise AnkiOpsError(
            "Anki desktop is open (AnkiConnect): a full sync is chosen in Anki itself. Press "
            "Sync in Anki and pick Upload or Download there; nothing was synced."
        )
    try:
        backend.sync()
    except AnkiOpsError as e:
        text = str(e)
        if "auth not configured" in text:
            raise NotLoggedIn(
                "Anki desktop is not logged in to a sync server. Log in once in Anki (press "
                "Sync, or Preferences > Syncing), then retry; nothing was synced."
            ) from e
        if "Sync status" in text:
            raise FullSyncRequired(
                "Anki desktop needs a full sync (one side replaces the other): press Sync in "
                "Anki, which says what each way loses and lets you choose Upload or "
                "Download; nothing was synced.",
                ("upload", "download"),
            ) from e
        raise
    return SyncReport("normal", THROUGH_DESKTOP, False)


def login_backend(
    backend: Any,
    repo: Any | None,
    username: str,
    password: str,
    endpoint: str | None = None,
    *,
    memory_ok: bool = False,
) -> tuple[SyncLogin, str]:
    """Log the collection behind `backend` in (see `login`); (the login, where it is
    kept). Over AnkiConnect, Anki desktop logs in itself: AnkiOpsError saying so.
    `memory_ok`: a login with nowhere to be kept (a bare collection path, no `repo`) is
    kept for this process; else refused."""
    from ankiops_git.anki.collection import CollectionBackend

    if not isinstance(backend, CollectionBackend):
        raise AnkiOpsError(
            "Anki desktop is open (AnkiConnect): log in within Anki (press Sync, or "
            "Preferences > Syncing), and `ankiops-git sync` uses that login."
        )
    store = login_store(backend.path, repo)
    if isinstance(store, MemoryLoginStore) and not memory_ok:
        raise AnkiOpsError(
            f"{backend.path} is not in an Anki profile folder, and there is no deck "
            f"repository to keep the login in: run this inside the repository of deck "
            f"files (it keeps the login in its .git/config), or name an Anki profile."
        )
    return login(backend.col, store, username, password, endpoint), store.where
