#!/usr/bin/env python3
"""Man pages for strata, made from its --help texts.

Usage: gen-man.py STRATA_BINARY OUTDIR

Writes strata.1 and one strata-CMD.1 per command (strata-image-ls.1 for
`strata image ls`; each alias of a command gets its own page). The help
texts are the only source, so the pages always match the binary.
"""
import os
import re
import subprocess
import sys


def helptext(binary, words):
    out = subprocess.run([binary] + words + ["--help"], capture_output=True,
                         text=True, check=True)
    return out.stdout


def esc(text):
    """Escapes text for troff: backslashes, and a leading dot or quote."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    return re.sub(r"^([.'])", r"\\&\1", text, flags=re.M)


def sections(text):
    """Splits a --help text into (usage, description, [(title, lines)])."""
    lines = text.strip("\n").split("\n")
    usage = lines[0].split(":", 1)[1].strip() if lines[0].startswith("Usage:") else ""
    desc, secs, cur = [], [], None
    for line in lines[1:]:
        m = re.match(r"^([A-Z][A-Za-z ]+):$", line)
        if m:
            cur = (m.group(1), [])
            secs.append(cur)
        elif cur is None:
            desc.append(line)
        else:
            cur[1].append(line)
    return usage, "\n".join(desc).strip(), secs


def options(lines):
    """troff .TP entries for "  -a, --all   Text" lines (continuations
    joined to the entry above)."""
    out, entry = [], None
    for line in lines:
        m = re.match(r"^\s+(-\S.*?)(?:\s{2,}(.*))?$", line)
        if m:
            entry = [m.group(1), m.group(2) or ""]
            out.append(entry)
        elif entry is not None and line.strip():
            entry[1] += " " + line.strip()
    return "".join(".TP\n.B %s\n%s\n" % (esc(f), esc(d)) for f, d in out)


def page(name, summary, text, version):
    usage, desc, secs = sections(text)
    title = name.upper()
    parts = ['.TH "%s" "1" "" "strata %s" "strata manual"' % (title, version),
             ".SH NAME", "%s \\- %s" % (esc(name), esc(summary)),
             ".SH SYNOPSIS", ".B %s" % esc(usage)]
    if desc:
        parts += [".SH DESCRIPTION", ".nf", esc(desc), ".fi"]
    for title, lines in secs:
        body = "\n".join(lines).strip("\n")
        if not body.strip():
            continue
        parts.append(".SH %s" % title.upper())
        if title == "Options":
            parts.append(options(lines).rstrip("\n"))
        else:
            parts += [".nf", esc(body), ".fi"]
    parts += [".SH SEE ALSO", "\\fBstrata\\fR(1)" if name != "strata" else
              "\\fBstrata\\-COMMAND\\fR(1) for each command below"]
    return "\n".join(parts) + "\n"


def listed(text, heading):
    """(name, summary) pairs of a "Heading:" list in a help text."""
    m = re.search(r"^%s:\n((?:  \S.*\n?)+)" % heading, text, flags=re.M)
    if not m:
        return []
    return [tuple(re.split(r"\s{2,}", l.strip(), maxsplit=1) + [""])[:2]
            for l in m.group(1).splitlines()]


def main():
    binary, outdir = sys.argv[1], sys.argv[2]
    os.makedirs(outdir, exist_ok=True)
    version = subprocess.run([binary, "--version"], capture_output=True,
                             text=True).stdout.split()[-1]
    top = helptext(binary, [])
    pages = {"strata": ("A daemonless, Docker-compatible container image "
                        "engine", top)}
    for cmd, summary in listed(top, "Commands"):
        pages["strata-" + cmd] = (summary, helptext(binary, [cmd]))
    for group, summary in listed(top, "Management Commands"):
        out = subprocess.run([binary, group], capture_output=True, text=True)
        pages["strata-" + group] = (summary, out.stdout)
        for sub, subsummary in listed(out.stdout, "Commands"):
            pages["strata-%s-%s" % (group, sub)] = (
                subsummary, helptext(binary, [group, sub]))
    for name, (summary, text) in sorted(pages.items()):
        with open(os.path.join(outdir, name + ".1"), "w") as f:
            f.write(page(name, summary, text, version))
    print("%d man pages in %s" % (len(pages), outdir))


if __name__ == "__main__":
    main()
