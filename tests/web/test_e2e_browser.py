"""End to end in headless Chromium against the app served on 127.0.0.1 (SQLite, embedded job runner).

Each test leaves screenshots in out/screenshots/ so a person can look at the pages as a user sees
them; they are part of what this suite is for, not debugging leftovers. The folder is emptied when
the module starts, so what is there afterwards is what this run showed.
"""
from __future__ import annotations

import datetime as dt
import io
import re
import shutil
import subprocess
import threading
import zipfile
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from .helpers import PASSWORD, make_case, make_mailing, make_user, tracking_number

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "out" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63fc"
                    "cfc0500f000485018084a98c210000000049454e44ae426082")


def _ago(days: int) -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=days)


def paris_today() -> dt.date:
    return dt.datetime.now(ZoneInfo("Europe/Paris")).date()


class GatedPipeline:
    """The real document pipeline, which waits at its door while the gate is shut: the test can
    watch a job that is running, not only one that is queued or done."""

    def __init__(self, inner):
        self.inner = inner
        self.gate, self.entered = threading.Event(), threading.Event()
        self.gate.set()

    def generate(self, *args, **kwargs):
        self.entered.set()
        if not self.gate.wait(180):
            raise RuntimeError("the test never opened the gate")
        return self.inner.generate(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self.inner, name)


class Live:
    """The served app, its job runner, and the people and cases seeded in it."""

    def __init__(self, url, container, pipeline: GatedPipeline):
        self.url, self.container, self.pipeline = url, container, pipeline
        self.runner = None
        self.users: dict[str, str] = {}
        self.cases: dict[str, dict] = {}
        self.mailings: dict[str, dict] = {}

    def hold_jobs(self) -> None:
        """Stops the job runner: a document asked for now stays queued."""
        if self.runner is not None:
            self.runner.stop()
            self.runner = None

    def run_jobs(self) -> None:
        from jobs import start_embedded_runner
        if self.runner is None:
            self.runner = start_embedded_runner(self.container)


def _seed(live: Live) -> None:
    from accounts import get_or_create_tenant
    from casefiles import services
    c = live.container
    with c.db.write() as conn:
        alpha = get_or_create_tenant(conn, "Cabinet Alpha")
        beta = get_or_create_tenant(conn, "Cabinet Bêta")
    live.users["lawyer"] = make_user(c, alpha, "lawyer", email="claire.lefevre@alpha.example", name="Me Claire Lefèvre")
    live.users["clerk"] = make_user(c, alpha, "clerk", email="julie.martin@alpha.example", name="Julie Martin")
    live.users["beta"] = make_user(c, beta, "lawyer", email="avocat@beta.example")
    for i, debtor in enumerate(["Garage Lefort SARL", "Menuiserie Bonnet", "Pressing du Centre",
                                "Imprimerie Vasseur SA", "Traiteur Roux"]):
        make_case(c, alpha, reference=f"ALP-2026-{i + 10:04d}", debtor=debtor)
    live.cases["b2c"] = make_case(c, alpha, reference="ALP-2026-0002", fixture="case-b2c.json")
    main = live.cases["main"] = make_case(c, alpha, reference="ALP-2026-0001")
    key = f"tenants/{alpha}/cases/{main['id']}/evidence/invoice.png"
    import hashlib
    with c.db.write() as conn:
        services.record_evidence(conn, alpha, "test", main["id"], kind="invoice", title="Facture F-2025-0412",
                                 filename="F-2025-0412.png", media_type="image/png", size=len(PNG),
                                 sha256=hashlib.sha256(PNG).hexdigest(), archive_key=key,
                                 store=lambda: c.archive.put(key, PNG, "image/png"), document_date=dt.date(2025, 10, 1))
    live.cases["secret"] = make_case(c, beta, reference="BETA-SECRET-1", debtor="Société Confidentielle")
    live.mailings["late"] = make_mailing(c, alpha, main["id"], serial=31, events=(("deposited", _ago(13)),))
    live.mailings["presented"] = make_mailing(c, alpha, live.cases["b2c"]["id"], serial=32,
                                              events=(("deposited", _ago(24)), ("first_presented", _ago(19))))
    live.mailings["fresh"] = make_mailing(c, alpha, main["id"], serial=33, events=(("deposited", _ago(2)),))
    live.mailings["nojs"] = make_mailing(c, alpha, live.cases["b2c"]["id"], serial=34,
                                         events=(("deposited", _ago(1)),))


