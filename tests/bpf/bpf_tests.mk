# SPDX-License-Identifier: GPL-2.0
# BPF_PROG_TEST_RUN tests (tests/bpf/run.sh runs them inside a scratch netns).
