"""The `ionto-cds` command: assess, lint, test, dose, app, replay.

Exit status: 0 when the work was done (whatever the decision); 1 when vignettes fail; 2 for
invalid input or rules, with a short message on stderr and never a traceback.
"""

from __future__ import annotations

import argparse
import datetime
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from ionto_cds._version import __version__
from ionto_cds.errors import (
    InputFileError,
    IontoError,
    PatientDataError,
    RuleSetError,
    UsageError,
)
from ionto_cds.inputs import read_patient_file

if TYPE_CHECKING:
    import pandas as pd

    from ionto_cds.engine.ruleset import RuleSet

EXIT_OK, EXIT_FAILED, EXIT_INVALID = 0, 1, 2


def iso_date(text: str) -> datetime.date:
    """A YYYY-MM-DD option (argparse says "invalid date value" for anything else)."""
    return datetime.date.fromisoformat(text)


def _ruleset(path: str | None) -> RuleSet:
    from ionto_cds.engine.ruleset import default_ruleset, load_ruleset

    return load_ruleset(path) if path else default_ruleset()


def cmd_assess(args: argparse.Namespace) -> int:
    from ionto_cds.engine.assess import assess
    from ionto_cds.render import report

    answers = read_patient_file(Path(args.patient))
    rs = _ruleset(args.rules)
    record = None
    if answers.get("resourceType") == "Bundle":  # a FHIR R4 Bundle: read by the mapping
        from ionto_cds.fhir import answers_from_fhir

        record = answers_from_fhir(answers, rs, on=args.on, source=args.patient)
        answers = dict(record.answers)
    try:
        assessment = assess(answers, rs)
    except PatientDataError as exc:
        raise PatientDataError(exc.problems, args.patient, exc.total) from None
    if args.format == "fhir" or record is not None:
        from ionto_cds.fhir.output import render_with_record

        print(render_with_record(assessment, args.format, record))
        return EXIT_OK
    render = {"json": report.to_json, "md": report.to_markdown, "html": report.to_html}
    print(render[args.format](assessment))
    return EXIT_OK


def _today(value: str | None) -> date:
    """--today YYYY-MM-DD, or today's date."""
    if value is None:
        return date.today()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"--today is a date written YYYY-MM-DD, got '{value}'") from None


def cmd_lint(args: argparse.Namespace) -> int:
    from ionto_cds.analysis.lint import lint_warnings
    from ionto_cds.analysis.review import overdue_warnings, release_errors
    from ionto_cds.language.loader import read_rules

    report = read_rules(args.directory)
    for error in report.errors:
        print(f"{error}", file=sys.stderr)
    if report.source is None:
        count = len(report.errors)
        print(f"{count} error{'s' if count != 1 else ''}: fix them and run lint again.",
              file=sys.stderr)
        return EXIT_INVALID
    from ionto_cds.fhir.lint import lint_fhir_mapping

    mapping_errors = lint_fhir_mapping(report.source)
    for error in mapping_errors:
        print(f"{error}", file=sys.stderr)
    if mapping_errors:
        return EXIT_INVALID
    today = _today(args.today)
    warnings = lint_warnings(report.source) + overdue_warnings(report.source, today)
    for warning in warnings:
        print(f"{warning.location}: warning: {warning.message}")
    source = report.source
    print(f"{source.directory}: ruleset {source.version}, {len(source.rules)} rules, "
          f"{len(source.protocols)} protocols, {len(source.drugs)} drugs, "
          f"{len(source.catalog)} facts: no errors, {len(warnings)} warning"
          f"{'s' if len(warnings) != 1 else ''}.")
    if args.release:
        drafts = release_errors(source)
        for error in drafts:
            print(f"{error}", file=sys.stderr)
        if drafts:
            print(f"not releasable: {len(drafts)} entr{'ies' if len(drafts) != 1 else 'y'} "
                  "still draft", file=sys.stderr)
            return EXIT_FAILED
    return EXIT_OK