@pytest.fixture(scope="module")
def live(tmp_path_factory, shared_pipeline, shared_signer):
    from werkzeug.serving import make_server

    from app import create_app
    from bootstrap import build_container
    from settings import Settings
    shutil.rmtree(SHOTS, ignore_errors=True)          # only this run's pages are left to look at
    SHOTS.mkdir(parents=True)
    data = tmp_path_factory.mktemp("e2e")
    settings = Settings.from_env({"RECOUVRE_DATA_DIR": str(data)})
    container = build_container(settings)
    pipeline = GatedPipeline(shared_pipeline)
    container.__dict__["pipeline"] = pipeline
    container.__dict__["signer"] = shared_signer
    container.db.upgrade()
    app = create_app(container=container)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="e2e-http", daemon=True)
    thread.start()
    state = Live(f"http://127.0.0.1:{server.server_port}", container, pipeline)
    state.run_jobs()
    _seed(state)
    yield state
    pipeline.gate.set()
    state.hold_jobs()
    server.shutdown()
    thread.join(10)
    container.__dict__.pop("pipeline")
    container.close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture(autouse=True)
def _jobs_run_after_each_test(live):
    """A test that held the jobs or shut the gate, even one that failed, leaves them running."""
    yield
    live.pipeline.gate.set()
    live.run_jobs()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="fr-FR",
                                  timezone_id="Europe/Paris", accept_downloads=True)
    pg = context.new_page()
    pg.set_default_timeout(15_000)
    yield pg
    context.close()


def _sign_in(page, live: Live, who: str) -> None:
    page.goto(f"{live.url}/app/login")
    page.fill("#email", live.users[who])
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def _shot(page, name: str, **kw) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True, **kw)


def _print(page, name: str) -> None:
    """The page as printed on A4 (print CSS), as a PDF and its first pages as PNG for review."""
    pdf = SHOTS / f"{name}.pdf"
    page.pdf(path=str(pdf), format="A4")
    assert pdf.read_bytes().startswith(b"%PDF-")
    if shutil.which("pdftoppm"):
        subprocess.run(["pdftoppm", "-png", "-r", "70", "-f", "1", "-l", "3", str(pdf), str(SHOTS / name)],
                       check=True, timeout=60)


def test_lawyer_finds_a_case_and_downloads_the_dossier(page, live):
    from playwright.sync_api import expect
    page.goto(f"{live.url}/")
    assert page.url.endswith("/app/login")
    _shot(page, "login")
    page.fill("#email", live.users["lawyer"])
    page.fill("#password", "pas le bon mot de passe")
    page.click("button[type=submit]")
    assert page.inner_text("#erreur-connexion") == "Adresse e-mail ou mot de passe incorrect."
    _shot(page, "login-error")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/app/cases$"))
    assert "Me Claire Lefèvre" in page.inner_text("header")
    _shot(page, "cases")

    page.fill("#q", "ALP-2026-0001")
    page.click("form[role=search] button[type=submit]")
    page.wait_for_url(re.compile(r".*q=ALP-2026-0001.*"))
    links = page.locator("table.cases tbody a")
    assert links.count() == 1
    links.first.click()
    page.wait_for_url(re.compile(r".*/app/cases/[0-9a-f-]{36}$"))
    assert page.inner_text("h1").startswith("Dossier ALP-2026-0001")
    assert "Total restant dû" in page.inner_text("#totaux")
    assert "Chaîne d'empreintes vérifiée" in page.inner_text("#verification")
    _shot(page, "case")
    _print(page, "case-print")

    live.hold_jobs()                                   # the job stays queued until the runner is back
    page.click("#generer-dossier")
    page.wait_for_url(re.compile(r".*/app/documents/[0-9a-f-]{36}$"))
    progress_url = page.url
    assert page.inner_text("#progress-text") == "En file d'attente…"
    assert page.locator("#progression progress").count() == 1
    assert page.get_attribute("#progression", "data-poll") == progress_url.removeprefix(live.url) + "/status"
    _shot(page, "document-queued")

    page.goto(f"{live.url}/app/cases/{live.cases['main']['id']}")      # the case page shows the pending one
    assert page.locator("#generer-dossier").count() == 0
    assert "En file d'attente…" in page.inner_text("#dossier-en-cours")
    _shot(page, "case-dossier-pending")
    page.click("#suivre-dossier")
    page.wait_for_url(progress_url)

    live.pipeline.gate.clear()                        # the job will start, then wait inside the pipeline
    live.pipeline.entered.clear()
    live.run_jobs()
    assert live.pipeline.entered.wait(60), "the dossier job never started"
    expect(page.locator("#progress-text")).to_have_text(re.compile(r"^Génération en cours"),
                                                        timeout=30_000)   # the JSON poll, no reload
    assert page.url == progress_url and page.locator("#document-pret").count() == 0
    _shot(page, "document-progress")
    live.pipeline.gate.set()
    page.wait_for_selector("#document-pret, #progression .error-box", timeout=180_000)   # the JS poll reloads
    assert page.locator("#document-pret").count() == 1, page.inner_text("#progression")
    _shot(page, "document-ready")
    assert "Points à vérifier" in page.inner_text("#points-a-verifier")
    with page.expect_download() as info:
        page.click("#telecharger-zip")
    download = info.value
    assert download.suggested_filename == "ALP-2026-0001-dossier_injonction_de_payer.zip"
    names = zipfile.ZipFile(io.BytesIO(Path(download.path()).read_bytes())).namelist()
    assert any(n.startswith("01-") for n in names) and any(n.startswith("piece-") for n in names)

    page.goto(f"{live.url}/app/cases/{live.cases['main']['id']}")
    assert "Injonction de payer" in page.inner_text("h1")
    assert "Prêt" in page.inner_text("#documents")


