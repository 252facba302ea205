# SPDX-License-Identifier: GPL-2.0
# Installation: the four binaries, example configs, systemd units, the
# broker's system user, bash completion and manual pages (scdoc sources in
# man/, turned into roff at build time). The BPF object is embedded in
# mqlbd through its skeleton, so it is not installed on its own.
#
#   make install [PREFIX=/usr/local] [DESTDIR=] [sysconfdir=/etc] [unitdir=...]
#   make uninstall (same variables)
#
# Configs go to $(sysconfdir) (/etc, whatever PREFIX is: that is where
# mqlbd(8) and the units look) and are never overwritten: an edited file
# stays, and uninstall removes one only if it is still the shipped example.
PREFIX      ?= /usr/local
prefix      ?= $(PREFIX)
bindir      ?= $(prefix)/bin
sbindir     ?= $(prefix)/sbin
datadir     ?= $(prefix)/share
mandir      ?= $(datadir)/man
docdir      ?= $(datadir)/doc/mqlb
sysconfdir  ?= /etc
unitdir     ?= $(prefix)/lib/systemd/system
sysusersdir ?= $(prefix)/lib/sysusers.d
bashcompdir ?= $(datadir)/bash-completion/completions
SCDOC       ?= scdoc
INSTALL     ?= install

MAN_SRCS := $(wildcard man/*.scd)
MANS     := $(patsubst man/%.scd,$(O)/man/%,$(MAN_SRCS))

$(O)/man/%: man/%.scd
	$(call msg,SCDOC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(SCDOC) <$< >$@

man: $(MANS)

# The units name the binaries and the config by their installed paths.
define install_unit
	$(Q)sed -e 's|@sbindir@|$(sbindir)|g' -e 's|@sysconfdir@|$(sysconfdir)|g' \
		dist/$(1).service.in >$(DESTDIR)$(unitdir)/$(1).service
	$(Q)chmod 0644 $(DESTDIR)$(unitdir)/$(1).service
endef

# install_conf SRC DEST MODE: the example, unless an operator's file is there.
define install_conf
	$(Q)if [ -e $(2) ]; then echo "  KEEP     $(2) (exists; the example is $(1))"; \
	else $(INSTALL) -m $(3) $(1) $(2); fi
endef

install: all man
	$(call msg,INSTALL,$(DESTDIR)$(prefix))
	$(Q)$(INSTALL) -d $(DESTDIR)$(sbindir) $(DESTDIR)$(bindir) $(DESTDIR)$(unitdir) \
		$(DESTDIR)$(sysusersdir) $(DESTDIR)$(bashcompdir) $(DESTDIR)$(docdir) \
		$(DESTDIR)$(mandir)/man1 $(DESTDIR)$(mandir)/man5 $(DESTDIR)$(mandir)/man8
	$(Q)$(INSTALL) -d -m 0755 $(DESTDIR)$(sysconfdir)/mqlb $(DESTDIR)$(sysconfdir)/mqbroker
	$(Q)$(INSTALL) -m 0755 $(O)/mqlbd $(O)/mqlb $(O)/mqbroker $(DESTDIR)$(sbindir)/
	$(Q)$(INSTALL) -m 0755 $(O)/mqbench $(DESTDIR)$(bindir)/
	$(call install_conf,dist/mqlbd.conf,$(DESTDIR)$(sysconfdir)/mqlb/mqlbd.conf,0640)
	$(call install_conf,dist/mqbroker.conf,$(DESTDIR)$(sysconfdir)/mqbroker/mqbroker.conf,0644)
	$(call install_conf,/dev/null,$(DESTDIR)$(sysconfdir)/mqbroker/passwd,0640)
	$(call install_unit,mqlbd)
	$(call install_unit,mqbroker)
	$(Q)$(INSTALL) -m 0644 dist/mqbroker.sysusers $(DESTDIR)$(sysusersdir)/mqbroker.conf
	$(Q)$(INSTALL) -m 0644 dist/mqlb.bash-completion $(DESTDIR)$(bashcompdir)/mqlb
	$(Q)for m in $(MANS); do \
		$(INSTALL) -m 0644 $$m $(DESTDIR)$(mandir)/man$${m##*.}/; done
	$(Q)$(INSTALL) -m 0644 README.md LICENSE docs/*.md $(DESTDIR)$(docdir)/
	$(Q)if [ -z "$(DESTDIR)" ]; then dist/post-install.sh "$(sysusersdir)" "$(sysconfdir)"; fi

uninstall:
	$(call msg,UNINSTALL,$(DESTDIR)$(prefix))
	$(Q)rm -f $(DESTDIR)$(sbindir)/mqlbd $(DESTDIR)$(sbindir)/mqlb $(DESTDIR)$(sbindir)/mqbroker \
		$(DESTDIR)$(bindir)/mqbench $(DESTDIR)$(unitdir)/mqlbd.service \
		$(DESTDIR)$(unitdir)/mqbroker.service $(DESTDIR)$(sysusersdir)/mqbroker.conf \
		$(DESTDIR)$(bashcompdir)/mqlb
	$(Q)for m in $(MANS); do n=$${m##*/}; rm -f $(DESTDIR)$(mandir)/man$${n##*.}/$$n; done
	$(Q)rm -rf $(DESTDIR)$(docdir)
	$(Q)dist/uninstall-conf.sh dist/mqlbd.conf $(DESTDIR)$(sysconfdir)/mqlb/mqlbd.conf
	$(Q)dist/uninstall-conf.sh dist/mqbroker.conf $(DESTDIR)$(sysconfdir)/mqbroker/mqbroker.conf
	$(Q)dist/uninstall-conf.sh /dev/null $(DESTDIR)$(sysconfdir)/mqbroker/passwd

.PHONY: man install uninstall
