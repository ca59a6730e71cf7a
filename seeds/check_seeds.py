#!/usr/bin/env python3
"""Re-verify Glossa's seed data (stdlib only).

    python3 seeds/check_seeds.py            # from the project root
    python3 check_seeds.py                  # from inside seeds/

Checks seeds/manifest.json, seeds/articles/*.txt and seeds/annotations.json
against the rules the server applies when it loads the seeds:

* article text is normalised exactly as the server stores it (see normalise());
* every target's TextQuoteSelector/TextPositionSelector matches that text:
  text[start:end] == exact, prefix/suffix are the up-to-32 code points
  around the quote (offsets are Unicode code points, end exclusive);
* slugs, users, motivations, verdicts, edit labels, statuses, bodies,
  target sources and "/articles/<slug>" evidence links are valid.

Prints one OK/FAIL line per article and per annotation and exits 1 on any
failure.
"""

import json
import os
import re
import sys
import unicodedata

SEEDS_DIR = os.path.dirname(os.path.abspath(__file__))
ARTICLES_DIR = os.path.join(SEEDS_DIR, "articles")
MANIFEST = os.path.join(SEEDS_DIR, "manifest.json")
ANNOTATIONS = os.path.join(SEEDS_DIR, "annotations.json")

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
ARTICLE_SLUG_MAX = 48
CONTEXT_LEN = 32  # code points of prefix / suffix

USERS = {"alice", "bruno", "chiara"}
MOTIVATIONS = {"assessing", "editing", "linking", "commenting", "questioning", "tagging"}
VERDICTS = {"true", "mostly-true", "mixed", "mostly-false", "false", "misleading", "unverifiable"}
EDIT_LABELS = {"correction", "clarification", "update"}
STATUSES = {"open", "in_review", "resolved", "rejected"}
CONTEXT = "http://www.w3.org/ns/anno.jsonld"

MANIFEST_KEYS = {"file", "slug", "title", "outlet", "published", "url"}
ITEM_KEYS = {"slug", "user", "annotation", "assignee", "status", "replies"}
ANNOTATION_KEYS = {"@context", "type", "motivation", "body", "verdict", "editLabel", "sources", "target",
                   "claimant", "claimDate", "claimSummary"}
CLAIM_KEYS = {"claimant", "claimDate", "claimSummary"}


def normalise(raw: str) -> str:
    """The article text as the server stores it.

    Unicode NFC; CRLF/CR -> LF; within each line every run of whitespace
    characters (str.isspace(), other than "\\n") becomes one space and the
    line is stripped; empty lines are dropped; lines are joined with "\\n";
    no trailing newline.
    """
    text = unicodedata.normalize("NFC", raw)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = []
    for line in text.split("\n"):
        out = []
        in_space = False
        for ch in line:
            if ch.isspace():
                if not in_space:
                    out.append(" ")
                in_space = True
            else:
                out.append(ch)
                in_space = False
        line = "".join(out).strip(" ")
        if line:
            lines.append(line)
    return "\n".join(lines)


class Report:
    def __init__(self):
        self.failed = False

    def line(self, name, errors):
        if errors:
            self.failed = True
            print(f"FAIL {name}")
            for e in errors:
                print(f"     - {e}")
        else:
            print(f"OK   {name}")


