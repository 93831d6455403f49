"""Command line: python -m pipeline monthly | evaluation | templates | daily | certificates | bench.

Exit status: 0 every file was read cleanly; 1 some rows or sheets were rejected (all documents still
written); 2 a usage or settings error (nothing written).
"""
from __future__ import annotations

import argparse
import datetime as dt
import fcntl
import os
import re
import sys
import traceback
from contextlib import contextmanager
from pathlib import Path

from pipeline import clock
from pipeline.settings import (DEFAULT_INBOX, DEFAULT_OUT, DEFAULT_SETTINGS, DEFAULT_STORE, SettingsError,
                               load_settings, programmes_in)

EXIT_CLEAN, EXIT_REJECTED, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3



class ChineseHelpFormatter(argparse.RawDescriptionHelpFormatter):
    """argparse's help with Chinese headings."""

    def add_usage(self, usage, actions, groups, prefix=None):
        return super().add_usage(usage, actions, groups, prefix="用法：")


class ChineseParser(argparse.ArgumentParser):
    """An ArgumentParser whose own words are Chinese: headings, -h, and the error line."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", ChineseHelpFormatter)
        super().__init__(*args, add_help=False, **kwargs)
        self._optionals.title = "选项"
        self._positionals.title = "可用命令"
        self.add_argument("-h", "--help", action="help", help="显示本说明并退出")

    def error(self, message):
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"错误：命令写法不对（{chinese(message)}）。用 --help 查看说明。\n")


# argparse's own sentences, in the words a clerk reads.
ARGPARSE_WORDS = [
    (re.compile(r"one of the arguments (.+) is required"), lambda m: f"须给出 {' 或 '.join(m[1].split())} 之一"),
    (re.compile(r"argument (\S+): not allowed with argument (\S+)"), lambda m: f"{m[1]} 与 {m[2]} 不能同时使用"),
    (re.compile(r"the following arguments are required: (.+)"), lambda m: f"缺少参数 {m[1]}"),
    (re.compile(r"argument (\S+): expected one argument"), lambda m: f"{m[1]} 后面要写一个值"),
    (re.compile(r"unrecognized arguments: (.+)"), lambda m: f"不认识的参数 {m[1]}"),
    (re.compile(r"argument <命令>: invalid choice: '([^']*)'.*"), lambda m: f"没有“{m[1]}”这个命令"),
]


def chinese(message: str) -> str:
    """argparse's English error in Chinese where we know the sentence; otherwise as it is."""
    for pattern, words in ARGPARSE_WORDS:
        found = pattern.fullmatch(message)
        if found:
            return words(found)
    return message


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--inbox", type=Path, default=DEFAULT_INBOX,
                        help="收件箱文件夹，每个子文件夹是一个项目（默认 data/inbox）")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="输出文件夹（默认 data/out）")
    parser.add_argument("--store", type=Path, default=DEFAULT_STORE,
                        help="数据库文件，保存所有已接收的记录（默认 data/store.sqlite）")
    parser.add_argument("--settings", type=Path, default=DEFAULT_SETTINGS,
                        help="本单位设置文件（默认 data/settings.toml，可不存在）")


