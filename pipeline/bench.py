"""make bench: a fixed reference workload timed through the real pipeline (not a test).

Generates, from a fixed seed, a provincial-size inbox into a scratch folder — 200,000 after-sales
cards in 20 outlet workbooks, 40 correspondent units over 12 months, 30 departments with 600 teaching
officers, 300 classes, 60 informants over a year — and measures:

- the floor: python-calamine alone reading every inbox file once (in a fresh process);
- a cold run (empty store), split into read / validate / store / compute / write / render;
- a no-op rerun (nothing changed) and a rerun after one outlet workbook changed;
- peak memory (RSS), and the size and render time of the largest PDF.

Every run is `python -m pipeline monthly` in a process of its own, as a clerk starts it: its time
includes starting Python and importing the libraries. There are ROUNDS rounds, each measuring the
four one right after the other (the floor, the cold run, the no-op rerun, the rerun after the
change). Targets are ratios, each worked out within a round, so that the machine's speed cancels
out; the median of the rounds' ratios is held against the target, the median seconds shown beside.
"""
from __future__ import annotations

import datetime as dt
import io
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from openpyxl import Workbook
from python_calamine import CalamineWorkbook

from pipeline.outputs import write_atomically
from pipeline.settings import DEFAULT_OUT, PROJ_ROOT

SEED = 20261204
PERIOD = "2026-11"
OUTLETS, CARDS_PER_OUTLET = 20, 10_000
# Each figure is the median of this many rounds: on a shared two-core machine one run can be 20 % off,
# and the floor alone went 4.5-6.9 s within one benchmark of three rounds.
ROUNDS = 5
CARD_HEADERS = ["工单号", "网点", "服务工程师", "用户姓名", "联系电话", "用户地址", "产品型号", "购买日期", "故障现象",
                "服务方式", "预约时间", "到达时间", "完工时间", "修复状态", "回访时间", "回访结果", "用户评价", "用户签字",
                "保修状态", "标准收费", "保修证收费", "实收金额", "交回时间", "上报时间"]
ROSTER_HEADERS = ["工号", "姓名", "单位", "职务", "联系电话", "推荐日期", "审批", "聘任日期", "任期届满", "毕业日期",
                  "离任日期", "离任原因"]
# Each ratio is the median of the rounds' own ratios (measure).
TARGETS = {"cold ≤ 2.5 × floor": lambda f: f["ratios"]["cold_over_floor"] <= 2.5,
           "no-op ≤ cold / 20 and < 3 s": lambda f: f["ratios"]["noop_over_cold"] <= 1 / 20 and f["noop_s"] < 3,
           "one outlet changed ≤ cold / 4": lambda f: f["ratios"]["one_changed_over_cold"] <= 1 / 4,
           "peak RSS ≤ 2 GiB": lambda f: f["peak_rss_mb"] <= 2048,
           "every bulletin ≤ 2 MB": lambda f: f["largest_bulletin_mb"] <= 2}


