"""Generates the site: each content/*.md becomes a page, plus an index."""
import argparse
import html
import os

import markdown

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>{title}</title></head>
<body>
<nav><a href="index.html">{site}</a></nav>
<main>
{body}
</main>
</body></html>
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--title", default="site")
    ap.add_argument("src")
    ap.add_argument("out")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    pages = []
    for name in sorted(os.listdir(a.src)):
        if not name.endswith(".md"):
            continue
        with open(os.path.join(a.src, name), encoding="utf-8") as f:
            text = f.read()
        title = text.splitlines()[0].lstrip("# ").strip() if text else name
        body = markdown.markdown(text, extensions=["tables", "fenced_code"])
        out = name[:-3] + ".html"
        with open(os.path.join(a.out, out), "w", encoding="utf-8") as f:
            f.write(PAGE.format(title=html.escape(title), site=html.escape(a.title), body=body))
        pages.append((out, title))
        print("page", out)
    items = "\n".join('<li><a href="%s">%s</a></li>' % (o, html.escape(t)) for o, t in pages)
    with open(os.path.join(a.out, "index.html"), "w", encoding="utf-8") as f:
        f.write(PAGE.format(title=html.escape(a.title), site=html.escape(a.title),
                            body="<h1>%s</h1>\n<ul>\n%s\n</ul>" % (html.escape(a.title), items)))
    print("index.html: %d pages" % len(pages))


if __name__ == "__main__":
    main()
