# The front door. `make` alone lists the targets.
.DEFAULT_GOAL := help
SHELL := /bin/sh

VENV   := .venv
PYTHON := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
FONTS  := data/fonts/fonts.conf
RUN    := $(PYTHON) -m pipeline
# Exit status 1 means "documents written, some rows sent back to clerks" (see 校验报告.xlsx): for make
# that is a finished run. Status 2 (usage or settings) and anything else still fail.
ACCEPT_REJECTED := status=$$?; if [ $$status -eq 1 ]; then echo "（有数据被退回，详见各项目的 校验报告.xlsx）"; exit 0; fi; exit $$status

PERIOD ?=
YEAR   ?=
# TERM is also the terminal's variable in every shell (xterm …): only TERM=… on make's command line counts.
TERM_ARG := $(if $(filter command line,$(origin TERM)),$(TERM))
DATE   ?=

.PHONY: help monthly evaluation templates sample bench clean test daily certificates system docs rebuild-store bytecode fonts

help: ## 列出所有命令（本页）
	@echo "用法: make <命令> [参数]"
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  %-14s %s\n", $$1, $$2}'

system: ## 检查并安装系统组件（中文字体、HarfBuzz、Pango）；已装则什么也不做
	@sh scripts/ensure-system.sh

$(STAMP): pyproject.toml requirements.lock
	@python3 -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' \
		|| { echo "需要 Python 3.11 或更新版本（当前: $$(python3 --version 2>&1)）。" >&2; exit 1; }
	@test -x $(PYTHON) || python3 -m venv $(VENV)
	@echo "正在安装 Python 依赖到 $(VENV) ..."
	@$(PYTHON) -m pip install --quiet --disable-pip-version-check -r requirements.lock
	@touch $(STAMP)

# The program's own modules compiled ahead (only those changed since): Python does not write them itself
# where PYTHONDONTWRITEBYTECODE is set, and would compile them again on every run.
bytecode: $(STAMP)
	@$(PYTHON) -m compileall -q pipeline schemas >/dev/null

# The documents' faces cut down to their common characters (pipeline/fonts.py): built once, ~30 s.
$(FONTS): | $(STAMP)
	@sh scripts/ensure-system.sh
	@$(PYTHON) -m pipeline.fonts

fonts: $(FONTS) ## 生成文档常用字字体到 data/fonts/（只做一次；make monthly 等会自动做）

monthly: system $(STAMP) bytecode $(FONTS) ## 生成月度通报与统计表: make monthly [PERIOD=2026-11]（默认上个月）
	@$(RUN) monthly $(if $(PERIOD),--period $(PERIOD)); $(ACCEPT_REJECTED)

evaluation: system $(STAMP) bytecode $(FONTS) ## 学期/年度考核评优: make evaluation YEAR=2026 或 TERM=2026秋
	@$(RUN) evaluation $(if $(YEAR),--year $(YEAR)) $(if $(TERM_ARG),--term $(TERM_ARG)); $(ACCEPT_REJECTED)

templates: system $(STAMP) bytecode ## 生成空白填报模板到 data/out/templates/
	@$(RUN) templates

daily: system $(STAMP) bytecode $(FONTS) ## 售后服务网点每日对账单: make daily DATE=2026-11-03
	@$(RUN) daily $(if $(DATE),--date $(DATE)); $(ACCEPT_REJECTED)

certificates: system $(STAMP) bytecode $(FONTS) ## 新聘信息员聘任证书: make certificates PERIOD=2026-11
	@$(RUN) certificates $(if $(PERIOD),--period $(PERIOD))

sample: system $(STAMP) ## 重新生成示例收件箱 data/inbox/（固定随机种子）
	@$(PYTHON) -m pipeline.sample data/inbox

docs: system $(STAMP) $(FONTS) ## 重新生成 docs/ 里各种文件第1页的示例图片（README 引用）
	@sh scripts/ensure-system.sh poppler-utils
	@$(PYTHON) -m pipeline.sample_documents docs

rebuild-store: system $(STAMP) bytecode ## 用数据库里存档的收件箱文件重建数据库（旧库保留为 .before-rebuild）
	@$(RUN) rebuild-store

bench: system $(STAMP) bytecode $(FONTS) ## 性能基准（结果写入 data/out/bench/）
	@$(RUN) bench

test: system $(STAMP) $(FONTS) ## 运行全部测试
	@$(PYTHON) -m pytest -q

clean: ## 删除输出（data/out/）；收件箱与数据库不动
	@find data/out -mindepth 1 ! -name .gitkeep -exec rm -rf {} + 2>/dev/null || true
	@echo "已清空 data/out/（收件箱 data/inbox/ 与数据库 data/store.sqlite 保留）。"