def cmd_test(args: argparse.Namespace) -> int:
    from ionto_cds.analysis.cases import coverage, read_cases, run_case
    from ionto_cds.engine.ruleset import load_ruleset

    if args.mutants:
        return _test_mutants(args)
    if args.min_score is not None or args.jobs is not None:
        raise UsageError("--min-score and --jobs go with --mutants")
    folder = Path(args.directory) if args.directory else None
    rs = load_ruleset(folder)
    cases_dir = Path(rs.source.directory) / "cases"
    cases, errors = read_cases(cases_dir)
    for error in errors:
        print(error, file=sys.stderr)
    if errors:
        return EXIT_INVALID
    if not cases:
        print(f"{cases_dir}: no vignettes found", file=sys.stderr)
        return EXIT_FAILED
    results = [run_case(case, rs) for case in cases]
    width = max(len(c.id) for c in cases)
    for result in results:
        mark = "PASS" if result.passed else "FAIL"
        outcome = result.assessment.decision.value if result.assessment else "error"
        print(f"{mark}  {result.case.id:<{width}}  {outcome}")
        for problem in result.problems:
            print(f"      {result.case.location}: {problem}")
    cov = coverage(results, rs)
    failed = sum(not r.passed for r in results)
    print(f"\n{len(results) - failed} passed, {failed} failed")
    print(f"rule coverage: {len(rs.rules) - len(cov.never_fired)}/{len(rs.rules)} rules fired, "
          f"{len(rs.rules) - len(cov.never_cleared)}/{len(rs.rules)} cleared, "
          f"{len(rs.protocols) - len(cov.protocols_never_chosen)}/{len(rs.protocols)} "
          "protocols chosen")
    for label, ids in (("never fired", cov.never_fired), ("never cleared", cov.never_cleared),
                       ("protocols never chosen", cov.protocols_never_chosen)):
        if ids:
            print(f"  {label}: {', '.join(ids)}")
    return EXIT_OK if failed == 0 and cov.complete else EXIT_FAILED


def _test_mutants(args: argparse.Namespace) -> int:
    """`ionto-cds test --mutants`: the mutation report; 0 when the score reaches --min-score."""
    from ionto_cds.analysis.mutants import mutation_test
    from ionto_cds.cohort.synthetic import fictional_cohort

    jobs = 1 if args.jobs is None else args.jobs
    minimum = 0.0 if args.min_score is None else args.min_score
    if jobs < 1:
        raise UsageError(f"--jobs must be 1 or more, got {jobs}")
    if not 0 <= minimum <= 100:
        raise UsageError(f"--min-score is a percentage from 0 to 100, got {minimum:g}")
    report = mutation_test(args.directory, fictional_cohort, jobs=jobs)
    if not report.vignettes:
        print(f"{report.folder / 'cases'}: no vignettes found", file=sys.stderr)
        return EXIT_FAILED
    print(report.render())
    if report.failures:
        return EXIT_FAILED
    if report.score < minimum:
        print(f"\nmutation score {report.score:.1f}% is below the minimum {minimum:g}%")
        return EXIT_FAILED
    return EXIT_OK


def cmd_dose(args: argparse.Namespace) -> int:
    from ionto_cds.treatment.calculator import Verdict, check_session, find_protocol, read_session

    rs = _ruleset(args.rules)
    protocol = find_protocol(rs.protocols, rs.drugs, args.protocol, args.drug)
    drug_key = protocol.drug if protocol is not None else None
    current, duration, area = read_session(args.current, args.duration, args.dose, args.area)
    result = check_session(current=current, duration=duration, area=area, protocol=protocol,
                           drug=rs.drugs.get(drug_key) if drug_key else None,
                           global_limits=rs.limits, polarity=args.polarity)
    print(result.render())
    return {Verdict.WITHIN: EXIT_OK, Verdict.INCOMPLETE: EXIT_FAILED,
            Verdict.REFUSED: EXIT_INVALID}[result.verdict]


def cmd_app(args: argparse.Namespace) -> int:
    from ionto_cds.serve import run_app

    code: int = run_app(args.port, not args.no_browser, args.notebook)
    return code


def cmd_hooks(args: argparse.Namespace) -> int:
    from ionto_cds.hooks.app import run_hooks

    return run_hooks(args.host, args.port, args.db, args.rules, args.allow_remote,
                     args.cors_origin, args.trust, args.public_url)


