"""Guest specifications: `--guest NAME[:OPTIONS]` parsing and image kinds.

A guest spec names an image (a built test guest, i.e. build/guests/NAME.elf,
or a path) and a comma-separated option list:

    kind=elf|mb1|mb2   how the hypervisor loads the image (default: detected)
    mem=SIZE           guest RAM, e.g. 16M or 1G (default 32M)
    priv               privileged domain (dom0)
    name=X             domain name (default: the file's stem)
    mod=PATH           a file handed to the guest as a module (repeatable)
    args=...           the guest's command line; must come last because it
                       takes the rest of the string, commas included
    anything else      passed verbatim to the hypervisor (nested=1, ...)

Parsing (`parse_guest_spec`) is pure; `resolve_guest` then touches the file
system to find the image, check modules and detect the kind.
"""

import os
import re
import struct
from dataclasses import dataclass, field

from . import GUESTS_DIR, UsageError

KINDS = ("elf", "mb1", "mb2")
DEFAULT_MEM = "32M"

MB2_MAGIC = 0xE85250D6
MB2_SEARCH = 32768          # multiboot2 spec: header within the first 32 KiB
MB1_MAGIC = 0x1BADB002
MB1_SEARCH = 8192           # multiboot1 spec: header within the first 8 KiB

# Domain names end up in a 32-byte NUL-terminated field (struct
# nestor_start_info.name) and in GRUB command lines, so keep them short and
# free of anything GRUB or the hypervisor's tokenizer would have to quote.
NAME_RE = re.compile(r"^[A-Za-z0-9_.+-]{1,31}$")
SIZE_RE = re.compile(r"^(\d+)\s*([KMG])(?:i?B)?$", re.IGNORECASE)
SIZE_SHIFT = {"K": 10, "M": 20, "G": 30}


@dataclass
class GuestSpec:
    """One `--guest` argument, parsed; `path` and `kind` may still be unset."""

    image: str                      # NAME part as written by the user
    kind: str = None                # elf|mb1|mb2, None = detect
    mem: str = DEFAULT_MEM          # canonical size string, e.g. "32M"
    priv: bool = False
    name: str = None                # None = derive from the file name
    mods: list = field(default_factory=list)
    args: str = None                # None = no "-- args" part at all
    extra: list = field(default_factory=list)   # passthrough tokens
    path: str = None                # resolved image path


def parse_size(text):
    """'16M' -> 16777216.  A unit is required: a bare number is ambiguous
    between bytes (what a loader expects) and MiB (what --mem takes)."""
    m = SIZE_RE.match(text.strip())
    if not m:
        raise UsageError("bad size %r: write a number with a unit K, M or G, e.g. 16M" % text)
    value = int(m.group(1)) << SIZE_SHIFT[m.group(2).upper()]
    if value == 0:
        raise UsageError("bad size %r: must not be zero" % text)
    return value


def canonical_size(text):
    """Normalise a size for the hypervisor's command line: '16mib' -> '16M'."""
    parse_size(text)
    m = SIZE_RE.match(text.strip())
    return m.group(1) + m.group(2).upper()


def split_options(text):
    """Split an OPTIONS string on commas, except that `args=` swallows the
    rest of the string (guest command lines contain commas, e.g. Linux's
    console=ttyS0,115200).  Returns (tokens, args or None)."""
    tokens = []
    rest = text
    while rest:
        if rest.startswith("args="):
            return tokens, rest[len("args="):]
        token, sep, rest = rest.partition(",")
        if token:       # tolerate empty tokens from doubled/trailing commas
            tokens.append(token)
        if not sep:
            break
    return tokens, None


def parse_guest_spec(text):
    """Parse `NAME[:OPTIONS]` into a GuestSpec (no file-system access)."""
    image, _, options = text.partition(":")
    if not image:
        raise UsageError("--guest %r: missing guest name or path before ':'" % text)
    spec = GuestSpec(image=image)
    tokens, spec.args = split_options(options)
    for token in tokens:
        _apply_option(spec, token, text)
    return spec


def _apply_option(spec, token, whole):
    """Store one `key=value` or flag token into spec."""
    key, has_value, value = token.partition("=")
    if key == "kind" and has_value:
        if value not in KINDS:
            raise UsageError("--guest %r: kind must be one of %s" % (whole, "|".join(KINDS)))
        spec.kind = value
    elif key == "mem" and has_value:
        spec.mem = canonical_size(value)
    elif key == "name" and has_value:
        if not NAME_RE.match(value):
            raise UsageError("--guest %r: name must be 1-31 characters of [A-Za-z0-9_.+-]" % whole)
        spec.name = value
    elif key == "mod" and has_value:
        if not value:
            raise UsageError("--guest %r: mod= needs a path" % whole)
        spec.mods.append(value)
    elif token == "priv":
        spec.priv = True
    elif key in ("kind", "mem", "name", "mod", "priv"):
        raise UsageError("--guest %r: option %r is malformed" % (whole, token))
    else:
        _check_passthrough(token, whole)
        spec.extra.append(token)


