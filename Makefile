# Every command a person or a pipeline runs goes through here. `make help` lists them.
# Area-specific targets live in mk/*.mk; this file holds the shared ones.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

ROOT     := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
VENV     := $(ROOT)/.venv
PY       := $(VENV)/bin/python
BIN      := $(VENV)/bin
STATE    := $(ROOT)/.local
export PATH := $(BIN):$(PATH)

include $(sort $(wildcard $(ROOT)/mk/*.mk))