def cmd_replay(args: argparse.Namespace) -> int:
    """`ionto-cds replay`: which saved records today's rules would decide differently."""
    from ionto_cds.analysis.record import replay, replay_all

    if len(args.record) == 1 and Path(args.record[0]).is_file():
        ok, message = replay(Path(args.record[0]))
        print(message)
        return EXIT_OK if ok else EXIT_FAILED
    impact, unreadable = replay_all(args.record)
    print("\n".join(impact.lines(args.examples, every_patient=True)))
    for line in unreadable:
        print(f"not replayed: {line}")
    return EXIT_FAILED if impact.moved or unreadable else EXIT_OK


def cmd_diff(args: argparse.Namespace) -> int:
    """`ionto-cds diff`: what changed and what it does; 1 with --expect-same when outcomes move."""
    from ionto_cds.analysis.diff import diff_rulesets
    from ionto_cds.analysis.diff_outcomes import changes_table
    from ionto_cds.cohort.schema import ID_COLUMN
    from ionto_cds.cohort.screen import read_cohort, screen_frame

    for folder in (args.old, args.new):
        if not Path(folder).is_dir():
            raise InputFileError(folder, "no such rules folder")
    screen = None
    if args.cohort:
        raw = read_cohort(Path(args.cohort))
        if ID_COLUMN not in raw or raw[ID_COLUMN].duplicated().any():
            raw[ID_COLUMN] = [f"row {i}" for i in range(1, len(raw) + 1)]  # rows matched by place

        def screen(rs: RuleSet) -> pd.DataFrame:
            return screen_frame(raw, rs, args.cohort).output

    result = diff_rulesets(Path(args.old), Path(args.new), screen, ID_COLUMN)
    print(result.render(args.examples), end="")
    if args.changes and result.cohort is not None:
        changes_table(result.cohort).to_csv(args.changes, index=False)
        print(f"\nevery changed cohort row: {args.changes}")
    if args.expect_same and result.outcomes_changed:
        print("\noutcomes changed, but --expect-same was given", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def cmd_catalog(args: argparse.Namespace) -> int:
    """`ionto-cds catalog`: the static, offline HTML catalogue of a rule set."""
    from ionto_cds.render.catalog import CATALOG_INDEX, build_catalog

    output = Path(args.output)
    if output.exists() and not output.is_dir():
        raise InputFileError(args.output, "is a file: name a folder for the site")
    build_catalog(_ruleset(args.rules), output, _today(args.today) if args.today else None)
    print(f"wrote {output / CATALOG_INDEX}")
    return EXIT_OK


def cmd_release(args: argparse.Namespace) -> int:
    """`ionto-cds release`: record a release of the rules in their CHANGELOG.md."""
    from ionto_cds.analysis.release import release
    from ionto_cds.language.packaged import packaged_rules_dir

    done = release(Path(args.rules) if args.rules else packaged_rules_dir(), _today(args.today))
    print(done.entry, end="")
    since = f" (previous: {done.previous.version})" if done.previous else " (the first)"
    print(f"\nrecorded release {done.version}{since} in {done.changelog}; snapshot "
          f"{done.snapshot}")
    return EXIT_OK


def cmd_pathway(args: argparse.Namespace) -> int:
    from ionto_cds.analysis.cases import read_cases
    from ionto_cds.engine.assess import assess
    from ionto_cds.render.pathway.build import build_pathway
    from ionto_cds.render.pathway.svg import render_svg
    from ionto_cds.suggestions import did_you_mean

    rs = _ruleset(args.rules)
    if args.case and args.patient:
        raise InputFileError(args.patient, "give --case or --patient, not both")
    assessment, title = None, None
    if args.case:
        cases_dir = Path(rs.source.directory) / "cases"
        cases, errors = read_cases(cases_dir)
        if errors:
            raise RuleSetError(errors)
        by_id = {c.id: c for c in cases}
        if args.case not in by_id:
            raise InputFileError(str(cases_dir), f"no case '{args.case}'"
                                 f"{did_you_mean(args.case, by_id)}")
        case = by_id[args.case]
        assessment = assess(case.answers, rs)
        title = f"{case.title} \u00b7 {assessment.decision.words}"
    elif args.patient:
        assessment = assess(read_patient_file(Path(args.patient)), rs)
    svg = render_svg(build_pathway(rs, assessment, title))
    Path(args.output).write_text(svg, encoding="utf-8")
    print(f"wrote {args.output}")
    return EXIT_OK


def _compact_arrow_memory() -> None:
    """Give pyarrow's jemalloc pool to this process when pyarrow has it, returning freed pages
    to the system at once: screening a file then keeps about a fifth less memory resident than
    with the default pool (for about 5 % more time)."""
    import contextlib

    import pyarrow as pa  # type: ignore[import-untyped]

    with contextlib.suppress(NotImplementedError, pa.ArrowException):  # built without it
        pa.set_memory_pool(pa.jemalloc_memory_pool())
        pa.jemalloc_set_decay_ms(0)


def cmd_screen(args: argparse.Namespace) -> int:
    """`ionto-cds screen`: screen, print the summary, write the plot; 0 when screened."""
    from ionto_cds.cohort.files import screen_file
    from ionto_cds.cohort.plot import plot_summary

    _compact_arrow_memory()
    source = Path(args.cohort)
    try:
        report = screen_file(source, Path(args.output), args.rules, args.engine,
                             args.scheduler,
                             Path(args.errors) if args.errors else None,
                             Path(args.quarantine) if args.quarantine else None,
                             progress=not args.quiet,
                             plot=Path(args.plot) if args.plot else None,
                             workers=args.workers, partitioned=args.partitioned,
                             report=Path(args.report) if args.report else None)
    except (ValueError, OSError) as exc:
        if isinstance(exc, IontoError):
            raise
        raise InputFileError(str(source), str(exc)) from None
    print(report.summary.render())
    print(f"results: {report.output}")
    if report.quarantine is not None:
        print(f"{report.summary.quarantined} rows quarantined ({report.problems} bad cells): "
              f"see {report.errors} and {report.quarantine}")
    if args.plot:
        plot_summary(report.summary, Path(args.plot))
        print(f"plot: {args.plot}")
    if args.report:
        from ionto_cds.render.cohort_report import cohort_report_html

        page = Path(args.report)
        page.write_text(cohort_report_html(report.summary, page, source, report.output,
                                           report.errors, report.quarantine), encoding="utf-8")
        print(f"report: {page}")
    return 0


def cmd_course_log(args: argparse.Namespace) -> int:
    from ionto_cds.course.store import CourseLog
    from ionto_cds.engine.assess import assess
    from ionto_cds.units import pretty_quantity

    record = read_patient_file(Path(args.session))
    log = CourseLog(args.db)
    assessment = None
    if args.patient:
        try:
            assessment = assess(read_patient_file(Path(args.patient)), log.ruleset)
        except PatientDataError as exc:
            raise PatientDataError(exc.problems, args.patient, exc.total) from None
    s = log.log_session(record, assessment, session_uid=args.session_id)
    done = "already logged, nothing stored:" if s.already_logged else "logged"
    print(f"{done} session {s.session_id} of course '{s.course_id}': {s.date.isoformat()}, "
          f"{s.protocol}, {pretty_quantity(s.current)} x {pretty_quantity(s.duration)} = "
          f"{pretty_quantity(s.dose)} (in {log.location})")
    return EXIT_OK


def cmd_course_guidance(args: argparse.Namespace) -> int:
    from ionto_cds.course.store import CourseLog

    print(CourseLog(args.db).guidance(args.course_id).to_markdown())
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = argparse.ArgumentParser(
        prog="ionto-cds",
        description="Clinical decision support for iontophoresis. It supports, and does not "
        "replace, clinical judgement.",
    )
    parser.add_argument("--version", action="version", version=f"ionto-cds {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("assess", help="assess one patient file (YAML or JSON, or a FHIR R4 "
                       "Bundle)")
    p.add_argument("patient", help="patient answers, e.g. examples/palmar-adult.yaml, or a "
                   "FHIR R4 Bundle (JSON), e.g. examples/fhir/pacemaker-bundle.json")
    p.add_argument("--rules", help="rules folder (default: the packaged rules)")
    p.add_argument("--format", choices=("json", "md", "html", "fhir"), default="md",
                   help="fhir: a FHIR R4 Bundle (GuidanceResponse, DetectedIssue, RequestGroup)")
    p.add_argument("--on", type=iso_date, default=None, help="assessment date for a FHIR "
                   "Bundle, YYYY-MM-DD (default: today): age is worked out at it")
    p.set_defaults(func=cmd_assess)

    p = sub.add_parser("lint", help="check a rules folder and list every mistake")
    p.add_argument("directory", nargs="?", help="rules folder (default: the packaged rules)")
    p.add_argument("--release", action="store_true", help="fail (exit 1) when a rule, "
                   "protocol or drug is still a draft")
    p.add_argument("--today", help="date the overdue reviews are judged on, YYYY-MM-DD "
                   "(default: today)")
    p.set_defaults(func=cmd_lint)

    p = sub.add_parser("test", help="run the clinical vignettes of rules/cases with coverage")
    p.add_argument("directory", nargs="?", help="rules folder (default: the packaged rules)")
    p.add_argument("--mutants", action="store_true", help="mutation testing: run the "
                   "vignettes against one-edit mutants of the rules and list the survivors")
    p.add_argument("--min-score", type=float, default=None, help="with --mutants: fail below "
                   "this mutation score, in percent (default 0: report only)")
    p.add_argument("--jobs", type=int, default=None, help="with --mutants: worker processes "
                   "(default 1)")
    p.set_defaults(func=cmd_test)

    p = sub.add_parser("dose", help="dose calculator with the same limit checks as plans")
    p.add_argument("--protocol", help="protocol id of protocols.yaml (its limits apply)")
    p.add_argument("--current", required=True, help="e.g. 3mA")
    p.add_argument("--duration", help="e.g. 15min")
    p.add_argument("--dose", help="target dose instead of a duration, e.g. 40mA*min")
    p.add_argument("--area", help="active electrode area, e.g. 6cm^2")
    p.add_argument("--drug", help="drug key of drugs.yaml: its protocol's, polarity and limits "
                   "apply")
    p.add_argument("--polarity", choices=("anode", "cathode", "alternating"),
                   help="active electrode when no drug is given")
    p.add_argument("--rules", help="rules folder (default: the packaged rules)")
    p.set_defaults(func=cmd_dose)

    p = sub.add_parser("app", help="start the clinician app (Voila) on 127.0.0.1")
    p.add_argument("--port", type=int, default=None, help="port (default: a free one)")
    p.add_argument("--no-browser", action="store_true", help="do not open a browser")
    p.add_argument("--notebook", default="clinician", help="clinician (default), dose or educator")
    p.set_defaults(func=cmd_app)

    p = sub.add_parser("pathway", help="draw the decision pathway as SVG, a case's path marked")
    p.add_argument("--case", help="vignette id of rules/cases to mark the path of")
    p.add_argument("--patient", help="patient answers (YAML or JSON) to mark the path of")
    p.add_argument("--rules", help="rules folder (default: the packaged rules)")
    p.add_argument("-o", "--output", required=True, help="SVG file to write")
    p.set_defaults(func=cmd_pathway)

    p = sub.add_parser("screen", help="screen a cohort (CSV or Parquet) in one pass")
    p.add_argument("cohort", help="cohort file, one column per fact (or a folder of Parquet)")
    p.add_argument("-o", "--output", required=True, help="results, .csv or .parquet")
    p.add_argument("--rules", help="rules folder (default: the packaged rules)")
    p.add_argument("--engine", choices=("pandas", "dask"), default="pandas")
    p.add_argument("--scheduler", help="dask.distributed scheduler address (default: local)")
    p.add_argument("--workers", type=int, default=2,
                   help="worker processes of the local Dask cluster (default 2)")
    p.add_argument("--partitioned", action="store_true",
                   help="with --engine dask: OUTPUT.parquet is a folder, one part per partition")
    p.add_argument("--errors", help="bad-cell report CSV (default: OUTPUT.errors.csv)")
    p.add_argument("--quarantine", help="bad rows CSV (default: OUTPUT.quarantine.csv)")
    p.add_argument("--plot", help="summary plot, .png or .svg")
    p.add_argument("--report", help="HTML report: counts by decision and protocol, findings, "
                   "the plot, links to the results, error and quarantine files")
    p.add_argument("-q", "--quiet", action="store_true",
                   help="no progress bar (shown in a terminal on runs over a second)")
    p.set_defaults(func=cmd_screen)

    p = sub.add_parser("course", help="treatment-course log: log a session, show guidance")
    course = p.add_subparsers(dest="course_command", required=True)
    db_help = ("course log: a SQLite file, or a PostgreSQL server as postgresql://user@host/db "
               "(default: $IONTO_CDS_DB or the user's data directory)")
    p = course.add_parser("log", help="check one session (YAML or JSON) and store it")
    p.add_argument("session", help="session record, e.g. course_id, date, protocol, site, "
                   "current, duration")
    p.add_argument("--db", help=db_help)
    p.add_argument("--patient", help="the patient's answers (YAML or JSON): the session is "
                   "also held to the caps the patient's rules put on the plan")
    p.add_argument("--session-id", help="the session's own id (e.g. a UUID): logging it again "
                   "stores nothing (default: a digest of the session's values)")
    p.set_defaults(func=cmd_course_log)
    p = course.add_parser("guidance", help="the protocol's guidance for a course, as Markdown")
    p.add_argument("course_id", help="course id as logged")
    p.add_argument("--db", help=db_help)
    p.set_defaults(func=cmd_course_guidance)

    p = sub.add_parser("hooks", help="serve CDS Hooks 2.0 (patient-view, order-select) on "
                       "127.0.0.1")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default "
                   "127.0.0.1; another needs --allow-remote)")
    p.add_argument("--port", type=int, default=8090, help="port (default 8090)")
    p.add_argument("--db", help="decision log SQLite file (default: $IONTO_CDS_HOOKS_DB or the "
                   "user's data directory)")
    p.add_argument("--rules", help="rules folder (default: the packaged rules)")
    p.add_argument("--allow-remote", action="store_true", help="allow a non-loopback --host "
                   "and any Host header")
    p.add_argument("--cors-origin", action="append", default=[], help="a browser origin that "
                   "may call the service (e.g. a CDS Hooks sandbox); repeatable")
    p.add_argument("--trust", action="append", default=[], metavar="ISSUER=JWKS_FILE",
                   help="a CDS Client (EHR) allowed to call, with its JWK Set saved as a file; "
                   "repeatable. With it, every call needs that client's signed JWT")
    p.add_argument("--public-url", help="the base URL the EHR calls (e.g. https://cds.example."
                   "org behind a TLS proxy): the tokens' 'aud' is checked against it")
    p.set_defaults(func=cmd_hooks)

    p = sub.add_parser("diff", help="what changed between two rules folders, and which "
                       "vignettes' and cohort patients' outcomes it moves")
    p.add_argument("old", help="the rules folder before the change")
    p.add_argument("new", help="the rules folder after the change")
    p.add_argument("--cohort", help="a cohort (CSV or Parquet) to screen with both")
    p.add_argument("--expect-same", action="store_true", help="exit 1 when any outcome "
                   "(decision, findings, questions, protocol, dose) changes")
    p.add_argument("--examples", type=int, default=20, help="patients named per kind of "
                   "change (default 20)")
    p.add_argument("--changes", help="with --cohort: write every changed row to this CSV")
    p.set_defaults(func=cmd_diff)

    p = sub.add_parser("catalog", help="write the rule catalogue: a static, offline HTML site "
                       "of every fact, rule, protocol, drug, reference and vignette")
    p.add_argument("--rules", help="rules folder (default: the packaged rules)")
    p.add_argument("-o", "--output", required=True, help="folder to write the site into")
    p.add_argument("--today", help="the build date shown and used for overdue reviews, "
                   "YYYY-MM-DD (default: today)")
    p.set_defaults(func=cmd_catalog)

    p = sub.add_parser("release", help="record a release of the rules: version, sha256, "
                       "review summary and the diff against the previous release in "
                       "CHANGELOG.md")
    p.add_argument("--rules", help="rules folder (default: the packaged rules)")
    p.add_argument("--today", help="the release date, YYYY-MM-DD (default: today)")
    p.set_defaults(func=cmd_release)

    p = sub.add_parser("replay", help="re-run decision records with today's rules and show "
                       "which would change")
    p.add_argument("record", nargs="+", help="decision record JSON exported by the app, or a "
                   "folder of them")
    p.add_argument("--examples", type=int, default=20, help="records named per kind of "
                   "change (default 20)")
    p.set_defaults(func=cmd_replay)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except IontoError as exc:
        print(f"ionto-cds {args.command}: {exc}", file=sys.stderr)
        return EXIT_INVALID
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