def _check_passthrough(token, whole):
    """Passthrough tokens go verbatim into the module command line, where
    whitespace would split them and a bare `--` would start the guest's
    arguments, so refuse both."""
    if re.search(r"\s", token) or token == "--":
        raise UsageError("--guest %r: option %r cannot be passed to the hypervisor" % (whole, token))


def detect_kind(data):
    """Kind of an image from its first bytes: 'mb2', 'mb1', 'elf' or None.

    Multiboot headers win over the ELF header because a multiboot kernel is
    usually also an ELF file and must be booted the multiboot way.  The
    checksums are verified so that a stray magic number in data does not
    count.
    """
    if _find_mb2_header(data):
        return "mb2"
    if _find_mb1_header(data):
        return "mb1"
    if len(data) >= 5 and data[:4] == b"\x7fELF" and data[4] == 2:  # ELFCLASS64
        return "elf"
    return None


def _find_mb2_header(data):
    limit = min(len(data), MB2_SEARCH) - 16
    for off in range(0, limit + 1, 8):
        magic, arch, length, checksum = struct.unpack_from("<IIII", data, off)
        if magic == MB2_MAGIC and (magic + arch + length + checksum) & 0xFFFFFFFF == 0:
            return True
    return False


def _find_mb1_header(data):
    limit = min(len(data), MB1_SEARCH) - 12
    for off in range(0, limit + 1, 4):
        magic, flags, checksum = struct.unpack_from("<III", data, off)
        if magic == MB1_MAGIC and (magic + flags + checksum) & 0xFFFFFFFF == 0:
            return True
    return False


def resolve_image(image, guests_dir=GUESTS_DIR):
    """Map NAME to a file: a built test guest build/guests/NAME.elf wins for
    plain names; anything else must be an existing path."""
    if os.sep not in image:
        built = os.path.join(guests_dir, image + ".elf")
        if os.path.isfile(built):
            return built
    if os.path.isfile(image):
        return os.path.abspath(image)
    known = available_guests(guests_dir)
    hint = ("built test guests: " + ", ".join(known)) if known else \
        "no test guests are built (run `nestor build`)"
    raise UsageError("guest %r is neither build/guests/%s.elf nor a file; %s" % (image, image, hint))


def available_guests(guests_dir=GUESTS_DIR):
    """Names of the built test guests, for error messages."""
    try:
        return sorted(f[:-4] for f in os.listdir(guests_dir) if f.endswith(".elf"))
    except OSError:
        return []


def default_name(path):
    """Domain name from a file name: its stem, made valid (e.g. a kernel
    called vmlinuz-6.1.0-cloud-amd64 keeps its dots; '.elf' goes away)."""
    base = os.path.basename(path)
    stem, ext = os.path.splitext(base)
    # Only a short alphanumeric suffix is an extension; ".0-cloud-amd64" is not.
    if not (ext and re.match(r"^\.[A-Za-z0-9]{1,4}$", ext)) or not stem:
        stem = base
    stem = re.sub(r"[^A-Za-z0-9_.+-]", "_", stem)[:31]
    return stem or "guest"


def resolve_guest(spec, guests_dir=GUESTS_DIR, taken_names=()):
    """Fill in spec.path, spec.kind and spec.name; check module files."""
    spec.path = resolve_image(spec.image, guests_dir)
    if spec.kind is None:
        spec.kind = detect_kind(_read_head(spec.path))
        if spec.kind is None:
            raise UsageError("%s: not an ELF64 image and no multiboot header found; "
                             "give kind=elf|mb1|mb2" % spec.path)
    if spec.name is None:
        spec.name = unique_name(default_name(spec.path), taken_names)
    elif spec.name in taken_names:
        raise UsageError("two guests are named %r: give one of them name=..." % spec.name)
    for i, mod in enumerate(spec.mods):
        if not os.path.isfile(mod):
            raise UsageError("guest %s: module file %r does not exist" % (spec.name, mod))
        if re.search(r"\s", os.path.basename(mod)):
            raise UsageError("guest %s: module file name %r contains whitespace" % (spec.name, mod))
        spec.mods[i] = os.path.abspath(mod)
    return spec


def unique_name(name, taken):
    """Derived names may collide (two copies of one test guest): number them
    hello, hello-2, hello-3 so that output can still be told apart."""
    if name not in taken:
        return name
    n = 2
    while ("%s-%d" % (name, n))[:31] in taken:
        n += 1
    return ("%s-%d" % (name, n))[:31]


def _read_head(path):
    with open(path, "rb") as f:
        return f.read(MB2_SEARCH)


def resolve_guests(specs, guests_dir=GUESTS_DIR):
    """Resolve a list of specs in order, keeping domain names unique."""
    taken = []
    for spec in specs:
        resolve_guest(spec, guests_dir, taken)
        taken.append(spec.name)
    return specs