def test_clerk_records_a_first_presentation_and_uploads_the_scan(page, live):
    from law import payment_deadline
    from web.formatting import date_fr
    _sign_in(page, live, "clerk")
    assert page.url.endswith("/app/mailings")
    rows = page.locator("table.queue tbody tr")
    assert rows.count() == 4
    assert page.locator("table.queue tbody tr.overdue").count() == 2
    assert tracking_number(32) in rows.nth(0).inner_text()           # oldest first
    _shot(page, "mailings")

    page.click("table.queue tbody tr:nth-child(2) a.button")
    page.wait_for_url(re.compile(r".*/app/mailings/[0-9a-f-]{36}$"))
    assert tracking_number(31) in page.inner_text("h1")
    assert page.input_value("#date") == paris_today().isoformat()     # today, in Paris
    page.click("#saisie button[type=submit]")                        # no event chosen: the form says so
    assert page.inner_text("#type-erreur") == "Choisissez l'événement constaté."
    assert page.get_attribute("#type", "aria-invalid") == "true"
    _shot(page, "mailing-event-error")

    presented = paris_today() - dt.timedelta(days=3)
    page.select_option("#type", "first_presented")
    page.fill("#date", presented.isoformat())
    page.click("#saisie button[type=submit]")
    page.wait_for_selector(".flash-success")
    deadline = payment_deadline(presented, 15, "67000")
    message = page.inner_text(".flash-success")
    assert f"Date d'effet de la lettre : {date_fr(presented)}" in message
    assert f"Fin du délai de paiement : {date_fr(deadline)}" in message
    assert page.inner_text("#echeance") == date_fr(deadline)
    assert page.inner_text("#etat-ar") == "En attente"
    _shot(page, "mailing-event")

    page.set_input_files("#scan", files=[{"name": "avis-reception.png", "mimeType": "image/png", "buffer": PNG}])
    page.click("#avis button[type=submit]")
    page.wait_for_selector("text=Avis de réception numérisé enregistré")
    assert page.inner_text("#etat-ar") == "Reçu"                      # the page says the AR is in
    assert "Avis de réception reçu" in page.inner_text("#avis-recus")
    with page.expect_download() as info:
        page.click("#avis-recus a.scan-link")
    assert info.value.suggested_filename == "avis-reception.png"
    assert Path(info.value.path()).read_bytes() == PNG
    _shot(page, "mailing")

    page.goto(f"{live.url}/app/mailings")
    assert page.locator("table.queue tbody tr").count() == 3          # its AR is in: it left the queue
    assert tracking_number(31) not in page.inner_text("table.queue")
    page.select_option("#age", "15")
    page.click("form.search button[type=submit]")
    assert page.locator("table.queue tbody tr").count() == 1

    page.goto(f"{live.url}/app/mailings/import")
    _shot(page, "import")
    day = (paris_today() - dt.timedelta(days=1)).strftime("%d/%m/%Y")
    page.fill("#csv_text", f"tracking_number;event;date\n{tracking_number(32)};distribué;{day}\n"
                           f"RA123;distribué;{day}\n{tracking_number(33)};???;hier\n")
    page.click("form[enctype] button[type=submit]")
    report = page.inner_text("#rapport").replace("\u00a0", " ")
    assert "1 événement sera importé ; 2 lignes sont rejetées." in report
    rejected = page.locator("table.rejected tbody tr")
    assert rejected.count() == 2 and rejected.nth(1).locator("li").count() == 2   # line 4: two faults
    _shot(page, "import-preview")
    page.goto(f"{live.url}/app/mailings/import")
    page.fill("#csv_text", f"ref;type;jour\n{tracking_number(32)};distribué;{day}\n")
    page.click("form[enctype] button[type=submit]")
    assert page.inner_text("#file-erreur").startswith("En-tête du fichier non reconnu")
    _shot(page, "import-header-error")