def load_json(path, report, name):
    try:
        with open(path, "rb") as f:
            raw = f.read()
        return json.loads(raw.decode("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as e:
        report.line(name, [f"cannot read {path}: {e}"])
        return None


def is_str_or_null(v):
    return v is None or (isinstance(v, str) and v.strip() != "")


def check_manifest(report):
    """Returns {article slug: normalised text} for the articles that loaded."""
    texts = {}
    manifest = load_json(MANIFEST, report, "manifest.json")
    if manifest is None:
        return texts
    if not isinstance(manifest, list) or not manifest:
        report.line("manifest.json", ["must be a non-empty JSON array"])
        return texts

    seen_files, seen_slugs = set(), set()
    files_in_order = []
    for i, entry in enumerate(manifest):
        errors = []
        name = f"article #{i}"
        if not isinstance(entry, dict):
            report.line(name, ["entry is not an object"])
            continue
        missing = MANIFEST_KEYS - entry.keys()
        extra = entry.keys() - MANIFEST_KEYS
        if missing:
            errors.append(f"missing keys: {sorted(missing)}")
        if extra:
            errors.append(f"unknown keys: {sorted(extra)}")
        slug = entry.get("slug")
        fname = entry.get("file")
        name = f"article {slug} ({fname})"
        if not isinstance(slug, str) or not SLUG_RE.match(slug):
            errors.append(f"slug {slug!r} does not match {SLUG_RE.pattern}")
        elif len(slug) > ARTICLE_SLUG_MAX:
            errors.append(f"slug longer than {ARTICLE_SLUG_MAX} chars")
        if slug in seen_slugs:
            errors.append("duplicate slug")
        seen_slugs.add(slug)
        for key in ("title", "outlet", "published", "url"):
            if not is_str_or_null(entry.get(key)):
                errors.append(f"{key} must be a non-empty string or null")
        if not isinstance(fname, str) or os.path.basename(fname) != fname or not fname.endswith(".txt"):
            errors.append(f"file {fname!r} must be a plain .txt file name")
        else:
            if fname in seen_files:
                errors.append("duplicate file")
            seen_files.add(fname)
            files_in_order.append(fname)
            path = os.path.join(ARTICLES_DIR, fname)
            try:
                with open(path, "rb") as f:
                    raw = f.read().decode("utf-8")
                text = normalise(raw)
                if not text:
                    errors.append("article text is empty after normalisation")
                elif isinstance(slug, str):
                    texts[slug] = text
            except (OSError, UnicodeDecodeError) as e:
                errors.append(f"cannot read {path}: {e}")
        report.line(name, errors)

    errors = []
    if files_in_order != sorted(files_in_order):
        errors.append("entries are not in file order")
    try:
        on_disk = {f for f in os.listdir(ARTICLES_DIR) if f.endswith(".txt")}
    except OSError as e:
        on_disk = set()
        errors.append(f"cannot list {ARTICLES_DIR}: {e}")
    if on_disk - seen_files:
        errors.append(f"articles not in the manifest: {sorted(on_disk - seen_files)}")
    report.line("manifest.json (order, completeness)", errors)
    return texts


def check_selectors(target, texts, errors, where):
    source = target.get("source")
    if not isinstance(source, str) or not source.startswith("/articles/"):
        errors.append(f"{where}: source {source!r} must be /articles/<slug>")
        return None
    art = source[len("/articles/"):]
    if art not in texts:
        errors.append(f"{where}: source {source!r} names no article in the manifest")
        return None
    text = texts[art]
    if target.get("type") != "SpecificResource":
        errors.append(f"{where}: type must be SpecificResource")
    selectors = target.get("selector")
    if not isinstance(selectors, list):
        errors.append(f"{where}: selector must be an array")
        return art
    quotes = [s for s in selectors if isinstance(s, dict) and s.get("type") == "TextQuoteSelector"]
    positions = [s for s in selectors if isinstance(s, dict) and s.get("type") == "TextPositionSelector"]
    if len(quotes) != 1 or len(positions) != 1 or len(selectors) != 2:
        errors.append(f"{where}: needs exactly one TextQuoteSelector and one TextPositionSelector")
        return art
    q, p = quotes[0], positions[0]
    exact, prefix, suffix = q.get("exact"), q.get("prefix"), q.get("suffix")
    start, end = p.get("start"), p.get("end")
    if not isinstance(exact, str) or not exact:
        errors.append(f"{where}: exact must be a non-empty string")
        return art
    if exact not in text:
        errors.append(f"{where}: exact {exact[:40]!r} does not occur in the normalised text of {art}")
    if not (isinstance(start, int) and isinstance(end, int)) or isinstance(start, bool) or isinstance(end, bool):
        errors.append(f"{where}: start/end must be integers")
        return art
    if not (0 <= start < end <= len(text)):
        errors.append(f"{where}: start/end {start}/{end} out of range (text has {len(text)} code points)")
        return art
    if text[start:end] != exact:
        hits = [m.start() for m in re.finditer(re.escape(exact), text)]
        errors.append(f"{where}: text[{start}:{end}] is {text[start:end][:40]!r}, not exact"
                      f" (exact occurs at {hits})")
        return art
    want_prefix = text[max(0, start - CONTEXT_LEN):start]
    want_suffix = text[end:end + CONTEXT_LEN]
    if prefix != want_prefix:
        errors.append(f"{where}: prefix {prefix!r} should be {want_prefix!r}")
    if suffix != want_suffix:
        errors.append(f"{where}: suffix {suffix!r} should be {want_suffix!r}")
    return art


def check_annotation(item, texts, seen):
    errors = []
    if not isinstance(item, dict):
        return None, ["item is not an object"]
    slug = item.get("slug")
    extra = item.keys() - ITEM_KEYS
    if extra:
        errors.append(f"unknown item keys: {sorted(extra)}")
    if not isinstance(slug, str) or not SLUG_RE.match(slug) or not slug.startswith("seed-"):
        errors.append(f"slug {slug!r} must match {SLUG_RE.pattern} and start with 'seed-'")
    if slug in seen:
        errors.append("duplicate annotation slug")
    seen.add(slug)
    if item.get("user") not in USERS:
        errors.append(f"user {item.get('user')!r} not one of {sorted(USERS)}")
    if "assignee" in item and item["assignee"] not in USERS:
        errors.append(f"assignee {item['assignee']!r} not one of {sorted(USERS)}")
    if "status" in item and item["status"] not in STATUSES:
        errors.append(f"status {item['status']!r} not one of {sorted(STATUSES)}")
    replies = item.get("replies", [])
    if not isinstance(replies, list):
        errors.append("replies must be an array")
    else:
        for j, r in enumerate(replies):
            if not isinstance(r, dict) or set(r.keys()) != {"user", "text"}:
                errors.append(f"reply {j}: must be {{user, text}}")
            elif r["user"] not in USERS:
                errors.append(f"reply {j}: user {r['user']!r} unknown")
            elif not isinstance(r["text"], str) or not r["text"].strip():
                errors.append(f"reply {j}: empty text")

    anno = item.get("annotation")
    if not isinstance(anno, dict):
        errors.append("annotation must be an object")
        return slug, errors
    extra = anno.keys() - ANNOTATION_KEYS
    if extra:
        errors.append(f"unknown annotation keys: {sorted(extra)}")
    if anno.get("@context") != CONTEXT:
        errors.append(f"@context must be {CONTEXT}")
    if anno.get("type") != "Annotation":
        errors.append("type must be Annotation")
    motivation = anno.get("motivation")
    if motivation not in MOTIVATIONS:
        errors.append(f"motivation {motivation!r} not one of {sorted(MOTIVATIONS)}")

    # verdict / editLabel only where they belong
    if motivation == "assessing":
        if anno.get("verdict") not in VERDICTS:
            errors.append(f"fact-check needs verdict in {sorted(VERDICTS)}, got {anno.get('verdict')!r}")
    elif "verdict" in anno:
        errors.append("verdict is only allowed on assessing (fact-check) annotations")
    if motivation == "assessing":
        claimant = anno.get("claimant")
        if claimant is not None and not (isinstance(claimant, dict) and str(claimant.get("name", "")).strip()):
            errors.append("claimant must be {name, url?, type?} with a name")
        date = anno.get("claimDate")
        if date is not None and not re.fullmatch(r"\d{4}-\d{2}-\d{2}(T.*)?", str(date)):
            errors.append(f"claimDate {date!r} is not YYYY-MM-DD or a date-time")
        summary = anno.get("claimSummary")
        if summary is not None and not (0 < len(summary) <= 75):
            errors.append(f"claimSummary must have 1 to 75 characters, has {len(summary)}")
    elif CLAIM_KEYS & anno.keys():
        errors.append("claimant, claimDate and claimSummary are only allowed on fact-checks")
    if motivation == "editing":
        if anno.get("editLabel") not in EDIT_LABELS:
            errors.append(f"correction needs editLabel in {sorted(EDIT_LABELS)}, got {anno.get('editLabel')!r}")
    elif "editLabel" in anno:
        errors.append("editLabel is only allowed on editing (correction) annotations")

    # bodies
    body = anno.get("body")
    if not isinstance(body, list) or not body:
        errors.append("body must be a non-empty array")
        body = []
    notes = edits = tags = 0
    for j, b in enumerate(body):
        if not isinstance(b, dict) or b.get("type") != "TextualBody":
            errors.append(f"body {j}: must be a TextualBody object")
            continue
        value = b.get("value")
        if not isinstance(value, str) or not value.strip():
            errors.append(f"body {j}: value must be a non-empty string")
        purpose = b.get("purpose")
        if purpose is None:
            notes += 1
            if b.get("format") != "text/plain":
                errors.append(f"body {j}: the note body needs format text/plain")
        elif purpose == "editing":
            edits += 1
        elif purpose == "tagging":
            tags += 1
            if isinstance(value, str) and not SLUG_RE.match(value):
                errors.append(f"body {j}: tag {value!r} should be lowercase, hyphenated")
        else:
            errors.append(f"body {j}: purpose {purpose!r} not allowed (editing, tagging or none)")
    if notes != 1:
        errors.append(f"needs exactly one note body (no purpose), found {notes}")
    if motivation == "editing" and edits != 1:
        errors.append(f"correction needs exactly one suggested replacement (purpose editing), found {edits}")
    if motivation != "editing" and edits:
        errors.append("only corrections may carry a purpose=editing body")
    if motivation == "tagging" and tags < 1:
        errors.append("tag annotation needs at least one purpose=tagging body")

    # sources
    sources = anno.get("sources", [])
    if not isinstance(sources, list):
        errors.append("sources must be an array")
        sources = []
    for j, s in enumerate(sources):
        if not isinstance(s, dict) or not isinstance(s.get("url"), str) or not s["url"]:
            errors.append(f"source {j}: needs a url")
            continue
        if not isinstance(s.get("title"), str) or not s["title"].strip():
            errors.append(f"source {j}: needs a title")
        url = s["url"]
        if url.startswith("/articles/") and url[len("/articles/"):] not in texts:
            errors.append(f"source {j}: {url!r} names no article in the manifest")
        elif not url.startswith("/articles/") and not url.startswith("https://"):
            errors.append(f"source {j}: {url!r} is neither /articles/<slug> nor https://")

    # targets
    targets = anno.get("target")
    if not isinstance(targets, list) or not targets:
        errors.append("target must be a non-empty array")
        targets = []
    arts = []
    for j, t in enumerate(targets):
        if not isinstance(t, dict):
            errors.append(f"target {j}: not an object")
            continue
        arts.append(check_selectors(t, texts, errors, f"target {j}"))
    if motivation == "linking":
        if len(targets) < 2:
            errors.append("contradiction needs two or more targets")
        elif len(set(arts)) != len(arts):
            errors.append("contradiction targets must be in different articles")
    elif len(targets) != 1:
        errors.append("only contradictions (linking) may have more than one target")
    return slug, errors


def main():
    report = Report()
    texts = check_manifest(report)
    items = load_json(ANNOTATIONS, report, "annotations.json")
    if items is not None:
        if not isinstance(items, list) or not items:
            report.line("annotations.json", ["must be a non-empty JSON array"])
        else:
            seen = set()
            for i, item in enumerate(items):
                slug, errors = check_annotation(item, texts, seen)
                report.line(f"annotation {slug if slug else '#' + str(i)}", errors)
            print(f"{len(texts)} articles, {len(items)} annotations checked")
    if report.failed:
        print("RESULT: FAIL")
        return 1
    print("RESULT: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
