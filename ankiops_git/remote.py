"""`git-remote-anki`: the git remote-helper protocol (gitremote-helpers(7)).

git runs `git-remote-anki <remote> anki::<spec>` with GIT_DIR set and talks over
stdin/stdout. Capabilities `fetch` and `push`: Anki's state is written as objects
straight into the local repository (`sync.fetch`), so a `fetch` command has nothing
left to transfer; a `push` applies the commit's difference to Anki (`sync.push_commit`).
`serve` is the protocol loop only; `AnkiRemote` is the storage side behind it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, TextIO

from ankiops_git import gitstore, sync
from ankiops_git.errors import AnkiOpsError, printable
from ankiops_git.push import PushRejected

PROGRESS_MIN = 300  # notes read in one export before a progress bar is worth showing
MEDIA_PROGRESS_MIN = 100  # media files read in one fetch before a bar is worth showing


class RemoteStore(Protocol):
    def list_refs(self, for_push: bool) -> list[tuple[str, str]]:
        """(value, ref name) pairs; value is a sha or `@<ref>` for a symref."""
        ...

    def fetch(self, wanted: list[tuple[str, str]]) -> None: ...

    def push(self, src: str, dst: str, force: bool) -> str | None:
        """None if accepted, else the reason (`fetch first` makes git say so)."""
        ...

    def set_option(self, name: str, value: str) -> bool: ...


def serve(store: RemoteStore, stdin: TextIO, stdout: TextIO) -> None:
    """Answer git's commands until it sends a blank line or closes stdin."""

    def reply(*lines: str) -> None:
        for line in lines:
            stdout.write(line + "\n")
        stdout.flush()

    def batch(first: str) -> list[str]:
        lines = [first]
        for line in stdin:
            line = line.rstrip("\n")
            if not line:
                break
            lines.append(line)
        return lines

    for raw in stdin:
        line = raw.rstrip("\n")
        if not line:
            return
        command, _, rest = line.partition(" ")
        if command == "capabilities":
            reply("fetch", "push", "option", "")
        elif command == "option":
            name, _, value = rest.partition(" ")
            reply("ok" if store.set_option(name, value) else "unsupported")
        elif command == "list":
            refs = store.list_refs(for_push=rest == "for-push")
            reply(*(f"{value} {name}" for value, name in refs), "")
        elif command == "fetch":
            wanted = [tuple(item.split(" ", 2)[1:3]) for item in batch(line)]
            store.fetch([(w[0], w[1]) for w in wanted])
            reply("")
        elif command == "push":
            results = []
            for item in batch(line):
                spec = item.partition(" ")[2]
                force = spec.startswith("+")
                src, _, dst = spec.lstrip("+").partition(":")
                why = store.push(src, dst, force)
                results.append(f"ok {dst}" if why is None else f"error {dst} {why}")
            reply(*results, "")
        else:
            raise AnkiOpsError(f"git-remote-anki: unknown command from git: {line!r}")


