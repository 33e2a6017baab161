"""Publishing throughput: a full site build against bare ``markdown.markdown()``, then an
incremental rebuild after one edit.

Builds a temporary workspace (the builders of ``tests/publishing_fixtures.py``): N
briefings (default 2,000) drafted from stored items and approved by two officers
through the real workflow, each about 1,500 words of Markdown (headings, paragraphs,
bullet and numbered lists, a table, links, inline code, emphasis), with a publishable
machine translation in every other language (en, fr, es, ar: 4 pages per briefing).
One briefing in fifty is TLP:AMBER, so the public audience (TLP:CLEAR) leaves it out
and the leak scan has real needles to look for. Setting all that up is not timed.

Then, each timed in a process of its own (as ``briefings serve`` runs each scheduled
publish in a subprocess, and the command line in a new process; timing them in the
bench's own process, after it generated 2,000 briefings and ran the other side, made
the same rebuild about a tenth slower), the clock reading only ``publish_site`` or the
bare loop, not the process's start:

- full: ``publish_site`` for the public audience on the fresh workspace (cold render
  cache, no live site): collect, render every page, listings, feeds, sitemap, status
  page, leak scan, manifest, signature, write the release and switch to it;
- bare: ``markdown.markdown(text, extensions=..., extension_configs=...)`` with the
  renderer's own extensions over the same page texts (each briefing page's Markdown,
  in every language), as the floor of the build's cost;
- both are timed ``--repeat`` times (default 2), alternated, the other full builds on
  copies of the workspace with nothing published (as cold as the first): whole runs
  of either side vary by a tenth on a shared machine, and the best of each counts;
- excluded edit: a sentence is added to a TLP:AMBER briefing, which is approved again,
  then ``publish_site``: the leak scan has a new needle, and reads again only the files
  whose recorded clause sums may hold it;
- new excluded briefing: a new TLP:AMBER alert is drafted, written and approved, then
  ``publish_site``: a new id among the needles, ruled out of the files by the sums of
  their id prefixes (files read again: ``new_excluded_scanned``);
- incremental: one briefing is edited, approved again by two officers and its
  translations redone (as the translation stage would), then ``publish_site`` again:
  the files it rewrote (and whether all were files the edit affects) and its time as
  a share of the full build. This is done on another briefing each time: the first
  rebuild makes the site's second release, a new tree; the second recycles the full
  build's release; from the third on (``keep_releases``, 3), the oldest release is one
  a rebuild made, as on a site published on a schedule: the steady state. ``--steady``
  such rebuilds are made (default 5) and the best counts, as the best full build does
  (all are printed). Five, because a rebuild lasts about a second and one stall of the
  disk's write-back or of a neighbour on the machine adds tenths to it (measured: 1.10
  and 1.74 s for rebuilds alike in the same run); a full build lasts a minute and such
  stalls average out in it.

The workspace renders Markdown in the publishing process only
(``publishing.render_processes = 1``): the target is about one process. For reference,
a full build of a copy of the workspace with Markdown rendered ahead in ``--processes``
worker processes (default: one per CPU) is timed last.

Pages per second count the briefing pages (one per briefing and language, the texts
the bare side renders); the ratio is bare seconds over build seconds (>= 0.8 is the
target). Prints a table, then exactly one JSON line (the last line of stdout).

    .venv/bin/python bench/publish.py                    # 2,000 briefings (several minutes)
    .venv/bin/python bench/publish.py --briefings 100    # a quick run
    .venv/bin/python bench/publish.py --profile          # plus a cProfile of the full build

Exit status: 0 when both builds published and verified (whatever the figures), 1 when
a sanity check failed, 2 when ``--fail-under`` was given and the ratio is below it.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import json
import os
import pstats
import random
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from common import clean_up_when_stopped, finish, log, machine

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

LANGS = ("en", "fr", "es", "ar")
TARGET_RATIO = 0.8
TARGET_INCREMENTAL_SHARE = 0.02
AMBER_EVERY = 50
ONE_PROCESS = "\n[publishing]\nrender_processes = 1\n"

WORDS = {
    "en": """attackers exploited the vulnerable gateway before operators noticed unusual traffic
    from several addresses hospital wards water utilities rail signalling systems were
    disrupted for hours while engineers restored services from offline backups the national
    team coordinated with vendors regulators and local authorities to contain the incident
    analysts observed lateral movement credential theft and encrypted file shares across the
    network patches are available for supported versions administrators should review remote
    access accounts rotate passwords and monitor outbound connections to unknown domains the
    campaign targeted municipal services schools energy suppliers and telecom operators in
    several member states officials warned that further intrusions remain likely during the
    coming weeks""",
    "fr": """les attaquants ont exploité la passerelle vulnérable avant que les opérateurs ne
    remarquent un trafic inhabituel provenant de plusieurs adresses les services hospitaliers
    les réseaux d'eau et la signalisation ferroviaire ont été perturbés pendant des heures
    tandis que les ingénieurs restauraient les systèmes à partir de sauvegardes hors ligne
    l'équipe nationale a coordonné la réponse avec les fournisseurs les régulateurs et les
    autorités locales les analystes ont observé des mouvements latéraux un vol d'identifiants
    et des partages chiffrés les correctifs sont disponibles pour les versions prises en
    charge les administrateurs doivent vérifier les accès distants et surveiller les
    connexions sortantes vers des domaines inconnus""",
    "es": """los atacantes explotaron la pasarela vulnerable antes de que los operadores
    notaran tráfico inusual desde varias direcciones los servicios hospitalarios las redes de
    agua y la señalización ferroviaria sufrieron interrupciones durante horas mientras los
    ingenieros restauraban los sistemas desde copias de seguridad sin conexión el equipo
    nacional coordinó la respuesta con proveedores reguladores y autoridades locales los
    analistas observaron movimiento lateral robo de credenciales y recursos compartidos
    cifrados los parches están disponibles para las versiones compatibles los
    administradores deben revisar los accesos remotos y vigilar las conexiones salientes
    hacia dominios desconocidos""",
    "ar": """استغل المهاجمون البوابة المعرضة للخطر قبل أن يلاحظ المشغلون حركة مرور غير
    معتادة من عدة عناوين وتعطلت أقسام المستشفيات وشبكات المياه وأنظمة الإشارات في السكك
    الحديدية لساعات بينما أعاد المهندسون الخدمات من النسخ الاحتياطية غير المتصلة ونسق
    الفريق الوطني مع الموردين والجهات التنظيمية والسلطات المحلية لاحتواء الحادث ولاحظ
    المحللون تحركا جانبيا وسرقة بيانات الاعتماد وتشفير الملفات المشتركة في الشبكة
    والتصحيحات متاحة للإصدارات المدعومة وعلى المسؤولين مراجعة حسابات الوصول عن بعد
    ومراقبة الاتصالات الصادرة إلى نطاقات غير معروفة""",
}
HEADINGS = {
    "en": ["What happened", "Who is affected", "Technical details", "What to do", "Sources"],
    "fr": ["Ce qui s'est passé", "Qui est touché", "Détails techniques", "Que faire", "Sources"],
    "es": ["Qué ocurrió", "A quién afecta", "Detalles técnicos", "Qué hacer", "Fuentes"],
    "ar": ["ما الذي حدث", "من المتأثر", "التفاصيل التقنية", "ما العمل", "المصادر"],
}
SECTORS = ["sector.hospitals", "sector.water", "sector.rail", "sector.energy",
           "sector.education", "sector.telecom", "sector.aviation", "sector.banking"]  # fmt: skip
THREATS = ["threat.ransomware", "threat.wiper", "threat.ddos", "threat.phishing",
           "threat.gnss-jamming", "threat.ics-manipulation"]  # fmt: skip


def load_fixtures():
    """``tests/publishing_fixtures.py`` and the builders it imports, from the tests folder
    (put on the path as tests/conftest.py does: itself, not its parent)."""
    tests = str(ROOT / "tests")
    if tests not in sys.path:
        sys.path.insert(0, tests)
    import publishing_fixtures

    return publishing_fixtures


# -- texts -------------------------------------------------------------------------------


def sentence(rng: random.Random, words: list[str], n: int) -> str:
    picked = [rng.choice(words) for _ in range(n)]
    if rng.random() < 0.3:
        picked.insert(
            rng.randrange(len(picked)),
            f"`CVE-{rng.randint(2019, 2026)}-{rng.randint(1000, 99999)}`",
        )
    if rng.random() < 0.2:
        at = rng.randrange(len(picked) - 1)
        picked[at] = f"**{picked[at]}**"
    text = " ".join(picked)
    return text[0].upper() + text[1:] + "."


def paragraph(rng: random.Random, words: list[str]) -> str:
    out = [sentence(rng, words, rng.randint(10, 22)) for _ in range(rng.randint(3, 6))]
    if rng.random() < 0.5:
        host = rng.choice(["cert.example", "vendor.example", "csirt.example.org"])
        out.insert(
            1,
            f"See the [advisory {rng.randint(1, 999)}](https://{host}/a/{rng.randint(1, 10**6)}).",
        )
    return " ".join(out)


def body(rng: random.Random, lang: str, title: str, target_words: int) -> str:
    """A briefing of about ``target_words`` words of Markdown in ``lang``."""
    words = WORDS[lang].split()
    heads = HEADINGS[lang]
    parts = [f"# {title}", ""]
    count, section = 0, 0
    while count < target_words:
        parts += [f"## {heads[section % len(heads)]} {section // len(heads) + 1}", ""]
        for _ in range(rng.randint(2, 4)):
            text = paragraph(rng, words)
            parts += [text, ""]
            count += len(text.split())
        if section % 3 == 0:
            items = [sentence(rng, words, rng.randint(5, 12)) for _ in range(rng.randint(3, 6))]
            parts += [f"- {item}" for item in items] + [""]
            count += sum(len(i.split()) for i in items)
        if section % 3 == 1:
            items = [sentence(rng, words, rng.randint(5, 12)) for _ in range(rng.randint(3, 5))]
            parts += [f"{n}. {item}" for n, item in enumerate(items, 1)] + [""]
            count += sum(len(i.split()) for i in items)
        if section == 2:
            parts += ["| product | versions | fixed in |", "| --- | --- | --- |"]
            for _ in range(rng.randint(3, 6)):
                parts.append(f"| {rng.choice(words).capitalize()} {rng.randint(1, 9)} "
                             f"| {rng.randint(1, 5)}.{rng.randint(0, 9)}.x "
                             f"| {rng.randint(6, 9)}.{rng.randint(0, 9)} |")  # fmt: skip
            parts.append("")
            count += 30
        section += 1
    return "\n".join(parts)


# -- the workspace -------------------------------------------------------------------------


def make_workspace(root: Path, n: int, words: int, seed: int):
    """A workspace with ``n`` approved briefings and their machine translations."""
    pf = load_fixtures()
    bf = pf.bf
    from briefings.tlp import TLP

    rng = random.Random(seed)
    # The target is about one process: Markdown is not rendered ahead in workers here
    # (see full_build_of for that).
    env = pf.make_site_env(root, languages=LANGS, extra=ONE_PROCESS)
    started = time.perf_counter()
    ids: list[str] = []
    i = 0
    while len(ids) < n:  # drafting folds some items together: add more until there are n
        for _ in range(n - len(ids)):
            sector, threat = SECTORS[i % len(SECTORS)], THREATS[(i // 3) % len(THREATS)]
            env.add_item(
                f"Incident {i:05d} {bf.label(threat)} at {bf.label(sector)}",
                key=f"bench-{i}",
                tlp=TLP.AMBER if i % AMBER_EVERY == AMBER_EVERY - 1 else TLP.CLEAR,
                sectors=[sector], threats=[threat], priority=80,
                published=bf.T0 - timedelta(hours=i),
            )  # fmt: skip
            i += 1
        env.draft()
        ids = [r.id for r in env.store.list_briefings() if r.state == "draft"][:n]
    log(f"  drafted {n} briefings from {i} items in {time.perf_counter() - started:.1f} s")
    workflow = env.workflow()
    for done, briefing_id in enumerate(ids, 1):
        write_version(env, pf, workflow, rng, briefing_id, words)
        if done % 250 == 0 or done == n:
            log(f"  {done}/{n} briefings written, approved and translated "
                f"({time.perf_counter() - started:.0f} s)")  # fmt: skip
    return env, ids


def write_version(env, pf, workflow, rng, briefing_id: str, words: int, note: str = "") -> None:
    """Edit the briefing to a new generated text, approve it, translate it."""
    from briefings.documents import parse_document, render_document

    document = parse_document(env.read(briefing_id), env.path(briefing_id))
    title = str(document.meta["title"])
    text = body(rng, "en", title, words) + note
    raw = render_document(dict(document.meta), text)
    if env.store.get_briefing(briefing_id).state == "published":
        env.write(briefing_id, raw)  # in a text editor: back to review, approved again
        workflow.sync(briefing_id)
    else:
        workflow.edit(briefing_id, "carla", raw)
    for officer in ("ana", "ben"):
        workflow.approve(briefing_id, officer)
    source = env.read(briefing_id)
    for lang in LANGS[1:]:
        translated_title = f"{title} ({lang})"
        pf.write_translation(
            env, briefing_id, lang, translated_title,
            body(rng, lang, translated_title, words) + note, source=source,
        )  # fmt: skip


# -- the measurements --------------------------------------------------------------------


def page_texts(env, audience: str = "public") -> list[str]:
    """The Markdown of every briefing page of the audience's site (each language)."""
    from briefings.approval import Workflow
    from briefings.publishing import PublishReport, collect_publications

    config = env.workspace.config
    limit = next(a for a in config.audiences if a.name == audience).max_tlp
    pubs = collect_publications(Workflow(env.workspace, env.store), PublishReport())
    return [p.body for p in pubs if limit.allows(p.record.tlp) and not p.withdrawn]