def test_a_user_of_one_tenant_cannot_open_another_tenants_case(page, live):
    _sign_in(page, live, "lawyer")
    response = page.goto(f"{live.url}/app/cases/{live.cases['secret']['id']}")
    assert response.status == 404
    assert page.inner_text("h1") == "Page introuvable"
    assert "Confidentielle" not in page.content()
    _shot(page, "not-found")
    page.goto(f"{live.url}/app/cases?q=confidentielle")
    assert "Aucun dossier ne correspond" in page.inner_text("main")
    _shot(page, "search-empty")


def test_a_form_without_its_csrf_token_is_refused(page, live):
    _sign_in(page, live, "clerk")
    page.goto(f"{live.url}/app/mailings/{live.mailings['fresh']['id']}")
    page.eval_on_selector("#saisie form", "f => f.querySelector('input[name=csrf_token]').remove()")
    page.select_option("#type", "delivered")
    with page.expect_navigation() as nav:
        page.click("#saisie button[type=submit]")
    assert nav.value.status == 400
    assert page.inner_text("h1") == "Formulaire refusé"
    assert "jeton de sécurité" in page.inner_text("main")
    _shot(page, "csrf-refused")
    page.goto(f"{live.url}/app/mailings/{live.mailings['fresh']['id']}")
    assert "Déposé" in page.inner_text("h1")                                  # nothing was recorded


def test_pages_work_without_javascript(browser, live):
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1366, "height": 768},
                                  locale="fr-FR", timezone_id="Europe/Paris")
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        _sign_in(page, live, "lawyer")
        page.goto(f"{live.url}/app/cases?q=Lefort")
        assert page.locator("table.cases tbody tr").count() == 1

        page.goto(f"{live.url}/app/cases/{live.cases['b2c']['id']}")       # the case page, server-rendered
        assert page.inner_text("h1").startswith("Dossier ALP-2026-0002")
        assert "Total restant dû" in page.inner_text("#totaux")
        assert "Chaîne d'empreintes vérifiée" in page.inner_text("#verification")
        _shot(page, "nojs-case")

        live.hold_jobs()
        page.select_option("#kind", "decompte")                           # the plain form, no script
        page.click("form.inline-form button[type=submit]")
        page.wait_for_url(re.compile(r".*/app/documents/[0-9a-f-]{36}$"))
        assert page.inner_text("#progress-text") == "En file d'attente…"
        assert '<noscript><meta http-equiv="refresh" content="3"></noscript>' in page.content()
        _shot(page, "nojs-document-progress")
        live.run_jobs()
        page.wait_for_selector("#document-pret, #progression .error-box", timeout=180_000)   # the meta refresh
        assert page.locator("#document-pret").count() == 1, page.inner_text("#progression")
        _shot(page, "nojs-document-ready")

        page.click("header form button")                                      # logout is a plain POST form
        page.wait_for_url(re.compile(r".*/app/login$"))
        assert "Vous êtes déconnecté(e)." in page.inner_text("main")

        _sign_in(page, live, "clerk")                                         # the event form, no script
        page.goto(f"{live.url}/app/mailings/{live.mailings['nojs']['id']}")
        assert page.input_value("#date") == paris_today().isoformat()
        page.select_option("#type", "first_presented")                       # today, no time: now, in Paris
        page.click("#saisie button[type=submit]")
        page.wait_for_selector(".flash-success")
        assert f"Date d'effet de la lettre : {paris_today():%d/%m/%Y}" in page.inner_text(".flash-success")
        assert "Présenté, avisé" in page.inner_text("h1")
        _shot(page, "nojs-mailing-event")
    finally:
        context.close()