def build_parser() -> argparse.ArgumentParser:
    parser = ChineseParser(
        prog="python -m pipeline",
        description="信息员工作报表流水线：读取收件箱中的 Excel 登记表，校验、入库、统计，生成通报与统计表。",
        epilog="退出码：0 全部文件校验通过；1 有行或工作表被退回（文件照常生成）；2 命令或设置有误（未生成任何文件）。")
    commands = parser.add_subparsers(dest="command", metavar="<命令>", parser_class=ChineseParser,
                                     prog="python -m pipeline")

    monthly = commands.add_parser(
        "monthly", help="生成月度通报与统计表",
        description="读取收件箱中每个项目的登记表，校验并入库，生成该月的 通报.pdf、统计表.xlsx、校验报告.xlsx。\n"
                    "例：python -m pipeline monthly --period 2026-11")
    monthly.add_argument("--period", help="月份，写作 2026-11（默认：上个月）")
    _common(monthly)

    evaluation = commands.add_parser(
        "evaluation", help="学期或年度考核评优",
        description="按年度或学期计算考核得分、评优、解聘、学分，生成 考核评优.pdf 与 评优.xlsx。\n"
                    "例：python -m pipeline evaluation --year 2026　或　--term 2026秋")
    which = evaluation.add_mutually_exclusive_group(required=True)
    which.add_argument("--year", help="年度，如 2026")
    which.add_argument("--term", help="学期，如 2026秋")
    _common(evaluation)

    templates = commands.add_parser(
        "templates", help="生成空白填报模板",
        description="为每种登记表生成空白 Excel 模板（带下拉列表和填写说明）到 data/out/templates/。")
    _common(templates)

    daily = commands.add_parser("daily", help="售后网点每日对账单",
                                description="生成某一天各售后网点的对账单。例：python -m pipeline daily --date 2026-11-03")
    daily.add_argument("--date", required=True, help="日期，如 2026-11-03")
    _common(daily)

    certificates = commands.add_parser("certificates", help="聘任证书",
                                       description="为该月新聘任的信息员生成聘任证书。")
    certificates.add_argument("--period", help="月份，写作 2026-11（默认：上个月）")
    _common(certificates)

    rebuild = commands.add_parser(
        "rebuild-store", help="用存档重建数据库",
        description="按数据库台账的顺序，把存档的每个收件箱文件重新读入一个新数据库，核对记录是否一致；"
                    "旧数据库保留为 <数据库>.before-rebuild。")
    _common(rebuild)

    commands.add_parser("bench", help="性能基准",
                        description="生成固定规模的测试数据并计时，结果写入 data/out/bench/。")
    return parser


