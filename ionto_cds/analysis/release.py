"""The release record of a rule set: rules/CHANGELOG.md (version, sha256, review summary and the
diff against the previous release) and a snapshot of each release in rules/releases/.

The previous release is the newest snapshot in ``rules/releases/<version>.json``: the parsed
content of every rule file, course vocabulary and vignette as the loader read it (the very
content the sha256 is taken of). It travels with the rules in git and in the wheel, so a diff
against it works from a clean clone, a shallow one or an installed package, with no git tags and
no network; loading it back must give the recorded sha256, so a damaged snapshot is refused."""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from ionto_cds._version import __version__
from ionto_cds.analysis.diff import RuleSetDiff, content_lines, diff_rulesets
from ionto_cds.analysis.review import release_errors, review_summary
from ionto_cds.engine.ruleset import RuleSet, load_ruleset
from ionto_cds.errors import InputFileError, RuleError, RuleSetError, UsageError
from ionto_cds.language.jsonsource import strict_json
from ionto_cds.language.loader import load_documents
from ionto_cds.language.packaged import COURSE_DIR
from ionto_cds.language.yamlsource import load_yaml_file

RELEASES_DIR = "releases"
CHANGELOG = "CHANGELOG.md"
SNAPSHOT_KIND = "ionto-cds rules release"
_VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,40}$")
_HEADER = ("# Rules changelog\n\nOne entry per release of these rules, newest first, written by "
           "`ionto-cds release`: the version, the sha256 the engine reports in every assessment, "
           "the review status and what changed since the previous release (its snapshot is in "
           f"`{RELEASES_DIR}/`).\n")


@dataclass(frozen=True)
class Snapshot:
    """One recorded release: its version, sha256, date and the parsed documents."""

    version: str
    sha256: str
    released_on: str
    documents: Mapping[str, Any]
    path: Path


def _documents(folder: Path) -> dict[str, Any]:
    """Everything a release keeps: the rule files, the course vocabulary and the vignettes."""
    documents, errors = load_documents(folder)
    for sub in (COURSE_DIR, "cases"):
        for path in sorted((folder / sub).glob("*.yaml")):
            try:
                documents[f"{sub}/{path.name}"] = load_yaml_file(path)
            except RuleError as exc:
                errors.append(exc)
    if errors:
        raise RuleSetError(errors)
    return documents


def read_snapshots(folder: Path) -> list[Snapshot]:
    """The recorded releases of a rules folder, oldest first."""
    out = []
    for path in sorted((folder / RELEASES_DIR).glob("*.json")):
        try:
            data = strict_json(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InputFileError(str(path), f"not a readable release snapshot ({exc})") from None
        if not isinstance(data, dict) or data.get("kind") != SNAPSHOT_KIND or not all(
                isinstance(data.get(k), str) for k in ("version", "sha256", "released_on")) \
                or not isinstance(data.get("documents"), dict):
            raise InputFileError(str(path), f"not an {SNAPSHOT_KIND} snapshot")
        out.append(Snapshot(data["version"], data["sha256"], data["released_on"],
                            data["documents"], path))
    return sorted(out, key=lambda s: (s.released_on, s.path.name))


def _unpack(snapshot: Snapshot, into: Path) -> RuleSet:
    """A snapshot written back as a rules folder (JSON is YAML) and loaded; its sha256 must be
    the one recorded."""
    for name, document in snapshot.documents.items():
        target = into / name
        if target.resolve().parent not in (into.resolve(), (into / COURSE_DIR).resolve(),
                                            (into / "cases").resolve()):
            raise InputFileError(str(snapshot.path), f"document '{name}' is outside a rules "
                                 "folder")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    rs = load_ruleset(into)
    if rs.sha256 != snapshot.sha256:
        raise InputFileError(str(snapshot.path), f"its content has sha256 {rs.sha256[:12]}, "
                             f"not the {snapshot.sha256[:12]} recorded: the snapshot is damaged")
    return rs


@dataclass(frozen=True)
class Release:
    """What ``ionto-cds release`` did: the entry written, and the files."""

    version: str
    entry: str
    changelog: Path
    snapshot: Path
    previous: Snapshot | None


def _entry(rs: RuleSet, today: date, previous: Snapshot | None, diff: RuleSetDiff | None) -> str:
    lines = [f"## {rs.version} ({today.isoformat()})", "",
             f"- sha256: `{rs.sha256}`", f"- ionto-cds: {__version__}",
             f"- {len(rs.rules)} rules, {len(rs.protocols)} protocols, {len(rs.drugs)} drugs, "
             f"{len(rs.catalog)} facts, {len(rs.references)} references"]
    lines += review_summary(rs.source, today).lines()
    if previous is None or diff is None:
        lines += ["- previous release: none recorded (this is the first)", ""]
        return "\n".join(lines) + "\n"
    lines += [f"- previous release: {previous.version} ({previous.released_on}, sha256 "
              f"`{previous.sha256[:12]}`)", ""]
    body = [*content_lines(diff.content), "", "## Vignettes", "",
            *diff.vignettes.lines(20, every_patient=True)]
    lines += [("#" + line) if line.startswith("#") else line for line in body]
    return "\n".join(lines) + "\n"


def release(folder: Path, today: date) -> Release:
    """Record a release of the rules in ``folder``: refuse drafts, compare with the previous
    release, write the CHANGELOG entry (newest first) and this release's snapshot."""
    rs = load_ruleset(folder)
    drafts = release_errors(rs.source)
    if drafts:
        raise RuleSetError(drafts)
    snapshots = read_snapshots(folder)
    previous = snapshots[-1] if snapshots else None
    if previous is not None and previous.sha256 == rs.sha256:
        raise UsageError(f"nothing to release: the rules are release {previous.version} "
                         f"(sha256 {rs.sha256[:12]}) unchanged")
    if not _VERSION.match(rs.version):
        raise UsageError(f"version '{rs.version}' cannot name a release: use letters, digits, "
                         "dots and dashes, e.g. \"2026.2\"")
    if any(s.version == rs.version for s in snapshots):
        raise UsageError(f"version {rs.version} was released already with other content: give "
                         "every rule file a new version: (e.g. the next \"2026.2\")")
    diff = None
    if previous is not None:
        with tempfile.TemporaryDirectory(prefix="ionto-release-") as tmp:
            _unpack(previous, Path(tmp))
            diff = diff_rulesets(Path(tmp), folder)
    entry = _entry(rs, today, previous, diff)
    changelog = folder / CHANGELOG
    old = changelog.read_text(encoding="utf-8") if changelog.exists() else _HEADER
    head, _, rest = old.partition("\n## ")
    changelog.write_text(f"{head.rstrip()}\n\n{entry}" + (f"\n## {rest}" if rest else ""),
                         encoding="utf-8")
    snapshot = folder / RELEASES_DIR / f"{rs.version}.json"
    snapshot.parent.mkdir(exist_ok=True)
    data = {"kind": SNAPSHOT_KIND, "version": rs.version, "sha256": rs.sha256,
            "released_on": today.isoformat(), "ionto_cds_version": __version__,
            "documents": _documents(folder)}  # key order kept: facts are read in order
    snapshot.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n",
                        encoding="utf-8")
    return Release(rs.version, entry, changelog, snapshot, previous)

