"""Ingestion throughput: the whole pipeline against feedparser with its defaults.

Generates N synthetic entries of about 2 KB of HTML each (English, French,
Spanish and Arabic, about 60/15/15/10) as F local RSS 2.0 files in a temporary
workspace, then measures, each side in its own subprocess:

- baseline: ``feedparser.parse()`` with its default settings (its own HTML
  sanitizer and relative-URI resolution on) over the bytes of every file;
- pipeline: ``Ingestor.ingest_source()`` for every configured source, one
  after the other, on a fresh store: fetch (local file), parse, sanitize with
  nh3, detect the language, dedupe and store in SQLite.

Prints a table, then exactly one JSON line (the last line of stdout).

    .venv/bin/python bench/ingest.py                    # 10,000 entries in 20 files
    .venv/bin/python bench/ingest.py --quick            # 1,000 entries in 4 files
    .venv/bin/python bench/ingest.py --repeat 3 --profile

Exit status: 0 when both sides read every entry (whatever the ratio), 1 when
a correctness check failed, 2 when ``--fail-under`` was given and the ratio is
below it.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import email.utils
import html
import io
import json
import platform
import pstats
import random
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.sax.saxutils import escape as xml_escape

from common import clean_up_when_stopped, finish, log, machine

LANGS = ("en", "fr", "es", "ar")
# Out of every 20 entries: 12 English, 3 French, 3 Spanish, 2 Arabic.
LANG_SHARE = {"en": 12, "fr": 3, "es": 3, "ar": 2}
TARGET_RATIO = 1.0
WARMUP_TEXT = "The vendor has released security updates that address a remote code execution flaw."

# -- synthetic content --------------------------------------------------------------------------

VENDORS = ("Acme", "Globex", "Initech", "Umbrella", "Hooli", "Vandelay", "Wayne Systems", "Soylent")
PRODUCTS = (
    "FlowGate", "NetKeeper VPN", "DataVault", "OfficeSuite", "SCADA Manager", "MailRelay",
    "EdgeRouter OS", "PatientLink", "GridControl", "CloudDesk",
)  # fmt: skip

SENTENCES = {
    "en": (
        "{vendor} has released security updates for {product} that address {cve}, a "
        "vulnerability rated {score} on the CVSS scale.",
        "An unauthenticated remote attacker could exploit the flaw to execute arbitrary code on "
        "affected systems.",
        "The national CERT has observed active exploitation against {sector} organisations in at "
        "least {n} countries.",
        "Administrators should apply version {version} or later as soon as possible & review "
        "logs for signs of compromise.",
        "If patching is not immediately possible, restrict access to the management interface "
        "and disable the affected service.",
        "Researchers reported the issue through a coordinated disclosure process earlier this "
        "month, {n} days before the fix.",
        "Indicators of compromise include unexpected outbound connections and newly created "
        "administrator accounts.",
        "Hospitals, water utilities and local governments are among the operators most at risk.",
        "Phishing messages impersonating the vendor's support team are circulating and urge users "
        "to install a fake patch.",
        "Backups should be kept offline and tested regularly, since several incidents ended with "
        "ransomware being deployed.",
        "The agency's analysts counted {n} exposed devices in the region during the last scan.",
        "Citizens who receive a call asking for remote access to their computer should hang up "
        "and report it.",
    ),
    "fr": (
        "{vendor} a publié des mises à jour de sécurité pour {product} qui corrigent la "
        "vulnérabilité {cve}, dont le score CVSS atteint {score}.",
        "Un attaquant distant non authentifié pourrait exploiter cette faille pour exécuter du "
        "code arbitraire sur les systèmes concernés.",
        "Le CERT national a observé une exploitation active visant des organisations du secteur "
        "{sector} dans au moins {n} pays.",
        "Les administrateurs doivent appliquer la version {version} ou ultérieure dès que possible "
        "et examiner les journaux à la recherche de signes de compromission.",
        "Si la mise à jour n'est pas immédiatement possible, il convient de restreindre l'accès à "
        "l'interface d'administration.",
        "Les chercheurs ont signalé le problème dans le cadre d'une divulgation coordonnée, {n} "
        "jours avant la publication du correctif.",
        "Les indicateurs de compromission comprennent des connexions sortantes inattendues et de "
        "nouveaux comptes d'administrateur.",
        "Les hôpitaux, les services d'eau et les collectivités locales figurent parmi les "
        "opérateurs les plus exposés.",
        "Des courriels d'hameçonnage se faisant passer pour le support de l'éditeur incitent les "
        "utilisateurs à installer un faux correctif.",
        "Les sauvegardes doivent être conservées hors ligne et testées régulièrement, car "
        "plusieurs incidents se sont terminés par un rançongiciel.",
        "Les analystes de l'agence ont dénombré {n} équipements exposés dans la région lors du "
        "dernier balayage.",
        "Les citoyens qui reçoivent un appel leur demandant l'accès à distance à leur ordinateur "
        "doivent raccrocher et le signaler.",
    ),
    "es": (
        "{vendor} ha publicado actualizaciones de seguridad para {product} que corrigen la "
        "vulnerabilidad {cve}, con una puntuación CVSS de {score}.",
        "Un atacante remoto no autenticado podría aprovechar el fallo para ejecutar código "
        "arbitrario en los sistemas afectados.",
        "El CERT nacional ha observado explotación activa contra organizaciones del sector "
        "{sector} en al menos {n} países.",
        "Los administradores deben aplicar la versión {version} o posterior lo antes posible y "
        "revisar los registros en busca de indicios de compromiso.",
        "Si no es posible actualizar de inmediato, se recomienda restringir el acceso a la "
        "interfaz de administración.",
        "Los investigadores notificaron el problema mediante un proceso de divulgación "
        "coordinada, {n} días antes de la corrección.",
        "Los indicadores de compromiso incluyen conexiones salientes inesperadas y nuevas cuentas "
        "de administrador.",
        "Los hospitales, las empresas de agua y los gobiernos locales se encuentran entre los "
        "operadores más expuestos.",
        "Circulan correos de suplantación que se hacen pasar por el soporte del fabricante e "
        "instan a instalar un parche falso.",
        "Las copias de seguridad deben guardarse fuera de línea y probarse con regularidad, ya "
        "que varios incidentes terminaron con ransomware.",
        "Los analistas de la agencia contaron {n} dispositivos expuestos en la región durante el "
        "último escaneo.",
        "Los ciudadanos que reciban una llamada pidiendo acceso remoto a su ordenador deben colgar "
        "y denunciarlo.",
    ),
    "ar": (
        "أصدرت شركة {vendor} تحديثات أمنية لمنتج {product} تعالج الثغرة {cve} التي حصلت على "
        "درجة {score} وفق مقياس CVSS.",
        "يمكن لمهاجم عن بعد غير مصادق استغلال هذه الثغرة لتنفيذ تعليمات برمجية عشوائية على "
        "الأنظمة المتأثرة.",
        "رصد فريق الاستجابة الوطني استغلالاً نشطاً يستهدف مؤسسات قطاع {sector} في {n} دول على الأقل.",
        "ينبغي على مسؤولي الأنظمة تثبيت الإصدار {version} أو أحدث في أقرب وقت ممكن ومراجعة "
        "السجلات بحثاً عن علامات الاختراق.",
        "إذا تعذر التحديث فوراً، يوصى بتقييد الوصول إلى واجهة الإدارة وتعطيل الخدمة المتأثرة.",
        "أبلغ الباحثون عن المشكلة من خلال عملية إفصاح منسقة قبل {n} يوماً من صدور الإصلاح.",
        "تشمل مؤشرات الاختراق اتصالات صادرة غير متوقعة وإنشاء حسابات إدارية جديدة.",
        "تعد المستشفيات ومرافق المياه والحكومات المحلية من أكثر الجهات عرضة للخطر.",
        "تنتشر رسائل تصيد احتيالي تنتحل صفة فريق الدعم لدى الشركة وتحث المستخدمين على تثبيت "
        "تحديث مزيف.",
        "يجب الاحتفاظ بالنسخ الاحتياطية دون اتصال بالشبكة واختبارها بانتظام، إذ انتهت عدة حوادث "
        "بنشر برامج الفدية.",
        "أحصى محللو الوكالة {n} جهازاً مكشوفاً في المنطقة خلال آخر عملية فحص.",
        "على المواطنين الذين يتلقون اتصالاً يطلب الوصول عن بعد إلى حواسيبهم إنهاء المكالمة "
        "والإبلاغ عنه.",
    ),
}
SECTORS = {
    "en": ("health", "energy", "water", "transport", "finance", "education"),
    "fr": ("santé", "énergie", "eau", "transport", "finance", "éducation"),
    "es": ("salud", "energía", "agua", "transporte", "finanzas", "educación"),
    "ar": ("الصحة", "الطاقة", "المياه", "النقل", "المالية", "التعليم"),
}
SEVERITY = {
    "en": ("critical", "high-severity", "important"),
    "fr": ("critique", "grave", "importante"),
    "es": ("crítica", "grave", "importante"),
    "ar": ("حرجة", "خطيرة", "مهمة"),
}
TITLES = {
    "en": "{vendor} fixes {severity} vulnerability in {product} ({cve})",
    "fr": "{vendor} corrige une vulnérabilité {severity} dans {product} ({cve})",
    "es": "{vendor} corrige una vulnerabilidad {severity} en {product} ({cve})",
    "ar": "{vendor} تصلح ثغرة {severity} في {product} ({cve})",
}
LABELS = {  # affected versions, read the advisory, previous bulletin
    "en": ("Affected versions", "Read the vendor advisory", "previous bulletin"),
    "fr": ("Versions concernées", "Lire l'avis de l'éditeur", "bulletin précédent"),
    "es": ("Versiones afectadas", "Leer el aviso del fabricante", "boletín anterior"),
    "ar": ("الإصدارات المتأثرة", "اقرأ نشرة الشركة", "النشرة السابقة"),
}


def languages_for(count: int, rng: random.Random) -> list[str]:
    """``count`` language codes in the LANG_SHARE proportions, shuffled."""
    total = sum(LANG_SHARE.values())
    langs = [lang for lang in LANGS for _ in range(count * LANG_SHARE[lang] // total)]
    langs += ["en"] * (count - len(langs))
    rng.shuffle(langs)
    return langs


def _sentence(lang: str, rng: random.Random, slots: dict[str, str]) -> str:
    filled = rng.choice(SENTENCES[lang]).format(
        **slots, n=rng.randint(2, 90), sector=rng.choice(SECTORS[lang])
    )
    text = html.escape(filled, quote=False)
    # Entities a real feed carries: typographic apostrophes, named accents, nbsp.
    if lang in ("en", "fr") and rng.random() < 0.5:
        text = text.replace("'", "&#8217;")
    if lang == "fr" and rng.random() < 0.5:
        text = text.replace("é", "&eacute;").replace("à", "&agrave;")
    if lang == "es" and rng.random() < 0.3:
        text = text.replace("ó", "&oacute;")
    return text.replace(", ", ",&nbsp;", 1) if rng.random() < 0.2 else text


def entry_html(lang: str, index: int, rng: random.Random, slots: dict[str, str]) -> str:
    """About 2 KB of feed-like HTML: paragraphs, a list, links, a CVE id, entities, noise."""
    affected, read_more, previous = LABELS[lang]
    vendor_host = slots["vendor"].split()[0].lower()
    first = _sentence(lang, rng, slots)
    parts = [
        f"<p><strong>{slots['cve']}</strong>: {first} "
        f'<a href="https://{vendor_host}.example/security/{slots["cve"]}" '
        f'target="_blank">{read_more}</a>.</p>'
    ]
    parts.append("<p>" + " ".join(_sentence(lang, rng, slots) for _ in range(3)) + "</p>")
    versions = "".join(
        f"<li>{html.escape(slots['product'])} <code>{rng.randint(1, 9)}.{rng.randint(0, 20)}.x"
        "</code></li>"
        for _ in range(rng.randint(2, 4))
    )
    parts.append(f"<h3>{affected}</h3><ul>{versions}</ul>")
    if rng.random() < 0.3:  # tracking pixels, inline styles and scripts: sanitizer work
        parts.append(
            f'<p style="color:#c00">{_sentence(lang, rng, slots)}'
            f'<img src="https://pixel.example/t.gif?i={index}" width="1" height="1"></p>'
        )
    if rng.random() < 0.1:
        parts.append(f"<script>track({index});</script>")
    target = rng.randint(1800, 2200)
    while sum(map(len, parts)) < target - 250:
        parts.append("<p>" + " ".join(_sentence(lang, rng, slots) for _ in range(2)) + "</p>")
    parts.append(
        f'<p><a href="/advisories/{index + 1000}" onclick="go()">{previous}</a> · '
        f"<em>Ref. BENCH-{index:06d}-{rng.getrandbits(32):08x}</em></p>"
    )
    body = "\n".join(parts)
    return f'<div dir="rtl" lang="ar">{body}</div>' if lang == "ar" else body


def write_feeds(feeds_dir: Path, entries: int, files: int, seed: int) -> tuple[int, Counter]:
    """Write the RSS files; returns (total bytes, entries per language)."""
    rng = random.Random(seed)
    langs = languages_for(entries, rng)
    start = datetime(2025, 1, 6, 8, 0, tzinfo=UTC)
    total_bytes = 0
    index = 0
    for file_no in range(files):
        count = entries // files + (1 if file_no < entries % files else 0)
        items = []
        for _ in range(count):
            lang = langs[index]
            slots = {
                "vendor": rng.choice(VENDORS),
                "product": rng.choice(PRODUCTS),
                "cve": f"CVE-{2020 + index % 6}-{10000 + index}",
                "score": f"{rng.uniform(4.0, 10.0):.1f}",
                "version": f"{rng.randint(1, 9)}.{rng.randint(0, 20)}.{rng.randint(0, 99)}",
            }
            title = TITLES[lang].format(**slots, severity=rng.choice(SEVERITY[lang]))
            link = f"https://advisories.example/{lang}/{file_no:02d}/{index:06d}"
            published = email.utils.format_datetime(start + timedelta(minutes=7 * index))
            categories = "".join(
                f"<category>{xml_escape(c)}</category>"
                for c in ("vulnerability", rng.choice(SECTORS[lang]))
            )
            items.append(
                "<item>\n"
                f"<title>{xml_escape(title)}</title>\n"
                f"<link>{link}</link>\n"
                f'<guid isPermaLink="true">{link}</guid>\n'
                f"<pubDate>{published}</pubDate>\n"
                f"{categories}\n"
                f"<description>{xml_escape(entry_html(lang, index, rng, slots))}</description>\n"
                "</item>"
            )
            index += 1
        document = (
            '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0">\n<channel>\n'
            f"<title>Benchmark feed {file_no:02d}</title>\n"
            f"<link>https://feeds.example/bench-{file_no:02d}/</link>\n"
            "<description>Synthetic advisories for the ingest benchmark</description>\n"
            + "\n".join(items)
            + "\n</channel>\n</rss>\n"
        )
        data = document.encode("utf-8")
        (feeds_dir / f"feed-{file_no:02d}.xml").write_bytes(data)
        total_bytes += len(data)
    return total_bytes, Counter(langs)


def write_workspace(root: Path, entries: int, files: int, seed: int) -> tuple[int, Counter]:
    feeds = root / "feeds"
    feeds.mkdir(parents=True)
    (root / "state").mkdir()
    total_bytes, langs = write_feeds(feeds, entries, files, seed)
    per_file = -(-entries // files)
    sources = "".join(
        f'\n[[sources]]\nid = "bench-{n:02d}"\nurl = "feeds/feed-{n:02d}.xml"\nkind = "feed"\n'
        for n in range(files)
    )
    (root / "briefings.toml").write_text(
        "[workspace]\n"
        'name = "Ingest benchmark"\n'
        'source_lang = "en"\n'
        'languages = ["en", "fr", "es", "ar"]\n'
        "\n[ingest]\n"
        f"max_entries = {max(per_file, 500)}\n"
        "detect_language = true\n" + sources,
        "utf-8",
    )
    return total_bytes, langs


# -- workers (one subprocess per measurement) --------------------------------------------------


def peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024  # bytes on macOS, KiB else


def run_baseline(root: Path, expected: int) -> dict:
    import feedparser

    paths = sorted((root / "feeds").glob("*.xml"))
    rss_before = peak_rss_mb()
    count = bozo = 0
    started = time.perf_counter()
    for path in paths:
        parsed = feedparser.parse(path.read_bytes())  # default settings, as shipped
        count += len(parsed.entries)
        bozo += bool(parsed.bozo)
    elapsed = time.perf_counter() - started
    problems = []
    if count != expected:
        problems.append(f"feedparser read {count} entries, expected {expected}")
    if bozo:
        problems.append(f"feedparser flagged {bozo} file(s) as malformed")
    return {
        "entries": count,
        "seconds": elapsed,
        "rss_before_mb": rss_before,
        "peak_rss_mb": peak_rss_mb(),
        "problems": problems,
    }


def run_pipeline(root: Path, expected: int, run_id: str, profile_out: Path | None) -> dict:
    from briefings.ingestion import Ingestor, select_sources
    from briefings.store import Store
    from briefings.workspace import open_workspace

    rss_before = peak_rss_mb()
    profiler = cProfile.Profile() if profile_out else None
    if profiler:
        profiler.enable()
    started = time.perf_counter()
    workspace = open_workspace(
        root, environ={}, overrides={"workspace.database": f"state/{run_id}.sqlite3"}
    )
    store = Store(workspace.database_path)
    ingestor = Ingestor.for_workspace(workspace, store)
    if ingestor.detector is not None:
        ingestor.detector.detect(WARMUP_TEXT)  # loads lingua; timed as start-up
    startup = time.perf_counter() - started
    reports = [ingestor.ingest_source(source) for source in select_sources(workspace, None)]
    elapsed = time.perf_counter() - started
    if profiler:
        profiler.disable()
    ingestor.close()
    store.close()

    new = sum(r.new for r in reports)
    problems = [f"{r.source}: {r.status} {r.error}" for r in reports if r.status != "ok"]
    if new != expected:
        problems.append(
            f"pipeline stored {new} new items, expected {expected} "
            f"({sum(r.duplicates for r in reports)} duplicates, "
            f"{sum(r.updated for r in reports)} updated)"
        )
    result = {
        "entries": new,
        "seconds": elapsed,
        "startup_seconds": startup,
        "rss_before_mb": rss_before,
        "peak_rss_mb": peak_rss_mb(),
        "languages": _language_agreement(workspace.database_path),
        "problems": problems,
    }
    if profiler and profile_out:
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out).strip_dirs()
        out.write("-- top 25 by cumulative time --\n")
        stats.sort_stats("cumulative").print_stats(25)
        out.write("-- top 20 by own time --\n")
        stats.sort_stats("tottime").print_stats(20)
        profile_out.write_text(out.getvalue(), "utf-8")
    return result


def _language_agreement(database: Path) -> dict[str, list[int]]:
    """Per generated language: [items, items filed under that language]."""
    conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        rows = conn.execute("SELECT url, lang FROM item_revisions").fetchall()
    finally:
        conn.close()
    agreement: dict[str, list[int]] = {}
    for url, lang in rows:
        generated = url.split("/")[3]  # https://advisories.example/<lang>/...
        counts = agreement.setdefault(generated, [0, 0])
        counts[0] += 1
        counts[1] += lang == generated
    return agreement


def worker(args: argparse.Namespace) -> int:
    root = Path(args.root)
    if args.worker == "baseline":
        result = run_baseline(root, args.entries)
    else:
        profile_out = Path(args.profile_out) if args.profile_out else None
        result = run_pipeline(root, args.entries, args.run_id, profile_out)
    print(json.dumps(result))
    return 0


# -- the parent: generate, measure in subprocesses, report -----------------------------------


def spawn(side: str, root: Path, entries: int, run_id: str, profile_out: Path | None = None):
    command = [
        sys.executable, str(Path(__file__).resolve()), "--worker", side, "--root", str(root),
        "--entries", str(entries), "--run-id", run_id,
    ]  # fmt: skip
    if profile_out:
        command += ["--profile-out", str(profile_out)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0 or not done.stdout.strip():
        sys.stderr.write(done.stderr)
        raise SystemExit(f"the {side} worker failed (exit status {done.returncode})")
    if done.stderr.strip():  # warnings the pipeline logged: show them, they matter
        sys.stderr.write(done.stderr)
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(args: argparse.Namespace) -> int:
    import feedparser

    if args.keep:
        Path(args.keep).mkdir(parents=True, exist_ok=False)
    place = (
        contextlib.nullcontext(args.keep)
        if args.keep
        else tempfile.TemporaryDirectory(prefix="bench-ingest-")
    )
    with place as where:
        root = Path(where).resolve()
        log(f"writing {args.entries:,} entries in {args.files} RSS files under {root} ...")
        total_bytes, langs = write_workspace(root, args.entries, args.files, args.seed)

        baseline_runs, pipeline_runs = [], []
        for round_no in range(args.repeat):
            order = ("baseline", "pipeline") if round_no % 2 == 0 else ("pipeline", "baseline")
            for side in order:
                log(f"round {round_no + 1}/{args.repeat}: {side} ...")
                result = spawn(side, root, args.entries, f"pipeline-{round_no}")
                (baseline_runs if side == "baseline" else pipeline_runs).append(result)
        profile_text = None
        if args.profile:
            log("profiling the pipeline (separate run, not timed) ...")
            profile_out = root / "profile.txt"
            spawn("pipeline", root, args.entries, "profile", profile_out)
            profile_text = profile_out.read_text("utf-8")

    problems = sorted({p for run in baseline_runs + pipeline_runs for p in run["problems"]})
    best_base = min(baseline_runs, key=lambda r: r["seconds"])
    best_pipe = min(pipeline_runs, key=lambda r: r["seconds"])
    base_rate = args.entries / best_base["seconds"]
    pipe_rate = args.entries / best_pipe["seconds"]
    steady_rate = args.entries / (best_pipe["seconds"] - best_pipe["startup_seconds"])
    ratio = pipe_rate / base_rate
    figures = {
        "bench": "ingest",
        "entries": args.entries,
        "baseline_entries_per_s": round(base_rate, 1),
        "pipeline_entries_per_s": round(pipe_rate, 1),
        "ratio": round(ratio, 3),
        "baseline_peak_rss_mb": round(max(r["peak_rss_mb"] for r in baseline_runs), 1),
        "pipeline_peak_rss_mb": round(max(r["peak_rss_mb"] for r in pipeline_runs), 1),
        "python": platform.python_version(),
        "machine": machine(),
        "files": args.files,
        "repeat": args.repeat,
        "pipeline_startup_s": round(best_pipe["startup_seconds"], 3),
        "pipeline_steady_entries_per_s": round(steady_rate, 1),
        "target_ratio": TARGET_RATIO,
        "ok": not problems,
    }

    mb = total_bytes / 1e6
    print(
        f"ingest benchmark: {args.entries:,} entries in {args.files} RSS files "
        f"({mb:.1f} MB, about {total_bytes / args.entries / 1024:.1f} KiB per item), "
        f"best of {args.repeat}"
    )
    print(f"python {figures['python']}, feedparser {feedparser.__version__}, {figures['machine']}")
    print()
    header = f"{'':32}{'entries/s':>11}{'seconds':>10}{'peak RSS MB':>13}{'RSS at start MB':>17}"
    print(header)
    print("-" * len(header))
    for label, best, rate, runs in (
        ("baseline (feedparser defaults)", best_base, base_rate, baseline_runs),
        ("pipeline (ingest_source)", best_pipe, pipe_rate, pipeline_runs),
    ):
        peak = max(r["peak_rss_mb"] for r in runs)
        start = max(r["rss_before_mb"] for r in runs)
        print(f"{label:32}{rate:>11,.0f}{best['seconds']:>10.2f}{peak:>13.1f}{start:>17.1f}")
    print()
    verdict = "met" if ratio >= TARGET_RATIO else "NOT met"
    print(f"ratio pipeline/baseline: {ratio:.2f}  (target >= {TARGET_RATIO:.1f}: {verdict})")
    print(
        f"pipeline start-up (config, store, lingua): {best_pipe['startup_seconds']:.2f} s; "
        f"without it {steady_rate:,.0f} entries/s"
    )
    if args.repeat > 1:
        spread = ", ".join(
            f"{side} " + "/".join(f"{args.entries / r['seconds']:,.0f}" for r in runs)
            for side, runs in (("baseline", baseline_runs), ("pipeline", pipeline_runs))
        )
        print(f"all rounds, entries/s: {spread}")
        per_round = "/".join(
            f"{b['seconds'] / p['seconds']:.2f}"
            for b, p in zip(baseline_runs, pipeline_runs, strict=True)
        )
        print(f"ratio within each round: {per_round}")
    agreement = best_pipe["languages"]
    print(
        "languages generated -> filed under the same language: "
        + ", ".join(f"{lang} {agreement.get(lang, [0, 0])[1]}/{langs[lang]}" for lang in LANGS)
    )
    for problem in problems:
        print(f"PROBLEM: {problem}")
    if profile_text:
        print()
        print("pipeline profile (cProfile, separate run):")
        print(profile_text.rstrip())
    return finish(figures, ok=not problems, ratio=ratio, fail_under=args.fail_under)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--entries", type=int, default=10_000, help="entries in all (10,000)")
    parser.add_argument("--files", type=int, default=20, help="RSS files to spread them over (20)")
    parser.add_argument("--repeat", type=int, default=1, help="rounds; the best is reported (1)")
    parser.add_argument("--quick", action="store_true", help="1,000 entries in 4 files (smoke)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the generated content")
    parser.add_argument(
        "--profile", action="store_true", help="also profile one pipeline run (cProfile)"
    )
    parser.add_argument(
        "--fail-under", type=float, metavar="RATIO", help="exit 2 when the ratio is below RATIO"
    )
    parser.add_argument(
        "--keep", metavar="DIR", help="generate into DIR (must not exist) and keep it"
    )
    # Internal: one measurement in this process (what the parent spawns).
    parser.add_argument("--worker", choices=("baseline", "pipeline"), help=argparse.SUPPRESS)
    parser.add_argument("--root", help=argparse.SUPPRESS)
    parser.add_argument("--run-id", default="pipeline", help=argparse.SUPPRESS)
    parser.add_argument("--profile-out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    clean_up_when_stopped()
    if args.worker:
        return worker(args)
    if args.quick:
        args.entries, args.files = 1_000, 4
    if args.entries < 1 or args.files < 1 or args.files > args.entries or args.repeat < 1:
        parser.error("need entries >= files >= 1 and repeat >= 1")
    return measure(args)


if __name__ == "__main__":
    sys.exit(main())