def save(path: Path, headers: list[str], rows) -> None:
    """A plain workbook: header in row 1, then the rows (write-only, so big ones stay cheap)."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet("数据")
    sheet.append(headers)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    write_atomically(path, buffer.getvalue())


def officer_rows(prefix: str, units: list[str], per_unit: int, role: str, appointed: dt.date, rng: random.Random):
    rows = []
    for u, unit in enumerate(units):
        for k in range(per_unit):
            rows.append([f"{prefix}{u:03d}{k:02d}", f"人员{u}-{k}", unit, role, f"13{rng.randrange(10**9):09d}", None,
                         "通过", appointed, None, None, None, None])
    return rows


def off_midnight(moment: dt.datetime | None) -> dt.datetime | None:
    """A time moved off exactly 00:00 (python-calamine reads such a cell as a bare date; see README)."""
    return moment + dt.timedelta(minutes=1) if moment is not None and moment.time() == dt.time() else moment


def outlet_cards(outlet: int, rng: random.Random, changed: bool = False):
    """One outlet's month of cards. The last outlet's workbook has three bad cells, as real ones do,
    so that the run also sends a workbook back annotated."""
    start = dt.datetime(2026, 11, 1, 8, 0)
    for n in range(CARDS_PER_OUTLET):
        if changed and n == 0:
            yield [f"GD{outlet:02d}{n:06d}", f"网点{outlet:02d}", f"工程师{outlet:02d}-00", "用户0", "13900000000",
                   "前进区", "BCD-216", "2024-05-01", "不制冷", "电话咨询", None, None, start, "已修复",
                   start + dt.timedelta(hours=1), "满意", "满意", "是", "保内", None, None, 0.0, start, start]
            continue
        appointment = off_midnight(start + dt.timedelta(minutes=rng.randrange(29 * 24 * 60)))
        mode = rng.choice(("上门", "上门", "上门", "电话咨询", "拉修"))
        visit = mode != "电话咨询"
        arrival = off_midnight(appointment + dt.timedelta(minutes=rng.randrange(-10, 20)))
        finished = off_midnight((arrival if visit else appointment) + dt.timedelta(minutes=rng.randrange(20, 120)))
        callback = off_midnight(finished + dt.timedelta(minutes=rng.randrange(30, 300))) if rng.random() < 0.5 else None
        handed = off_midnight(finished + dt.timedelta(hours=rng.choice((1, 2, 30))))
        fee = rng.choice((80.0, 120.0)) if rng.random() < 0.2 else None
        row = [f"GD{outlet:02d}{n:06d}", f"网点{outlet:02d}", f"工程师{outlet:02d}-{rng.randrange(12):02d}",
               f"用户{n}", f"139{rng.randrange(10**8):08d}", f"前进区长安路{n % 300}号", "BCD-216",
               "2024-05-01" if rng.random() < 0.8 else "不详", "不制冷", mode,
               appointment if visit else None, arrival if visit else None, finished,
               rng.choice(("已修复", "已修复", "未修复")), callback,
               rng.choice(("满意", "不满意")) if callback else None,
               rng.choice(("满意", "满意", "基本满意", "不满意")), "是", "保外" if fee else "保内", fee, None,
               fee if fee else 0.0, handed, off_midnight(handed + dt.timedelta(hours=1))]
        if outlet == OUTLETS - 1 and n in (10, 20, 30):
            row[12] = "2026-11-31 10:00"          # a day November does not have
        yield row


def generate(inbox: Path) -> None:
    """The reference workload, the same bytes every time (fixed seed)."""
    rng = random.Random(SEED)
    outlets = [f"网点{i:02d}" for i in range(OUTLETS)]
    save(inbox / "after-sales" / "名册.xlsx", ROSTER_HEADERS,
         officer_rows("WD", outlets, 1, "网点信息员", dt.date(2026, 1, 1), rng))
    for outlet in range(OUTLETS):
        save(inbox / "after-sales" / f"网点{outlet:02d}.xlsx", CARD_HEADERS,
             outlet_cards(outlet, random.Random(SEED + outlet)))
    units = [f"{i}大队" for i in range(40)]
    save(inbox / "correspondents" / "名册.xlsx", ROSTER_HEADERS,
         officer_rows("JX", units, 1, "通讯员", dt.date(2025, 12, 1), rng))
    for month in range(1, 13):
        rows = []
        for u, unit in enumerate(units):
            for k in range(rng.randrange(4, 9)):
                day = dt.date(2026, month, rng.randrange(1, 28))
                level = rng.choice(("", "", "内部", "市级", "省级", "国家级"))
                rows.append([f"{month:02d}{u:02d}{k}", unit, f"JX{u:03d}00", f"稿件{k}", day, "审核人", level or None,
                             level or None, day + dt.timedelta(days=2) if level else None])
        save(inbox / "correspondents" / f"{month}月.xlsx",
             ["稿件编号", "报送单位", "作者工号", "标题", "报送日期", "审核人", "采用媒体", "媒体级别", "刊发日期"], rows)
    departments = [f"系{i:02d}" for i in range(30)]
    teachers = officer_rows("XS", departments, 20, "组员", dt.date(2026, 9, 10), rng)
    save(inbox / "teaching" / "名册.xlsx", ROSTER_HEADERS, teachers)
    feedback_headers = ["工号", "反馈日期", "类别", "反馈内容", "处理状态"]
    save(inbox / "teaching" / "反馈.xlsx", feedback_headers,
         [[o[0], dt.date(2026, 9, 1) + dt.timedelta(days=rng.randrange(90)), "教学态度", f"意见{i}-{o[0]}",
           rng.choice(("已处理", "未处理"))] for o in teachers for i in range(4)])
    save(inbox / "teaching" / "签到.xlsx", ["活动日期", "活动名称", "活动类型", "工号", "出勤"],
         [[dt.date(2026, m, 15), f"{m}月例会", "常规例会", o[0], rng.choice(("出席", "出席", "请假", "缺席"))]
          for m in (9, 10, 11) for o in teachers])
    classes = [f"班{i:03d}" for i in range(300)]
    pupils = officer_rows("BJ", classes, 1, "信息员", dt.date(2026, 9, 5), rng)
    save(inbox / "class-officers" / "名册.xlsx", ROSTER_HEADERS, pupils)
    save(inbox / "class-officers" / "反馈.xlsx", feedback_headers,
         [[o[0], dt.date(2026, m, rng.randrange(1, 28)), "学风", f"反馈{m}-{o[0]}", "未处理"]
          for m in (9, 10, 11) for o in pupils if rng.random() < 0.9])
    grids = [f"网格{i}" for i in range(6)]
    informants = officer_rows("SQ", grids, 10, "信息员", dt.date(2026, 1, 1), rng)
    informants[0][3] = "责任人"
    save(inbox / "community" / "名册.xlsx", ROSTER_HEADERS, informants)
    save(inbox / "community" / "社情.xlsx", feedback_headers,
         [[o[0], dt.date(2026, m, rng.randrange(1, 28)), "社情民意", f"社情{m}-{k}-{o[0]}", "未处理"]
          for m in range(1, 12) for o in informants for k in range(rng.randrange(3))])


def floor_seconds(inbox: Path) -> float:
    """python-calamine alone reading every cell of every inbox file once (in this process)."""
    start = time.perf_counter()
    for path in sorted(inbox.rglob("*.xlsx")):
        book = CalamineWorkbook.from_path(str(path))
        for name in book.sheet_names:
            book.get_sheet_by_name(name).to_python()
    return time.perf_counter() - start


def fresh_floor_seconds(inbox: Path) -> float:
    """floor_seconds measured in a fresh Python process, as each run is timed, not in the benchmark's
    own (whose heap, after generating the workload, its collector would walk while python-calamine
    makes its millions of cells). Without starting Python and importing python-calamine: the floor
    is the reading alone."""
    done = subprocess.run([sys.executable, "-c", "import sys; from pathlib import Path; "
                           "from pipeline.bench import floor_seconds; print(floor_seconds(Path(sys.argv[1])))",
                           str(inbox)], cwd=PROJ_ROOT, capture_output=True, text=True, check=True)
    return float(done.stdout)


def timed_run(arguments: list[str], scratch: Path) -> tuple[float, dict[str, float], dict[str, float]]:
    """One run as a clerk starts it, a process of its own (imports included): its seconds, the
    seconds of its phases, and those of each PDF it made."""
    timings = scratch / "timings.json"
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "pipeline", *arguments], cwd=PROJ_ROOT, stdout=subprocess.DEVNULL,
                          env={**os.environ, "PIPELINE_TIMINGS": str(timings)})
    seconds = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise SystemExit(f"基准运行失败（退出码 {done.returncode}）")
    found = json.loads(timings.read_text(encoding="utf-8"))
    return seconds, found["phases"], found["pdfs"]


def peak_rss_mb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024


def middle(runs: list[tuple]) -> tuple:
    """The run of median seconds (runs as timed_run gives them)."""
    return sorted(runs, key=lambda run: run[0])[len(runs) // 2]


def measure(scratch: Path, rounds: int = ROUNDS) -> dict:
    """`rounds` rounds, each measuring within a minute, one right after the other: the floor, a cold
    run (empty store), a no-op rerun, and a rerun after one outlet workbook changed. Each ratio is
    worked out within its round, where the machine's speed is the same for all four (on a shared
    machine it changes from one minute to the next by up to half), and the median of the rounds'
    ratios is reported, beside the median seconds."""
    inbox, out, store = scratch / "inbox", scratch / "out", scratch / "store.sqlite"
    start = time.perf_counter()
    generate(inbox)
    generated = time.perf_counter() - start
    arguments = ["monthly", "--period", PERIOD, "--inbox", str(inbox), "--out", str(out), "--store", str(store),
                 "--settings", str(scratch / "none.toml")]
    outlet = inbox / "after-sales" / "网点00.xlsx"
    original = outlet.read_bytes()
    save(scratch / "changed.xlsx", CARD_HEADERS, outlet_cards(0, random.Random(SEED), changed=True))
    changed_bytes = (scratch / "changed.xlsx").read_bytes()
    floors, colds, noops, changed, largest = [], [], [], [], []
    for _ in range(rounds):
        shutil.rmtree(out, ignore_errors=True)
        for old in scratch.glob("store.sqlite*"):
            old.unlink()
        write_atomically(outlet, original)
        floors.append(fresh_floor_seconds(inbox))
        colds.append(timed_run(arguments, scratch))
        bulletin = max(out.glob(f"*/{PERIOD}/通报.pdf"), key=lambda p: p.stat().st_size)
        largest.append((bulletin, bulletin.stat().st_size, colds[-1][2].get(str(bulletin), float("nan"))))
        noops.append(timed_run(arguments, scratch))
        write_atomically(outlet, changed_bytes)
        changed.append(timed_run(arguments, scratch))
    ratios = {"cold_over_floor": [c[0] / f for c, f in zip(colds, floors)],
              "noop_over_cold": [n[0] / c[0] for n, c in zip(noops, colds)],
              "one_changed_over_cold": [o[0] / c[0] for o, c in zip(changed, colds)]}
    cold, split, _ = middle(colds)
    one_changed, changed_split, _ = middle(changed)
    bulletin, size, seconds = max(largest, key=lambda found: found[1])
    cards = sum(1 for _ in out.glob("after-sales/*/统计表.xlsx"))
    return {
        "workload": {"service_cards": OUTLETS * CARDS_PER_OUTLET, "outlet_workbooks": OUTLETS,
                     "inbox_files": sum(1 for p in inbox.rglob("*") if p.is_file()),
                     "inbox_mb": round(sum(p.stat().st_size for p in inbox.rglob("*") if p.is_file()) / 2**20, 1),
                     "generated_s": round(generated, 1)},
        "rounds": rounds,
        "floor_s": round(statistics.median(floors), 2), "cold_s": round(cold, 2),
        "cold_split_s": {k: round(v, 2) for k, v in split.items()},
        "noop_s": round(middle(noops)[0], 2), "one_changed_s": round(one_changed, 2),
        "one_changed_split_s": {k: round(v, 2) for k, v in changed_split.items()},
        "ratios": {name: round(statistics.median(values), 4) for name, values in ratios.items()},
        "each_round": {"floor_s": [round(s, 2) for s in floors], "cold_s": [round(r[0], 2) for r in colds],
                       "noop_s": [round(r[0], 2) for r in noops], "one_changed_s": [round(r[0], 2) for r in changed],
                       **{name: [round(v, 4) for v in values] for name, values in ratios.items()}},
        "peak_rss_mb": round(peak_rss_mb(), 0),
        "largest_bulletin": f"{bulletin.parent.parent.name}/{PERIOD}/通报.pdf",
        "largest_bulletin_mb": round(size / 2**20, 3),
        "largest_bulletin_render_s": round(seconds, 2), "statistics_workbooks": cards,
    }


def report(figures: dict) -> str:
    ratios, rounds = figures["ratios"], figures["each_round"]
    lines = ["基准结果（" + ", ".join(f"{k}={v}" for k, v in figures["workload"].items()) + "）",
             f"  {figures['rounds']} 轮，每轮依次测 floor、冷启动、无变化重跑、改一个网点文件后重跑，比值在轮内计算；"
             "秒数与比值都是各轮的中位数。每次运行都是单独启动的 python -m pipeline monthly",
             f"  floor（calamine 读全部文件）   {figures['floor_s']:>8.2f} s",
             f"  冷启动（空数据库）              {figures['cold_s']:>8.2f} s   = {ratios['cold_over_floor']:.2f} × floor",
             "    其中 " + "  ".join(f"{k} {v:.2f}s" for k, v in figures["cold_split_s"].items()),
             f"  无变化重跑                      {figures['noop_s']:>8.2f} s   = 1/{1 / max(ratios['noop_over_cold'], 1e-9):.0f} 冷启动",
             f"  改一个网点文件后重跑            {figures['one_changed_s']:>8.2f} s   = 1/{1 / max(ratios['one_changed_over_cold'], 1e-9):.2f} 冷启动",
             "    其中 " + "  ".join(f"{k} {v:.2f}s" for k, v in figures["one_changed_split_s"].items()),
             "  各轮：floor " + "/".join(f"{v:.2f}" for v in rounds["floor_s"])
             + "；cold " + "/".join(f"{v:.2f}" for v in rounds["cold_s"])
             + "；noop " + "/".join(f"{v:.2f}" for v in rounds["noop_s"])
             + "；one_changed " + "/".join(f"{v:.2f}" for v in rounds["one_changed_s"]),
             "  各轮比值：cold/floor " + "/".join(f"{v:.2f}" for v in rounds["cold_over_floor"])
             + "；cold/one_changed " + "/".join(f"{1 / v:.2f}" for v in rounds["one_changed_over_cold"]),
             f"  峰值内存 RSS                    {figures['peak_rss_mb']:>8.0f} MB",
             f"  最大的通报 {figures['largest_bulletin']}：{figures['largest_bulletin_mb']:.2f} MB，"
             f"生成 {figures['largest_bulletin_render_s']:.2f} s",
             "  目标："]
    for name, check in TARGETS.items():
        lines.append(f"    {'达到' if figures['targets'][name] else '未达到'}  {name}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    out = Path(argv[0]) if argv else DEFAULT_OUT / "bench"
    with tempfile.TemporaryDirectory(prefix="bench-") as scratch:
        figures = measure(Path(scratch))
    figures["targets"] = {name: bool(check(figures)) for name, check in TARGETS.items()}
    figures["measured_at"] = dt.datetime.now().isoformat(timespec="seconds")
    write_atomically(out / "bench.json", json.dumps(figures, ensure_ascii=False, indent=2).encode("utf-8"))
    print(report(figures))
    print(f"已写入 {out / 'bench.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
