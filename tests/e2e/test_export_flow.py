"""A pharmacist downloads the inspector's export from the navigation."""

import io
import zipfile

import pytest

from tests.batch_helpers import make_order, seed
from tests.e2e.test_navigation import sign_in

pytestmark = pytest.mark.e2e


def test_download_the_inspector_export(page, live_server, app, pharmacy):
    seed(app)
    make_order(app)
    sign_in(page, live_server, "pharmacist")
    page.click("nav.mainnav >> text=Inspector export")
    with page.expect_download() as info:
        page.click("button:has-text('Download export')")
    path = info.value.path()
    with zipfile.ZipFile(io.BytesIO(open(path, "rb").read())) as zf:
        assert "prescriptions.csv" in zf.namelist()
        assert b"rx_number" in zf.read("prescriptions.csv")