@dataclass
class AnkiRemote:
    """The `anki` remote over the local repository and one Anki backend spec."""

    spec: str
    say: Callable[[str], None]
    options: dict[str, str] = field(default_factory=dict)
    push_options: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.repo = gitstore.open_repo()
        self.config = sync.committed_config(self.repo)

    def set_option(self, name: str, value: str) -> bool:
        if name == "push-option":
            self.push_options.append(value)
        self.options[name] = value
        return name in ("verbosity", "progress", "dry-run", "push-option", "force")

    def list_refs(self, for_push: bool) -> list[tuple[str, str]]:
        if for_push:
            current = gitstore.ref_target(self.repo, gitstore.ANKI_REF)
            if current is None:
                return []
            return [(str(current), gitstore.REMOTE_BRANCH)]
        with sync.open_anki(self.spec, self.config, sync.api_key(self.repo)) as backend:
            for line in sync.sync_with_server(self.repo, backend, self.config):
                self.say(line)
            result = sync.fetch(
                self.repo,
                backend,
                self.config,
                update_ref=False,
                progress=progress_bar,
                media_progress=media_bar,
            )
        if result.created:
            self.say("anki (fetched): " + result.summary.line())
        for warning in result.warnings:
            self.say(warning)
        return [
            (str(result.commit), gitstore.REMOTE_BRANCH),
            ("@" + gitstore.REMOTE_BRANCH, "HEAD"),
        ]

    def fetch(self, wanted: list[tuple[str, str]]) -> None:
        for sha, _ in wanted:
            if sha not in self.repo:
                raise AnkiOpsError(f"git-remote-anki: asked for {sha}, which was not exported")

    def push(self, src: str, dst: str, force: bool) -> str | None:
        if dst != gitstore.REMOTE_BRANCH:
            self.say(f"anki: the anki remote has one branch, main; cannot push to {dst}")
            return "anki has only refs/heads/main"
        if not src:
            return "deleting Anki's branch is not possible"
        synced: list[str] = []
        try:
            target = self.repo.revparse_single(src).peel(gitstore.pygit2.Commit).id
            with sync.open_anki(self.spec, self.config, sync.api_key(self.repo)) as backend:
                result = sync.push_commit(
                    self.repo,
                    backend,
                    self.config,
                    target,
                    allow_deletes="allow-deletes" in self.push_options,
                    recreate_decks="recreate-decks" in self.push_options,
                    dry_run=self.options.get("dry-run") == "true",
                    update_ref=False,
                    progress=adding_bar,
                )
                wrote = not result.up_to_date and not result.plan.empty()
                if wrote and self.options.get("dry-run") != "true":
                    synced = sync.sync_with_server(self.repo, backend, self.config)
        except PushRejected as e:
            self.say(f"anki: {e}")
            return {"fetch first": "fetch first", "deletes": "too many deletions"}.get(
                e.reason, "deck rename needs -o recreate-decks"
            )
        except AnkiOpsError as e:  # git reports the ref as rejected; the reason is above
            self.say(f"anki: {e}")
            return "not applied to Anki (see above)"
        for warning in result.warnings:
            self.say(warning)
        if self.options.get("dry-run") == "true":
            if not result.plan.empty():
                self.say("anki (dry run): a push would send " + result.plan.line())
                for item in result.plan.listing():
                    self.say(f"  {item}")
            return None
        if not result.up_to_date and not result.plan.empty():
            self.say("anki (pushed): " + result.plan.line())
        if result.plan.adds:
            self.say("anki: run `git pull anki` to write the new notes' ids into your files")
        for line in synced:
            self.say(line)
        return None


def progress_bar_for(what: str, minimum: int = PROGRESS_MIN) -> Callable[[int, int], None]:
    """A one-line bar on stderr, `anki: <what> [###...] done/total`, for at least
    `minimum` items (a few hundred notes), on a terminal."""

    def show(done: int, total: int) -> None:
        if total < minimum or not sys.stderr.isatty():
            return
        width = 30
        filled = width * done // total
        end = "\n" if done >= total else ""
        sys.stderr.write(
            f"\ranki: {what} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}{end}"
        )
        sys.stderr.flush()

    return show


progress_bar = progress_bar_for("converting notes")
adding_bar = progress_bar_for("adding notes")
media_bar = progress_bar_for("fetching media", MEDIA_PROGRESS_MIN)


def main() -> None:
    if len(sys.argv) < 3:
        sys.stderr.write("usage: git-remote-anki <remote> anki::<spec> (git runs this)\n")
        sys.exit(2)
    spec = sys.argv[2].removeprefix(sync.URL_PREFIX)

    def say(message: str) -> None:
        sys.stderr.write(printable(message) + "\n")
        sys.stderr.flush()

    try:
        serve(AnkiRemote(spec, say), sys.stdin, sys.stdout)
    except AnkiOpsError as e:
        say(f"anki: {e}")
        sys.exit(1)
    except BrokenPipeError:
        sys.exit(1)


if __name__ == "__main__":
    main()
