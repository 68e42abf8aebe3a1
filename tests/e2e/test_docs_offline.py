"""The documentation pages work offline: ``/docs`` (Swagger UI) and ``/redoc`` load their
scripts, styles and icon from the app itself, which serves the package's copy of them;
``GET /`` leads to them; the copy is in the package's build."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from hacienda_ledger.api.app import create_app
from hacienda_ledger.api.docs import STATIC
from hacienda_ledger.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "hacienda_ledger"
REFERENCES = re.compile(r"""(?:src|href|spec-url)="([^"]*)"|url: '([^']*)'""")
KINDS = {".js": "text/javascript", ".css": "text/css", ".png": "image/png", ".json": "json"}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The app on a fresh database (``/`` links ``/ready``, which asks it), with nothing
    running beside it: the pages themselves read no database."""
    folder = tmp_path_factory.mktemp("docs")
    settings = Settings(
        database_url=f"sqlite:///{folder}/ledger.sqlite3",
        run_projections=False,
        reports_auto=False,
        run_retention=False,
        verify_every_hours=0,
    )
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.mark.parametrize("page", ["/docs", "/redoc", "/"])
def test_each_page_references_only_what_the_app_serves(client: TestClient, page: str) -> None:
    """No address outside the app (no CDN, no Google fonts, no remote favicon): every
    script, style, icon, link and the OpenAPI document a page names is a path of the app,
    and the app answers it with its content type."""
    answer = client.get(page)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/html")
    assert "://" not in answer.text
    found = [a or b for a, b in REFERENCES.findall(answer.text)]
    assert found
    for address in found:
        assert address.startswith("/"), address
        served = client.get(address)
        assert served.status_code == 200, address
        kind = KINDS.get(Path(address).suffix, "")
        assert kind in served.headers["content-type"], (address, served.headers["content-type"])


def test_the_pages_load_the_vendored_swagger_ui_and_redoc(client: TestClient) -> None:
    """``/docs`` runs Swagger UI on ``/openapi.json`` and ``/redoc`` runs ReDoc on it, from
    the copies under ``api/static/`` (served byte for byte); ``/`` links both."""
    swagger, redoc, home = (client.get(p).text for p in ("/docs", "/redoc", "/"))
    assert "SwaggerUIBundle({" in swagger and "url: '/openapi.json'" in swagger
    assert '<redoc spec-url="/openapi.json">' in redoc
    assert 'href="/docs"' in home and 'href="/redoc"' in home
    for asset in ("swagger-ui/swagger-ui-bundle.js", "redoc/redoc.standalone.js"):
        assert client.get(f"/static/{asset}").content == (STATIC / asset).read_bytes()
    assert client.get("/static/nope.js").status_code == 404


def test_the_pages_are_not_operations_of_the_api(client: TestClient) -> None:
    """The pages and their assets are not in the OpenAPI document."""
    paths = client.get("/openapi.json").json()["paths"]
    assert not {"/", "/docs", "/redoc"} & paths.keys()
    assert not any(p.startswith("/static") for p in paths)


def test_the_build_packages_the_assets_and_their_licences() -> None:
    """Every file of ``api/static/`` (assets, licences, the README with their versions)
    matches a ``package-data`` pattern of ``pyproject.toml``, expanded as setuptools does
    (a glob from the package's folder): an installed package serves the same pages."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["hacienda_ledger"]
    packaged = {p for pattern in patterns for p in PACKAGE.glob(pattern)}
    files = {p for p in STATIC.rglob("*") if p.is_file()}
    assert {p.name for p in files} >= {"LICENSE", "README.md", "swagger-ui.css"}
    assert files <= packaged, sorted(str(p.relative_to(PACKAGE)) for p in files - packaged)