@contextmanager
def one_run_at_a_time(store: Path):
    """Holds a lock beside the store; a second run waits for the first, saying so. A POSIX record lock
    (lockf): it belongs to this process alone, so worker processes forked from it never hold it, and it
    goes when the process does, however it ends."""
    store.parent.mkdir(parents=True, exist_ok=True)
    with open(store.with_name(store.name + ".lock"), "w") as handle:
        try:
            fcntl.lockf(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            print("另一次运行正在进行，等待它结束……", file=sys.stderr, flush=True)
            fcntl.lockf(handle, fcntl.LOCK_EX)
        yield


def month_asked(args: argparse.Namespace):
    """The month of --period (default: last month); a SettingsError when it is written wrong."""
    from pipeline.rules.periods import month, previous_month

    try:
        return month(args.period) if args.period else previous_month(clock.today())
    except ValueError:
        raise SettingsError(f"月份“{args.period}”写法不对，应写作 2026-11。") from None


def inbox_programmes(args: argparse.Namespace) -> list:
    """Every programme with a folder in the inbox; a SettingsError when there is none."""
    programmes = programmes_in(args.inbox, load_settings(args.settings))
    if not programmes:
        raise SettingsError(f"收件箱 {args.inbox} 中没有项目文件夹（如 data/inbox/correspondents/）。")
    return programmes


def run_each(args: argparse.Namespace, plans: list, run, label: str, what: str, remember=None, unchanged=None) -> int:
    """Under the lock and with the store open, run `run(store, programme, period, now, renderer)` for
    every (programme, period) planned, each run's documents made by the renderer while the next is
    worked out; wait for them, print the summary; the exit status. With `unchanged(store, programme,
    period)`, which gives a programme's run when nothing it depends on changed (else None): when it
    gives every run, those are all, and pandas, the readers and the renderer are never started.
    Otherwise the first new file is read ahead (pipeline.ahead) while the run imports pandas."""
    from pipeline.store import Store
    from pipeline.outputs import remove_leftovers

    with one_run_at_a_time(args.store), Store(args.store) as store:
        remove_leftovers(args.out)
        runs = all_unchanged(store, plans, unchanged) if unchanged is not None else None
        if runs is None:
            from pipeline.ahead import reading_ahead

            with reading_ahead(read_so_far(store, args.inbox, [programme for programme, _ in plans])):
                runs = run_all(store, plans, run)
            if remember is not None:
                remember(store, runs)
    print(summary(runs, label, what))
    return EXIT_REJECTED if any(r.has_errors for r in runs) else EXIT_CLEAN


def read_so_far(store, inbox: Path, programmes: list) -> list[tuple[Path, frozenset[str]]]:
    """Each programme's inbox folder and the content hashes of the files read from it so far
    (pipeline.ahead reads the first file not among them while the run imports what it needs)."""
    from pipeline.reuse import reader_of

    return [(inbox / programme.id, store.read_hashes(programme.id, reader_of(programme))) for programme in programmes]


def all_unchanged(store, plans: list, unchanged) -> list | None:
    """Every planned programme's run as `unchanged` gives it; None as soon as one has changed."""
    runs = []
    for programme, period in plans:
        found = unchanged(store, programme, period)
        if found is None:
            return None
        runs.append(found)
    return runs


def run_all(store, plans: list, run) -> list:
    """Run every planned programme, its documents made by the renderer while the next is worked out."""
    from pipeline.documents.render import Renderer

    renderer = Renderer()
    # Started before pandas is imported: a small process to fork, preparing at low priority meanwhile.
    renderer.start()
    try:
        from pipeline.monthly import render_documents, submit_documents

        runs = []
        now = clock.now()
        for programme, period in plans:
            runs.append(run(store, programme, period, now, renderer))
            submit_documents(runs[-1], renderer)      # rendered while the next programme is worked out
        render_documents(runs, store, renderer)
    finally:
        renderer.close()
    return runs


def progress() -> bool:
    return sys.stderr.isatty()


def monthly(args: argparse.Namespace) -> int:
    from pipeline.reuse import unchanged_run

    def run(store, programme, period, now, renderer):
        from pipeline.monthly import run_programme

        return run_programme(store, args.inbox, args.out, programme, period, now, progress(), renderer)

    def remember(store, runs):
        from pipeline.monthly import remember_outputs

        remember_outputs(store, runs, "monthly", period)

    period = month_asked(args)
    plans = [(programme, period) for programme in inbox_programmes(args)]
    return run_each(args, plans, run, period.label, "月度运行", remember,
                    lambda store, programme, period: unchanged_run(store, args.inbox, args.out, programme, period))


def evaluation(args: argparse.Namespace) -> int:
    from pipeline.evaluation import evaluation_period, run_evaluation

    plans = [(programme, evaluation_period(programme, args.year, args.term)) for programme in inbox_programmes(args)]
    if not any(period for _, period in plans):
        raise SettingsError(f"收件箱中没有按学期考核的项目（学期“{args.term}”）。")
    if all(period.start > clock.today() for _, period in plans if period):
        raise SettingsError(f"考核期“{args.year or args.term}”尚未开始。")
    for programme, period in plans:
        if period is None:
            print(f"【{programme.id}】{programme.title}不按学期考核，已跳过。")
    return run_each(args, [(p, period) for p, period in plans if period],
                     lambda store, programme, period, now, renderer: run_evaluation(
                         store, args.inbox, args.out, programme, period, args.term is not None, now, progress(),
                         renderer),
                     f"{args.year}年度" if args.year else f"{args.term}学期", "考核评优")


def daily(args: argparse.Namespace) -> int:
    from pipeline.daily import run_daily

    try:
        day = dt.date.fromisoformat(args.date.strip())
    except ValueError:
        raise SettingsError(f"日期“{args.date}”写法不对，应写作 2026-11-03。") from None
    programmes = [p for p in inbox_programmes(args) if p.preset == "after-sales"]
    if not programmes:
        raise SettingsError(f"收件箱 {args.inbox} 中没有售后服务项目（如 data/inbox/after-sales/）。")
    return run_each(args, [(p, day) for p in programmes],
                    lambda store, programme, day, now, _: run_daily(store, args.inbox, args.out, programme, day, now,
                                                                 progress()),
                    f"{day.year}年{day.month}月{day.day}日", "对账")


def certificates(args: argparse.Namespace) -> int:
    from pipeline.certificates import issues_certificates, run_certificates

    period = month_asked(args)
    chosen = [p for p in inbox_programmes(args) if issues_certificates(p)]
    if not chosen:
        raise SettingsError("收件箱中没有实行聘任制的项目（teaching、class-officers），不需要聘任证书。")
    return run_each(args, [(p, period) for p in chosen],
                    lambda store, programme, period, now, _: run_certificates(
                        store, args.inbox, args.out, programme, period, now, progress()),
                    period.label, "聘任证书")


def summary(runs: list, label: str, what: str = "月度运行") -> str:
    """The console summary: per programme, files read, rows accepted and rejected, paths written."""
    lines = [f"{label} {what}完成："]
    for run in runs:
        new = sum(f.status == "新读入" for f in run.files)
        seen = sum(f.status == "已读过" for f in run.files)
        broken = sum(f.status == "无法读取" for f in run.files)
        accepted = sum(f.accepted for f in run.files if f.status == "新读入")
        rejected = sum(f.rejected for f in run.files)
        lines.append(f"【{run.programme.id}】{run.programme.title}：文件 {len(run.files)} 个（新读入 {new}，"
                     f"已读过 {seen}，无法读取 {broken}）；新接收 {accepted} 行，退回 {rejected} 行，"
                     f"问题 {len(run.problems)} 条")
        changed = changed_records(run)
        if changed:
            lines.append(f"    本次更新记录 {len(changed)} 条：{'、'.join(changed[:20])}" + ("……" if len(changed) > 20 else ""))
        for path in run.written:
            lines.append(f"    {path}")
        if run.reused:
            lines.append("    （数据与设置都未变化，沿用上次生成的文件）")
        if not run.written:
            lines.append("    （本期没有要生成的文件）")
    return "\n".join(lines)


def changed_records(run) -> list[str]:
    """The keys (工单号, 工号 …) of the records this run replaced with different content."""
    import json

    keys = [key for f in run.files for _, key in f.change.replaced_keys]    # JSON lists: read in one go
    return [" ".join(key) for key in json.loads("[" + ",".join(keys) + "]")]


def templates(args: argparse.Namespace) -> int:
    from pipeline.blank_forms import write_templates
    from pipeline.settings import PRESET_NAMES, programme_for

    settings = load_settings(args.settings)
    programmes = programmes_in(args.inbox, settings) if args.inbox.is_dir() else []
    if not programmes:
        programmes = [programme_for(name, settings) for name in PRESET_NAMES]
    written = write_templates(args.out, programmes)
    print(f"已生成空白模板 {len(written)} 个：{args.out / 'templates'}")
    return EXIT_CLEAN


def rebuild_store(args: argparse.Namespace) -> int:
    from pipeline.rebuild import CannotRebuild, rebuild_store as rebuild

    settings = load_settings(args.settings)
    with one_run_at_a_time(args.store):
        try:
            done = rebuild(args.store, settings)
        except CannotRebuild as error:
            raise SettingsError(str(error)) from None
    print(f"数据库已重建：重新读入 {done.files} 个文件，{done.records} 条记录；"
          + ("与原数据库完全一致。" if done.differences == 0
             else f"与原数据库有 {done.differences} 条不同（读取规则或设置已更新）。")
          + f"\n原数据库保留为 {done.backup}")
    return EXIT_CLEAN


def bench(args: argparse.Namespace) -> int:
    from pipeline import bench as benchmark

    return benchmark.main([str(DEFAULT_OUT / "bench")])


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    handlers = {"monthly": monthly, "evaluation": evaluation, "daily": daily, "certificates": certificates,
                "templates": templates, "bench": bench, "rebuild-store": rebuild_store}
    try:
        return handlers[args.command](args)
    except SettingsError as error:
        print(f"错误：{error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("已中断。", file=sys.stderr)
        return 130
    except Exception:
        log = DEFAULT_OUT / "程序错误日志.txt"
        try:
            log.parent.mkdir(parents=True, exist_ok=True)
            with open(log, "a", encoding="utf-8") as handle:
                handle.write(f"--- {dt.datetime.now().isoformat()}\n{traceback.format_exc()}\n")
        except OSError:
            pass
        print(f"程序内部错误，本次运行未完成。请把 {log} 发给技术人员。", file=sys.stderr)
        return EXIT_INTERNAL
    finally:
        report_timings(os.environ.get("PIPELINE_TIMINGS"))


def report_timings(path: str | None) -> None:
    """For make bench, which times each run as a process of its own (as a clerk starts it): the seconds
    of each phase and of each PDF made, as JSON in the file `path` (nothing when it is not set)."""
    if not path:
        return
    import json

    from pipeline import timing

    render = sys.modules.get("pipeline.documents.render")
    pdfs = {str(k): v for k, v in render.RENDER_SECONDS.items()} if render is not None else {}
    Path(path).write_text(json.dumps({"phases": timing.taken(), "pdfs": pdfs}, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    # hypothesis is installed for the tests only; pandera, finding it, would import it with its
    # data-synthesis strategies at the first validation (80 ms of every run that reads a file, while
    # the other core waits). A run synthesises nothing: to pandera, here, it is not installed.
    sys.modules.setdefault("hypothesis", None)
    status = main()
    # Everything is written and closed by now (store, documents, worker processes): leave without
    # Python's clean-up, which would free the run's millions of objects one by one (0.1 s of a rerun).
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
