"""The boot ISO: grub.cfg text, the ISO tree layout and grub-mkrescue.

Layout of the tree handed to grub-mkrescue:

    boot/grub/grub.cfg
    boot/nestor.elf                 the hypervisor (multiboot2 kernel)
    guests/<index>-<name>.elf       one per domain, index counts from 1
    mods/<index>-<n>-<basename>     the domain's own modules

Each domain is one `module2` line whose command line is
`<kind> name=<name> mem=<size> [priv] [other opts...] [-- <args>]`, followed
by one `module2 ... mod <basename>` line per module of that domain.  GRUB's
own output must stay off the serial port, which carries only the
hypervisor's console.
"""

import os
import re
import shutil
import subprocess

from . import HostToolError

HV_ISO_PATH = "/boot/nestor.elf"

# Words made of these characters mean the same to GRUB's script lexer
# written bare; anything else ($, quotes, ;, #, braces...) gets quoted.
_GRUB_SAFE_WORD = re.compile(r"^[A-Za-z0-9_./:=,+%@^~-]+$")


def grub_quote(word):
    """Quote one word for grub.cfg.  GRUB single quotes are literal, like
    sh; an embedded quote is written '\\'' (close, escaped quote, reopen).
    Note that GRUB itself re-quotes when it builds the command line it hands
    to the kernel: words containing ' " or \\ reach the kernel with those
    characters backslash-escaped."""
    if word and _GRUB_SAFE_WORD.match(word):
        return word
    return "'" + word.replace("'", "'\\''") + "'"


def grub_words(words):
    return " ".join(grub_quote(w) for w in words)


def guest_iso_path(index, spec):
    return "/guests/%d-%s.elf" % (index, spec.name)


def mod_iso_path(index, mod_index, mod_path):
    return "/mods/%d-%d-%s" % (index, mod_index, os.path.basename(mod_path))


def hv_cmdline_words(loglvl, hv_args):
    """The hypervisor's own command line (after the image path)."""
    return ["loglvl=" + loglvl] + list(hv_args)


def domain_cmdline_words(spec):
    """`<kind> name=<name> mem=<size> [priv] [opts...] [-- <args>]`.

    Guest arguments are split on whitespace so that each reaches the guest
    as a plain word: GRUB would wrap a single word containing spaces in
    double quotes."""
    words = [spec.kind, "name=" + spec.name, "mem=" + spec.mem]
    if spec.priv:
        words.append("priv")
    words.extend(spec.extra)
    if spec.args is not None:
        words.append("--")
        words.extend(spec.args.split())
    return words


def raw_iso_path(index, path):
    return "/raw/%d-%s" % (index, os.path.basename(path))


def grub_cfg(specs, loglvl="info", hv_args=(), raw_modules=()):
    """The whole grub.cfg text for these (resolved) guest specs."""
    lines = [
        "set timeout=0",
        "set default=0",
        # GRUB must not talk on COM1: the serial console is the hypervisor's.
        "terminal_output console",
        'menuentry "Nestor" {',
        "    multiboot2 %s %s" % (HV_ISO_PATH, grub_words(hv_cmdline_words(loglvl, hv_args))),
    ]
    for index, spec in enumerate(specs, 1):
        lines.append("    module2 %s %s" % (guest_iso_path(index, spec),
                                            grub_words(domain_cmdline_words(spec))))
        for mod_index, mod in enumerate(spec.mods, 1):
            lines.append("    module2 %s %s" % (mod_iso_path(index, mod_index, mod),
                                                grub_words(["mod", os.path.basename(mod)])))
    # Verbatim module lines: GRUB splits them into words like any other.
    for index, (path, cmdline) in enumerate(raw_modules, 1):
        lines.append("    module2 %s %s" % (raw_iso_path(index, path), cmdline))
    lines += ["    boot", "}"]
    return "\n".join(lines) + "\n"


def populate_tree(tree, hv_image, specs, loglvl="info", hv_args=(), raw_modules=()):
    """Create the ISO tree under `tree` (which must not exist yet)."""
    os.makedirs(os.path.join(tree, "boot", "grub"))
    os.makedirs(os.path.join(tree, "guests"))
    os.makedirs(os.path.join(tree, "mods"))
    shutil.copyfile(hv_image, _in_tree(tree, HV_ISO_PATH))
    for index, spec in enumerate(specs, 1):
        shutil.copyfile(spec.path, _in_tree(tree, guest_iso_path(index, spec)))
        for mod_index, mod in enumerate(spec.mods, 1):
            shutil.copyfile(mod, _in_tree(tree, mod_iso_path(index, mod_index, mod)))
    os.makedirs(os.path.join(tree, "raw"))
    for index, (path, _) in enumerate(raw_modules, 1):
        shutil.copyfile(path, _in_tree(tree, raw_iso_path(index, path)))
    with open(os.path.join(tree, "boot", "grub", "grub.cfg"), "w") as f:
        f.write(grub_cfg(specs, loglvl, hv_args, raw_modules))


def _in_tree(tree, iso_path):
    return os.path.join(tree, iso_path.lstrip("/"))


def make_iso(tree, iso):
    """Run grub-mkrescue; its chatter is only shown when it fails."""
    if shutil.which("grub-mkrescue") is None:
        raise HostToolError("grub-mkrescue not found (packages grub-pc-bin, grub-common, xorriso, mtools)")
    proc = subprocess.run(["grub-mkrescue", "-o", iso, tree], stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
    if proc.returncode != 0 or not os.path.isfile(iso):
        raise HostToolError("grub-mkrescue failed (exit %d):\n%s" % (proc.returncode, proc.stdout))
    return iso