def bare_markdown(texts: list[str]) -> float:
    import markdown

    from briefings.rendering import EXTENSION_CONFIGS, EXTENSIONS

    gc.collect()
    started = time.perf_counter()
    for text in texts:
        markdown.markdown(text, extensions=EXTENSIONS, extension_configs=EXTENSION_CONFIGS)
    return time.perf_counter() - started


def in_child(kind: str, root: Path, now, profile: Path | None = None) -> dict:
    """Time ``kind`` ("publish": ``publish_site`` of the workspace at ``root`` at the
    time ``now``; "bare": ``markdown.markdown()`` over its briefing texts) in a new
    process, as a scheduled run of ``briefings serve`` (a subprocess per run) or the
    command line does. A run in this process would be timed after whatever the bench
    did before it (generating 2,000 briefings, full builds, the bare side): measured,
    that made the same rebuild 0.1 s slower here than in a process of its own."""
    command = [sys.executable, str(Path(__file__).resolve()), "--child", kind,
               "--workspace", str(root), "--now", now.isoformat()]  # fmt: skip
    if profile is not None:
        command += ["--child-profile", str(profile)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"bench child {kind} on {root} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_child(kind: str, root: Path, now: str, profile: str | None) -> dict:
    """The child's side of :func:`in_child`: one JSON line of what it timed."""
    from datetime import datetime

    import briefing_fixtures as bf

    from briefings.store import Store
    from briefings.workspace import open_workspace

    pf = load_fixtures()
    workspace = open_workspace(root, environ={})
    env = bf.Env(workspace, Store(workspace.database_path), bf.Clock(datetime.fromisoformat(now)))
    try:
        if kind == "bare":
            return {"seconds": bare_markdown(page_texts(env))}
        report, seconds = publish(env, pf, Path(profile) if profile else None)
        audience = report.audiences[0]
        return {
            "seconds": seconds, "files": audience.files, "excluded": audience.excluded,
            "changed": audience.changed, "scanned": audience.scanned,
            "skipped": report.skipped,
        }  # fmt: skip
    finally:
        env.store.close()


def publish(env, pf, profile: Path | None = None):
    from briefings.publishing import publish_site

    gc.collect()
    profiler = cProfile.Profile() if profile else None
    started = time.perf_counter()
    if profiler:
        profiler.enable()
    report = publish_site(
        env.workspace, env.store, clock=env.clock, labels=pf.labels, audiences=["public"]
    )
    if profiler:
        profiler.disable()
        profiler.dump_stats(profile)
    return report, time.perf_counter() - started


def edit_and_publish(
    env, pf, out: Path, ids: list[str], args, n: int, profile: Path | None
) -> dict:
    """Edit one briefing (a new text, approved again, translations redone), publish, and
    say how long that took and which files it rewrote (and whether the edit affects
    them all: the briefing's pages and Markdown, feeds, the manifest)."""
    before = inodes(out)
    env.clock.advance(days=1)
    # A briefing the public site shows (editing a TLP:AMBER one changes what the leak
    # scan looks for, and every file is scanned again: another measurement).
    public = [i for i in ids if env.store.get_briefing(i).tlp.value == "CLEAR"]
    edited = public[(len(public) // 2 + 37 * n) % len(public)]
    rng = random.Random(args.seed + 1 + n)
    write_version(env, pf, env.workflow(), rng, edited, args.words, f"\n\nEdited {n + 1}.\n")
    report = in_child("publish", env.workspace.root, env.clock.now, profile)
    seconds = report["seconds"]
    after = inodes(out)
    rewritten = sorted(p for p in after if after[p] != before.get(p))
    allowed = {f"{lang}/{edited}/index.html" for lang in LANGS} | {
        f"{lang}/{edited}.md" for lang in LANGS
    }
    affected_only = all(
        p in allowed or p.endswith(("feed.atom", "feed.rss", "feed.json"))
        or p in ("manifest.txt", "manifest.txt.minisig")
        for p in rewritten
    )  # fmt: skip
    return {
        "seconds": seconds,
        "rewritten": rewritten,
        "affected_only": affected_only,
        "changed": report["changed"],
    }


def full_build_of(pf, copy: Path, processes: int | None = None) -> float:
    """Seconds of a full build of ``copy`` (a workspace with nothing published), on one
    process, or with Markdown rendered ahead in ``processes`` worker processes
    (publishing.render_processes)."""
    import briefing_fixtures as bf

    from briefings.workspace import CONFIG_NAME

    if processes is not None:
        config = copy / CONFIG_NAME
        text = config.read_text("utf-8").replace(ONE_PROCESS, "")
        config.write_text(text + f"\n[publishing]\nrender_processes = {processes}\n", "utf-8")
    return in_child("publish", copy, bf.Clock().now)["seconds"]


def edit_excluded(env, pf, ids: list[str]) -> tuple[float | None, int | None]:
    """One sentence added to a TLP:AMBER briefing (the public site leaves it out, so the
    leak scan gets a new needle), approved again, then publish: the seconds it took and
    how many files the leak scan read (None, None with fewer than 50 briefings: no
    AMBER one)."""
    amber = next((i for i in ids if env.store.get_briefing(i).tlp.value == "AMBER"), None)
    if amber is None:
        return None, None
    env.clock.advance(days=1)
    raw = (
        env.read(amber) + b"\nOur liaison adds that the vendor ships a fix to members next week.\n"
    )
    workflow = env.workflow()
    if env.store.get_briefing(amber).state == "published":
        env.write(amber, raw)
        workflow.sync(amber)
    else:
        workflow.edit(amber, "carla", raw)
    for officer in ("ana", "ben"):
        workflow.approve(amber, officer)
    report = in_child("publish", env.workspace.root, env.clock.now)
    return report["seconds"], report["scanned"]


def new_excluded(env, pf) -> tuple[float, int]:
    """A new TLP:AMBER alert drafted from a new item, written and approved, then publish:
    the leak scan has a new id among its needles (and the alert's sentences), and reads
    again only the unchanged files whose recorded sums may hold them. Its text is its
    own (the generated texts share sentences, which would rightly fail the build)."""
    from briefings.documents import parse_document, render_document
    from briefings.tlp import TLP

    env.clock.advance(days=1)
    before = {r.id for r in env.store.list_briefings()}
    env.add_item(
        "Zebra quartz wiper at hospitals", key="bench-new-amber", tlp=TLP.AMBER,
        sectors=["sector.hospitals"], threats=["threat.wiper"], priority=80,
        published=env.clock.now - timedelta(hours=1),
    )  # fmt: skip
    env.draft()
    alert = next(
        r.id for r in env.store.list_briefings() if r.id not in before and r.kind == "alert"
    )
    document = parse_document(env.read(alert), env.path(alert))
    text = "\n\n".join(
        f"Quokka number {n} of the basalt fjord reports a lumen outage at the nimbus ward."
        for n in range(12)
    )
    workflow = env.workflow()
    workflow.edit(alert, "carla", render_document(dict(document.meta), text))
    for officer in ("ana", "ben"):
        workflow.approve(alert, officer)
    report = in_child("publish", env.workspace.root, env.clock.now)
    return report["seconds"], report["scanned"]


def inodes(folder: Path) -> dict[str, int]:
    folder = folder.resolve()
    return {
        p.relative_to(folder).as_posix(): p.stat().st_ino for p in folder.rglob("*") if p.is_file()
    }


def run(args) -> dict:
    pf = load_fixtures()
    from briefings.verification import verify_site

    keep = Path(args.keep) if args.keep else None
    base = keep or Path(tempfile.mkdtemp(prefix="bench-publish-"))
    try:
        log(f"Setting up {args.briefings} briefings in {len(LANGS)} languages in {base}")
        started = time.perf_counter()
        env, ids = make_workspace(base / "ws", args.briefings, args.words, args.seed)
        setup = time.perf_counter() - started
        texts = page_texts(env)
        words = sum(len(t.split()) for t in texts) // max(1, len(texts))
        root = env.workspace.root
        # The copies below read the state database's files: closing them drops this
        # process's POSIX locks on them, SQLite's included, and the child processes
        # that publish would then take the database for unused and reset its
        # write-ahead log under this connection. Closed first, it reopens when used.
        env.store.close()
        copy = (
            pf.copy_without_publish_state(root, base / "ws-processes")
            if args.processes > 1
            else None
        )
        repeats = [
            pf.copy_without_publish_state(root, base / f"ws-full-{n}")
            for n in range(1, args.repeat)
        ]
        log(f"Full build of {len(texts)} briefing pages")
        profile = base / "publish.prof" if args.profile else None
        audience = in_child("publish", root, env.clock.now, profile)
        full = audience["seconds"]
        out = pf.output(env)
        html_pages = sum(1 for p in out.resolve().rglob("*.html"))
        ok = verify_site(out).ok and audience["files"] > 0
        log(f"Bare markdown.markdown() over the same {len(texts)} texts")
        fulls, bares = [full], [in_child("bare", root, env.clock.now)["seconds"]]
        # Whole runs of either side vary by a tenth on this machine: each is timed
        # ``--repeat`` times, alternated (the others on copies with nothing published,
        # as cold as the first), and the best of each counts.
        for n, repeat in enumerate(repeats, 2):
            log(f"Full build {n} of {args.repeat} (a copy), then bare markdown.markdown()")
            fulls.append(full_build_of(pf, repeat))
            shutil.rmtree(repeat, ignore_errors=True)
            bares.append(in_child("bare", root, env.clock.now)["seconds"])
        full, bare = min(fulls), min(bares)

        # The first rebuild makes the site's second release (a new tree of hard links);
        # once as many releases exist as are kept (keep_releases, 3 by default), each
        # rebuild recycles the oldest one: the steady state of a site published on a
        # schedule, the figure the target is about.
        releases = env.workspace.config.publishing.keep_releases
        rebuilds = releases - 1 + max(1, args.steady)  # the steady ones come after these
        edits = []
        for n in range(rebuilds):
            log(f"Incremental rebuild {n + 1} of {rebuilds} after editing one briefing")
            last = n == rebuilds - 1
            prof = base / "incremental.prof" if args.profile and last else None
            edits.append(edit_and_publish(env, pf, out, ids, args, n, prof))
            ok = ok and verify_site(out).ok and edits[-1]["changed"]
        # The best steady-state rebuild counts, as the best full build does.
        best = min(edits[releases - 1 :], key=lambda e: e["seconds"])
        incremental, rewritten = best["seconds"], best["rewritten"]
        affected_only = all(e["affected_only"] for e in edits)
        log("Rebuild after a sentence was added to an excluded (TLP:AMBER) briefing")
        excluded_edit, excluded_scanned = edit_excluded(env, pf, ids)
        log("Rebuild after a new excluded (TLP:AMBER) briefing was approved")
        new_excluded_s, new_excluded_scanned = new_excluded(env, pf)
        parallel = None
        if copy is not None:
            log(f"Full build with Markdown rendered in {args.processes} processes")
            parallel = full_build_of(pf, copy, args.processes)
        top = {}
        if profile:
            for name in ("publish", "incremental"):
                stats = pstats.Stats(str(base / f"{name}.prof"))
                top[name] = [
                    f"{func[2]} ({Path(func[0]).name}:{func[1]}) {data[3]:.3f}s"
                    for func, data in sorted(stats.stats.items(), key=lambda kv: -kv[1][3])[:30]
                ]
    finally:
        if keep is None:
            shutil.rmtree(base, ignore_errors=True)
    pages = len(texts)
    return {
        "bench": "publish",
        "briefings": args.briefings,
        "languages": list(LANGS),
        "briefing_pages": pages,
        "html_pages": html_pages,
        "files": audience["files"],
        "words_per_page": words,
        "setup_s": round(setup, 2),
        "full_build_s": round(full, 3),
        "full_build_runs_s": [round(f, 3) for f in fulls],
        "pages_per_s": round(pages / full, 1),
        "bare_markdown_s": round(bare, 3),
        "bare_markdown_runs_s": [round(b, 3) for b in bares],
        "bare_pages_per_s": round(pages / bare, 1),
        "ratio": round(bare / full, 3),
        "target_ratio": TARGET_RATIO,
        "excluded_edit_s": round(excluded_edit, 3) if excluded_edit is not None else None,
        "excluded_edit_scanned": excluded_scanned,
        "new_excluded_s": round(new_excluded_s, 3),
        "new_excluded_scanned": new_excluded_scanned,
        "processes": args.processes,
        "full_build_processes_s": round(parallel, 3) if parallel else None,
        "ratio_processes": round(bare / parallel, 3) if parallel else None,
        "incremental_s": round(incremental, 3),
        "incremental_share": round(incremental / full, 4),
        "incremental_runs_s": [round(e["seconds"], 3) for e in edits],
        "incremental_first_share": round(edits[0]["seconds"] / full, 4),
        "target_incremental_share": TARGET_INCREMENTAL_SHARE,
        "files_rewritten": len(rewritten),
        "rewritten": rewritten if len(rewritten) <= 60 else rewritten[:60],
        "affected_only": affected_only,
        "excluded_briefings": audience["excluded"],
        "meets_target_ratio": bare / full >= TARGET_RATIO,
        "meets_target_incremental": incremental / full < TARGET_INCREMENTAL_SHARE and affected_only,
        "profile_top": top,
        "ok": bool(ok),
        "seed": args.seed,
        "machine": machine(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--briefings", type=int, default=2000, help="briefings (each in 4 languages)"
    )
    parser.add_argument("--words", type=int, default=1500, help="words per briefing page")
    parser.add_argument("--seed", type=int, default=7, help="seed of the generated texts")
    parser.add_argument("--profile", action="store_true", help="cProfile the full build")
    parser.add_argument(
        "--steady", type=int, default=5,
        help="steady-state rebuilds (each recycling a release); the best counts",
    )  # fmt: skip
    parser.add_argument(
        "--repeat", type=int, default=2,
        help="time the full build and the bare side this many times each, alternated; the best counts",
    )  # fmt: skip
    parser.add_argument(
        "--processes", type=int, default=os.cpu_count() or 1,
        help="also time a full build rendering Markdown in this many processes (1: do not)",
    )  # fmt: skip
    parser.add_argument("--keep", help="build in this folder (must not exist) and keep it")
    parser.add_argument("--fail-under", type=float, help="exit 2 when the ratio is below this")
    # What the bench runs in a process of its own (in_child): not for the command line.
    parser.add_argument("--child", choices=["publish", "bare"], help=argparse.SUPPRESS)
    parser.add_argument("--workspace", help=argparse.SUPPRESS)
    parser.add_argument("--now", help=argparse.SUPPRESS)
    parser.add_argument("--child-profile", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    clean_up_when_stopped()
    if args.child:
        load_fixtures()  # (puts tests/ on the path for briefing_fixtures)
        result = run_child(args.child, Path(args.workspace), args.now, args.child_profile)
        print(json.dumps(result))
        return 0
    if args.keep and Path(args.keep).exists():
        parser.error(f"--keep {args.keep}: the folder exists")
    r = run(args)
    print(f"Publishing: {r['briefings']} briefings x {len(r['languages'])} languages "
          f"= {r['briefing_pages']} briefing pages of ~{r['words_per_page']} words "
          f"({r['html_pages']} HTML pages, {r['files']} files; {r['excluded_briefings']} "
          f"TLP:AMBER briefings left out)")  # fmt: skip
    print(f"{'':<28}{'seconds':>10}{'pages/s':>10}")
    print(
        f"{'bare markdown.markdown()':<28}{r['bare_markdown_s']:>10.2f}{r['bare_pages_per_s']:>10.1f}"
    )
    print(f"{'full build (publish_site)':<28}{r['full_build_s']:>10.2f}{r['pages_per_s']:>10.1f}")
    if len(r["full_build_runs_s"]) > 1:
        fulls = ", ".join(f"{t:.2f}" for t in r["full_build_runs_s"])
        bares = ", ".join(f"{t:.2f}" for t in r["bare_markdown_runs_s"])
        print(
            f"(best of {len(r['full_build_runs_s'])}, alternated: full {fulls} s; bare {bares} s)"
        )
    print(f"Ratio (build / bare throughput): {r['ratio']:.2f} (target >= {TARGET_RATIO})")
    if r["full_build_processes_s"]:
        print(f"With Markdown rendered in {r['processes']} processes: "
              f"{r['full_build_processes_s']:.2f} s, ratio {r['ratio_processes']:.2f} "
              f"(for reference: the target is one process)")  # fmt: skip
    runs = ", ".join(f"{t:.2f}" for t in r["incremental_runs_s"])
    print(f"Incremental rebuilds, one edit each: {runs} s (the first makes a new release, "
          f"the second recycles the full build's, the others are the steady state)")  # fmt: skip
    print(f"Incremental rebuild after one edit (best steady one): {r['incremental_s']:.3f} s = "
          f"{100 * r['incremental_share']:.2f}% of the full build (target < "
          f"{100 * TARGET_INCREMENTAL_SHARE:.0f}%), {r['files_rewritten']} files rewritten"
          f"{'' if r['affected_only'] else ' (SOME NOT AFFECTED BY THE EDIT)'}")  # fmt: skip
    if r["excluded_edit_s"] is not None:
        print(f"Rebuild after an excluded briefing got a new sentence: {r['excluded_edit_s']:.3f} s, "
              f"{r['excluded_edit_scanned']} files read by the leak scan")  # fmt: skip
    print(f"Rebuild after a new excluded briefing was approved: {r['new_excluded_s']:.3f} s, "
          f"{r['new_excluded_scanned']} files read by the leak scan")  # fmt: skip
    for name, lines in r["profile_top"].items():
        print(f"Profile of the {'full' if name == 'publish' else name} build (cumulative):")
        for line in lines:
            print(f"  {line}")
    return finish(r, ok=r["ok"], ratio=r["ratio"], fail_under=args.fail_under)


if __name__ == "__main__":
    sys.exit(main())
